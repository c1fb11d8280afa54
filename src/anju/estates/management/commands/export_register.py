"""``anju export_register COMMUNITY_CODE OUT.xlsx``: the register in the import format.

``OUT.csv`` with ``--kind buildings|homes|people`` writes one CSV file instead. The file holds clear
mobile and ID numbers, so the export is recorded in the audit log like one from the console."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from anju.core.errors import DomainError
from anju.estates.models import Community
from anju.estates.spreadsheets import export_register


class Command(BaseCommand):
    help = "Export a community's register as an .xlsx workbook (or one .csv file with --kind)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("community_code")
        parser.add_argument("out", type=Path)
        parser.add_argument("--kind", choices=["buildings", "homes", "people"], default="")

    def handle(self, *args: Any, **options: Any) -> None:
        community = Community.objects.filter(code=options["community_code"]).first()
        if community is None:
            raise CommandError(f"no community with code {options['community_code']!r}")
        out: Path = options["out"]
        fmt = "csv" if out.suffix.lower() == ".csv" else "xlsx"
        if fmt == "csv" and not options["kind"]:
            raise CommandError("a CSV export holds one kind: add --kind buildings, homes or people")
        try:
            exported = export_register(community, fmt=fmt, kind=options["kind"], actor=None)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        out.write_bytes(exported.content)
        self.stdout.write(self.style.SUCCESS(f"wrote {out} ({len(exported.content)} bytes)"))
