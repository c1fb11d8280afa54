"""``anju seed_demo --size small|medium|large``: the demo data, once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from anju.core.demo import format_logins, seed_demo
from anju.core.demo.plan import SIZES


class Command(BaseCommand):
    help = "Seed the demo (deterministic; does nothing when the demo is already present)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", choices=list(SIZES), default="medium")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--bulk", dest="bulk", action="store_true", default=None, help="bulk inserts (default for large)"
        )
        mode.add_argument(
            "--services", dest="bulk", action="store_false", help="row by row through the services (default otherwise)"
        )

    def handle(self, *args: Any, size: str, bulk: bool | None, **options: Any) -> None:
        report = seed_demo(size, bulk=bulk, out=self.stdout.write)
        if report.created:
            self.stdout.write(
                self.style.SUCCESS(
                    _("Seeded the %(size)s demo in %(seconds).1f s (%(writer)s).")
                    % {"size": size, "seconds": report.seconds, "writer": report.writer}
                )
            )
        else:
            self.stdout.write(
                _("The %(size)s demo is already present; nothing to do.") % {"size": report.size or _("existing")}
            )
            if report.size and report.size != size:
                self.stdout.write(_("To seed another size, start from an empty database."))
        self.stdout.write(format_logins())
