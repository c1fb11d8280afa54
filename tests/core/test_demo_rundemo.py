"""``anju rundemo``'s background hook: provided commands run in a loop in child processes, the rest
are skipped, and stopping ends the children."""

from __future__ import annotations

import time

from anju.core.management.commands.rundemo import BackgroundJob, BackgroundRunner


def test_only_commands_that_exist_are_scheduled():
    runner = BackgroundRunner((BackgroundJob("no-such-command", 1.0), BackgroundJob("check", 1.0)), print)
    assert [job.command for job in runner.jobs] == ["check"]


def test_jobs_start_in_child_processes_and_stop_cleanly():
    log: list[str] = []
    runner = BackgroundRunner((BackgroundJob("check", 0.05),), log.append)
    started: list[int] = []
    original = runner._loop

    def counting_loop(job: BackgroundJob) -> None:
        started.append(1)
        original(job)

    runner._loop = counting_loop  # type: ignore[method-assign]
    runner.start()
    deadline = time.monotonic() + 60
    while not runner.children and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runner.children, "the background command was never started"
    runner.stop()
    for thread in runner.threads:
        thread.join(timeout=15)
    assert started == [1]
    assert not any(thread.is_alive() for thread in runner.threads)
    assert not runner.children or all(child.poll() is not None for child in runner.children)
