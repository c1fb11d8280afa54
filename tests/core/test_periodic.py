"""Periodic jobs and background functions: due-ness, one winner per slot, and both ways of running
them — inline (``anju runperiodic``, after-commit calls) and through a real Celery worker on Redis."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from anju.core import periodic
from anju.core.models import PeriodicJob

calls: list[str] = []


@pytest.fixture
def job():
    name = "test.counting"
    calls.clear()

    def count() -> int:
        calls.append(name)
        return len(calls)

    periodic.periodic(name, every=dt.timedelta(minutes=5))(count)
    yield name
    periodic.JOBS.pop(name, None)


@periodic.background
def remember(word: str) -> None:
    calls.append(word)


@pytest.mark.django_db
def test_a_job_runs_when_due_and_not_again_within_its_interval(job):
    assert periodic.run_job(job) == 1
    assert periodic.run_job(job) is None  # next slot is five minutes away
    row = PeriodicJob.objects.get(name=job)
    assert row.last_handled == 1 and row.last_error == ""
    assert row.next_due_at > timezone.now() + dt.timedelta(minutes=4)
    PeriodicJob.objects.filter(name=job).update(next_due_at=timezone.now() - dt.timedelta(seconds=1))
    assert periodic.run_job(job) == 2
    assert periodic.run_job(job, force=True) == 3


@pytest.mark.django_db
def test_a_failing_job_is_recorded_and_does_not_stop_the_others(job):
    def broken() -> int:
        raise RuntimeError("boom")

    periodic.periodic("test.broken", every=dt.timedelta(minutes=1))(broken)
    try:
        results = periodic.run_due_jobs(only=["test.broken", job])
    finally:
        periodic.JOBS.pop("test.broken")
    assert results == {job: 1}
    assert "boom" in PeriodicJob.objects.get(name="test.broken").last_error


@pytest.mark.django_db
def test_runperiodic_runs_due_jobs_once_and_refuses_unknown_names(job, capsys):
    call_command("runperiodic", "--once", "--only", job)
    assert calls == [job]
    assert f"{job}: 1" in capsys.readouterr().out
    with pytest.raises(CommandError) as refused:
        call_command("runperiodic", "--once", "--only", "no.such.job")
    assert refused.value.returncode == 2


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_waking_together_run_a_slot_once(job):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent compare-and-set is exercised on PostgreSQL (CI's second pass)")
    periodic.run_job(job, force=True)  # create the row
    PeriodicJob.objects.filter(name=job).update(next_due_at=timezone.now() - dt.timedelta(seconds=1))
    calls.clear()
    barrier = threading.Barrier(8)

    def wake() -> None:
        barrier.wait()
        try:
            periodic.run_job(job)
        finally:
            connection.close()

    threads = [threading.Thread(target=wake) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [job]


@pytest.mark.django_db(transaction=True)
def test_after_commit_runs_inline_only_once_the_transaction_commits(settings):
    settings.ANJU_USE_CELERY = False
    calls.clear()
    with transaction.atomic():
        periodic.after_commit(remember, "kept")
        assert calls == []
    assert calls == ["kept"]
    with pytest.raises(RuntimeError), transaction.atomic():
        periodic.after_commit(remember, "rolled back")
        raise RuntimeError
    assert calls == ["kept"]


def test_after_commit_refuses_an_unregistered_function():
    with pytest.raises(ValueError):
        periodic.after_commit(print, "x")


def _wait_for(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_with_celery_the_same_job_and_background_function_run_on_a_worker(job, celery_worker):
    calls.clear()
    celery_worker.send_task("anju.periodic", args=[job, True])
    assert _wait_for(lambda: job in calls), "the worker did not run the periodic job"
    assert PeriodicJob.objects.get(name=job).last_handled == 1
    with transaction.atomic():
        periodic.after_commit(remember, "from celery")
    assert _wait_for(lambda: "from celery" in calls), "the worker did not run the background function"
