"""``anju runperiodic``: run the periodic jobs that are due (see :mod:`anju.core.periodic`).

``--once`` makes one pass and exits (for cron, and for the demo's loop); without it the command
keeps passing every ``--interval`` seconds until interrupted. Several copies may run at once: each
job's slot is claimed in the database.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from anju.core.periodic import JOBS, run_due_jobs


class Command(BaseCommand):
    help = "Run the periodic jobs that are due (sweeps, reminders, purges)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--only", action="append", metavar="NAME", help="run only this job (repeatable)")
        parser.add_argument("--force", action="store_true", help="run even if not due")
        parser.add_argument("--interval", type=float, default=30.0, help="seconds between passes")
        parser.add_argument("--list", action="store_true", help="list the registered jobs and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        once: bool = options["once"]
        only: list[str] | None = options["only"]
        force: bool = options["force"]
        interval: float = options["interval"]
        if options["list"]:
            for job in sorted(JOBS.values(), key=lambda j: j.name):
                self.stdout.write(f"{job.name}\t{job.every}")
            return
        unknown = sorted(set(only or ()) - set(JOBS))
        if unknown:
            raise CommandError(_("Unknown periodic job: %(names)s") % {"names": ", ".join(unknown)}, returncode=2)
        while True:
            for name, handled in run_due_jobs(only=only, force=force).items():
                self.stdout.write(f"{name}: {handled if handled is not None else '-'}")
            if once:
                return
            time.sleep(interval)
