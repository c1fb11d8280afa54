"""Spreadsheet import and export of the community register: the services pages and commands call.

* :func:`preview_file` reads and checks a file against a community's register and writes nothing.
* :func:`import_register` does the same and, when the file is clean, applies it in one transaction
  through the estates and residents services (one audit row per change). A file with any problem
  changes nothing. Importing the same file twice changes nothing the second time.
* :func:`upload_import_batch` / :func:`commit_import_batch` keep the file in an
  :class:`~anju.estates.models.ImportBatch` so a preview and its commit can be two requests.
* :func:`export_register` writes the register in the same format, with clear personal data; it
  records one ``personal_data.export`` audit row per export.

The format itself is described in :mod:`.formats`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.errors import Conflict, DomainError
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Community, ImportBatch
from anju.estates.spreadsheets.applying import ImportRefused, apply_plan
from anju.estates.spreadsheets.exporting import register_tables
from anju.estates.spreadsheets.formats import BUILDINGS, HOMES, KINDS, PEOPLE, Problem, UnreadableFile, read_file
from anju.estates.spreadsheets.formats import write_csv as _write_csv
from anju.estates.spreadsheets.formats import write_workbook as _write_workbook
from anju.estates.spreadsheets.planning import Plan, plan_import

__all__ = [
    "BUILDINGS",
    "HOMES",
    "PEOPLE",
    "ImportRefused",
    "Preview",
    "commit_import_batch",
    "export_register",
    "import_register",
    "preview_file",
    "upload_import_batch",
]


@dataclass
class Preview:
    """What a file would do: its problems (row by row) or the counts of what it creates/updates."""

    kind: str
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    plan: Plan | None = None
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problems_json(self) -> list[dict[str, object]]:
        return [p.as_dict() for p in self.problems]


def preview_file(community: Community, name: str, content: bytes) -> Preview:
    """Read and check ``content`` against ``community``'s register. Writes nothing."""
    try:
        read = read_file(name, content)
    except UnreadableFile as exc:
        return Preview(
            kind="workbook" if name.lower().endswith(".xlsx") else HOMES, problems=[Problem(name, 0, "", str(exc))]
        )
    titles = {kind: sheet.title for kind, sheet in read.sheets.items()}
    plan = plan_import(community, read.sheets)
    problems = read.problems + plan.problems
    rows = {f"{kind}_rows": len(sheet.rows) for kind, sheet in read.sheets.items()}
    return Preview(kind=read.kind, problems=problems, counts={**rows, **plan.counts()}, plan=plan, titles=titles)


def import_register(community: Community, name: str, content: bytes, *, actor: User | None) -> Preview:
    """Check the file, then apply it all or nothing. Raises :class:`ImportRefused` with the problems
    when there are any (the register is then untouched)."""
    with transaction.atomic():
        preview = preview_file(community, name, content)
        if not preview.ok or preview.plan is None:
            raise ImportRefused(preview.problems)
        apply_plan(preview.plan, community, preview.titles, actor=actor)
        audit.record(
            actor=actor,
            action="register.import",
            object_type="estates.community",
            object_id=str(community.pk),
            object_label=str(community),
            community_id=community.pk,
            after={"file": name[:200], "counts": preview.counts},
        )
    return preview


@transaction.atomic
def upload_import_batch(*, community: Community, original_name: str, content: bytes, actor: User | None) -> ImportBatch:
    """Keep an uploaded file with its preview, so the clerk can read the report and then commit."""
    preview = preview_file(community, original_name, content)
    batch = ImportBatch.objects.create(
        community=community,
        uploaded_by=actor,
        original_name=original_name[:255],
        kind=preview.kind,
        content=content,
        errors=preview.problems_json(),
        counts=preview.counts,
    )
    audit.record(
        actor=actor,
        action="import_batch.upload",
        obj=batch,
        community_id=community.pk,
        after={
            "file": batch.original_name,
            "kind": batch.kind,
            "problems": len(preview.problems),
            "counts": preview.counts,
        },
    )
    return batch


def commit_import_batch(batch: ImportBatch, *, actor: User | None) -> ImportBatch:
    """Import a previewed batch. The file is checked again first (the register may have changed
    since the preview); if it now has problems the batch is marked refused and nothing else changes."""
    community = Community.objects.get(pk=batch.community_id)
    with community_scope(community.pk):
        try:
            with transaction.atomic():
                locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
                if locked.status != ImportBatch.Status.PREVIEW:
                    raise Conflict(_("This file has already been imported or refused; upload it again."))
                if locked.errors:
                    raise DomainError(_("Fix the problems in the file and upload it again."))
                preview = import_register(community, locked.original_name, bytes(locked.content), actor=actor)
                locked.status = ImportBatch.Status.COMMITTED
                locked.counts = preview.counts
                locked.committed_at = timezone.now()
                locked.save(update_fields=["status", "counts", "committed_at"])
                audit.record(actor=actor, action="import_batch.commit", obj=locked, after={"counts": preview.counts})
                return locked
        except ImportRefused as refused:
            with transaction.atomic():
                locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
                locked.status = ImportBatch.Status.FAILED
                locked.errors = [p.as_dict() for p in refused.problems]
                locked.save(update_fields=["status", "errors"])
                audit.record(
                    actor=actor, action="import_batch.refuse", obj=locked, after={"problems": len(refused.problems)}
                )
            return locked


@dataclass
class ExportFile:
    filename: str
    content_type: str
    content: bytes


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@transaction.atomic
def export_register(community: Community, *, fmt: str = "xlsx", kind: str = "", actor: User | None) -> ExportFile:
    """The register as a workbook (all sheets) or as one CSV file (``kind``). Writing people puts
    clear phone and ID numbers in the file, so every export leaves one audit row with its counts;
    the caller has checked ``Perm.IMPORT_EXPORT``."""
    if fmt == "xlsx":
        kinds: tuple[str, ...] = KINDS
    elif fmt == "csv" and kind in KINDS:
        kinds = (kind,)
    else:
        raise DomainError(_("Choose an Excel workbook, or a CSV file of buildings, homes or people."), field="format")
    tables = register_tables(community.pk, kinds)
    stamp = timezone.localtime().strftime("%Y%m%d")
    if fmt == "xlsx":
        result = ExportFile(f"{community.code}-register-{stamp}.xlsx", XLSX_TYPE, _write_workbook(tables))
    else:
        result = ExportFile(
            f"{community.code}-{kind}-{stamp}.csv", "text/csv; charset=utf-8", _write_csv(kind, tables[kind])
        )
    audit.record(
        actor=actor,
        action="personal_data.export" if PEOPLE in kinds else "register.export",
        object_type="estates.community",
        object_id=str(community.pk),
        object_label=str(community),
        community_id=community.pk,
        after={"format": fmt, "file": result.filename, "rows": {k: len(v) for k, v in tables.items()}},
    )
    return result
