"""The Celery application: the distributed path for background and periodic work.

Start workers with ``celery -A anju worker`` and the scheduler with ``celery -A anju beat`` (or one
process with ``-B``). Without a broker none of this runs: ``anju runperiodic`` and inline
after-commit calls do the same work (:mod:`anju.core.periodic`). Every periodic job registered with
``@periodic`` becomes a beat entry running the task ``anju.periodic`` with the job's name; the task
still claims the job's slot in the database, so beat and a stray ``runperiodic`` never double-run.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anju.settings")

app = Celery("anju")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.task(name="anju.periodic")
def run_periodic_job(name: str, force: bool = False) -> int | None:
    from anju.core.periodic import run_job

    return run_job(name, force=force)


@app.task(name="anju.background", acks_late=True)
def run_background_function(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    from anju.core.periodic import run_background

    return run_background(name, args, kwargs)


@app.on_after_finalize.connect
def _schedule_periodic_jobs(sender: Celery, **_: Any) -> None:
    import django

    django.setup()
    from anju.core.periodic import JOBS

    for job in JOBS.values():
        sender.add_periodic_task(job.every.total_seconds(), run_periodic_job.s(job.name), name=job.name)
