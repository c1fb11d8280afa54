"""Periodic jobs and background functions, with or without Celery.

An app registers a periodic job by decorating a zero-argument function in its ``tasks.py``::

    @periodic("workorders.sla_sweep", every=timedelta(minutes=1))
    def sweep_overdue_orders() -> int: ...

Three ways run the same functions:

* ``anju runperiodic`` (cron, or ``make run``'s loop) runs every job that is due;
* with Celery configured (``settings.ANJU_USE_CELERY``), celery beat schedules one task per job
  (``anju/celery.py``) and the workers run them;
* tests and operators call the function directly, or ``run_job(name, force=True)``.

Which process runs a due job is decided in the database: each job has a :class:`PeriodicJob` row
whose ``next_due_at`` is advanced with a compare-and-set UPDATE before the job runs, so when two
``runperiodic`` processes (or a cron and a beat) wake at once, exactly one of them runs that slot.
That only prevents duplicate *scheduling*; the job itself must still be safe when it overlaps with
another run (a slow run and the next slot, or a manual run): it claims each row it acts on with a
conditional UPDATE and acts only when the UPDATE changed one row.

Background functions (work to do after a request, outside its transaction) are registered with
:func:`background` and queued with :func:`after_commit`: inline once the transaction commits when
there is no Celery, as a Celery task otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Job:
    name: str
    every: dt.timedelta
    function: Callable[[], int | None]


JOBS: dict[str, Job] = {}
BACKGROUND: dict[str, Callable[..., Any]] = {}


def periodic(name: str, *, every: dt.timedelta) -> Callable[[Callable[[], R]], Callable[[], R]]:
    """Register ``function`` as the periodic job ``name`` (``"<app>.<what>"``), run every ``every``."""

    def register(function: Callable[[], R]) -> Callable[[], R]:
        if name in JOBS and JOBS[name].function is not function:
            raise ValueError(f"periodic job {name!r} registered twice")
        JOBS[name] = Job(name, every, function)  # type: ignore[arg-type]
        return function

    return register


def background(function: Callable[P, R]) -> Callable[P, R]:
    """Register a module-level function that :func:`after_commit` may queue (arguments must be
    JSON-serialisable: ids, not model instances)."""
    BACKGROUND[f"{function.__module__}.{function.__qualname__}"] = function
    return function


def after_commit(function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run a :func:`background` function once the current transaction commits: inline without
    Celery, as the ``anju.background`` Celery task with it."""
    name = f"{function.__module__}.{function.__qualname__}"
    if BACKGROUND.get(name) is not function:
        raise ValueError(f"{name} is not registered with @background")
    if getattr(settings, "ANJU_USE_CELERY", False):
        from anju.celery import app

        transaction.on_commit(lambda: app.send_task("anju.background", args=[name, list(args), kwargs]))
    else:
        transaction.on_commit(lambda: function(*args, **kwargs))


def run_background(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return BACKGROUND[name](*args, **kwargs)


def _claim_slot(job: Job, now: dt.datetime, *, force: bool) -> bool:
    """Advance the job's ``next_due_at`` if it is due (or ``force``): True for the one caller whose
    compare-and-set UPDATE won the slot."""
    from anju.core.models import PeriodicJob

    row, _ = PeriodicJob.objects.get_or_create(name=job.name, defaults={"next_due_at": now})
    if not force and row.next_due_at > now:
        return False
    claimed = PeriodicJob.objects.filter(pk=row.pk, next_due_at=row.next_due_at).update(
        next_due_at=now + job.every, last_started_at=now
    )
    return claimed == 1


def _record_result(job: Job, *, handled: int | None, error: str, seconds: float) -> None:
    from anju.core.models import PeriodicJob

    PeriodicJob.objects.filter(name=job.name).update(
        last_finished_at=timezone.now(), last_handled=handled, last_error=error[:2000], last_seconds=seconds
    )


def run_job(name: str, *, force: bool = False) -> int | None:
    """Run job ``name`` if it is due (or ``force``) and this caller wins its slot. Returns what the
    job returned, or None when it did not run. An exception is logged and recorded, not raised, so
    one failing job does not stop the others."""
    job = JOBS[name]
    if not _claim_slot(job, timezone.now(), force=force):
        return None
    started = time.monotonic()
    try:
        handled = job.function()
    except Exception as error:  # the sweep loop must survive one job's bug; the row records it
        logger.exception("periodic job %s failed", name)
        _record_result(job, handled=None, error=repr(error), seconds=time.monotonic() - started)
        return None
    _record_result(job, handled=handled, error="", seconds=time.monotonic() - started)
    return handled


def run_due_jobs(*, only: list[str] | None = None, force: bool = False) -> dict[str, int | None]:
    """One pass over the registered jobs (in name order); returns job name → result for those run."""
    results: dict[str, int | None] = {}
    for name in sorted(JOBS):
        if only and name not in only:
            continue
        result = run_job(name, force=force)
        if result is not None or force:
            results[name] = result
    return results
