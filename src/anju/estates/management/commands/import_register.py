"""``anju import_register COMMUNITY_CODE FILE [--commit]``: preview (and optionally import) a register
spreadsheet from the command line, with the same checks and the same all-or-nothing commit as the
console. Exits 2 when the file has problems, so scripts can tell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from anju.core.tenancy import community_scope
from anju.estates.models import Community, ImportBatch
from anju.estates.spreadsheets import commit_import_batch, upload_import_batch


class Command(BaseCommand):
    help = "Preview a register spreadsheet (.xlsx or .csv) for a community; with --commit, import it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("community_code")
        parser.add_argument("file", type=Path)
        parser.add_argument("--commit", action="store_true", help="import the file when it has no problems")

    def handle(self, *args: Any, **options: Any) -> None:
        community = Community.objects.filter(code=options["community_code"]).first()
        if community is None:
            raise CommandError(f"no community with code {options['community_code']!r}")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        with community_scope(community.pk):
            batch = upload_import_batch(
                community=community, original_name=path.name, content=path.read_bytes(), actor=None
            )
            if not batch.errors and options["commit"]:
                batch = commit_import_batch(batch, actor=None)
        for error in batch.errors:
            where = " · ".join(
                str(p) for p in (error["sheet"], f"row {error['row']}" if error["row"] else "", error["column"]) if p
            )
            self.stderr.write(f"{where}: {error['message']}")
        for key, value in batch.counts.items():
            self.stdout.write(f"{key}: {value}")
        if batch.errors:
            self.stderr.write(f"{len(batch.errors)} problem(s); nothing was imported.")
            raise SystemExit(2)
        if batch.status == ImportBatch.Status.COMMITTED:
            self.stdout.write(self.style.SUCCESS(f"imported {path.name} into {community.code} (batch {batch.pk})"))
        else:
            self.stdout.write("no problems; run again with --commit to import")
