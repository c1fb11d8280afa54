"""Console pages for importing and exporting the register as spreadsheets.

Upload → the batch page shows what the file would do, or every problem row by row → Commit. The
file is kept in an :class:`~anju.estates.models.ImportBatch` between those requests. Export offers
the same format for download. All pages need ``Perm.IMPORT_EXPORT``: exports carry clear personal
data, and imports write the whole register.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from anju.core.errors import DomainError
from anju.core.permissions import Perm
from anju.estates.models import Building, ImportBatch
from anju.estates.spreadsheets import commit_import_batch, export_register, upload_import_batch
from anju.estates.spreadsheets.formats import UnreadableFile, read_file
from anju.web.console import current_community, render_console
from anju.web.decorators import community_view

ALLOWED_SUFFIXES = (".xlsx", ".csv")
RECENT_BATCHES = 20

COUNT_LABELS = [
    ("buildings_created", gettext_lazy("Buildings to create")),
    ("buildings_updated", gettext_lazy("Buildings to update")),
    ("units_created", gettext_lazy("Units to create")),
    ("homes_created", gettext_lazy("Homes to create")),
    ("homes_updated", gettext_lazy("Homes to update")),
    ("homes_unchanged", gettext_lazy("Homes already up to date")),
    ("people_created", gettext_lazy("People to create")),
    ("people_updated", gettext_lazy("People to update")),
    ("occupancies_added", gettext_lazy("Residence records to add")),
    ("occupancies_ended", gettext_lazy("Residence records to end")),
    ("occupancies_unchanged", gettext_lazy("Residence records already up to date")),
]


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Spreadsheet file"),
        help_text=gettext_lazy("An Excel workbook (.xlsx) or a CSV file (.csv)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(ALLOWED_SUFFIXES):
            raise forms.ValidationError(
                _(
                    "Only Excel workbooks (.xlsx) and CSV files (.csv) can be imported. "
                    "Older .xls files: open them in Excel and save as .xlsx."
                )
            )
        limit = settings.ANJU_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _(
                    "The file is %(size)s; the most that can be imported at once is %(limit)s. "
                    "Split it into smaller files."
                )
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)}
            )
        return upload


@community_view(Perm.IMPORT_EXPORT)
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest, community_id: int) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        batch = upload_import_batch(
            community=current_community(request),
            original_name=upload.name,
            content=upload.read(),
            actor=request.user,  # type: ignore[arg-type]
        )
        return redirect("console:import_batch", community_id=community_id, batch_id=batch.pk)
    batches = ImportBatch.objects.defer("content").select_related("uploaded_by")[:RECENT_BATCHES]
    return render_console(
        request,
        "estates/import.html",
        community_id,
        form=form,
        batches=batches,
        max_bytes=settings.ANJU_IMPORT_MAX_BYTES,
    )


@community_view(Perm.IMPORT_EXPORT)
@require_http_methods(["GET", "POST"])
def import_batch(request: HttpRequest, community_id: int, batch_id: int) -> HttpResponse:
    batches = ImportBatch.objects.defer("content").select_related("uploaded_by")
    batch: ImportBatch = get_object_or_404(batches, pk=batch_id)
    if request.method == "POST" and "commit" in request.POST:
        try:
            batch = commit_import_batch(batch, actor=request.user)  # type: ignore[arg-type]
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            if batch.status == ImportBatch.Status.COMMITTED:
                messages.success(request, _("The file was imported."))
            else:
                messages.error(request, _("The file was not imported: the register has changed since the preview."))
        return redirect("console:import_batch", community_id=community_id, batch_id=batch.pk)
    counts = batch.counts or {}
    rows = [(label, counts[key]) for key, label in COUNT_LABELS if counts.get(key)]
    imported_buildings = _buildings_in_file(batch) if batch.status == ImportBatch.Status.COMMITTED else []
    return render_console(
        request,
        "estates/import_batch.html",
        community_id,
        batch=batch,
        count_rows=rows,
        can_commit=batch.status == ImportBatch.Status.PREVIEW and not batch.errors and bool(counts),
        imported_buildings=imported_buildings,
    )


def _buildings_in_file(batch: ImportBatch, limit: int = 30) -> list[Building]:
    """The buildings a committed file named, so the page can link straight to their property maps."""
    try:
        result = read_file(batch.original_name, bytes(batch.content))
    except UnreadableFile:
        return []
    numbers = {row.text("building") for sheet in result.sheets.values() for row in sheet.rows}
    return list(Building.objects.filter(number__in=numbers).order_by("sort_key", "number")[:limit])


EXPORT_CHOICES = [
    ("xlsx", "", gettext_lazy("Whole register (Excel workbook)")),
    ("csv", "buildings", gettext_lazy("Buildings (CSV)")),
    ("csv", "homes", gettext_lazy("Homes (CSV)")),
    ("csv", "people", gettext_lazy("People and their residence history (CSV)")),
]


@community_view(Perm.IMPORT_EXPORT)
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest, community_id: int) -> HttpResponse:
    """Downloads are POSTs: each one writes an audit row, and a GET must not write."""
    if request.method == "POST" and request.POST.get("format"):
        try:
            exported = export_register(
                current_community(request),
                fmt=request.POST["format"],
                kind=request.POST.get("kind", ""),
                actor=request.user,  # type: ignore[arg-type]
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
            return redirect("console:export", community_id=community_id)
        response = HttpResponse(exported.content, content_type=exported.content_type)
        response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
        return response
    return render_console(request, "estates/export.html", community_id, choices=EXPORT_CHOICES)
