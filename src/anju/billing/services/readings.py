"""Meters and readings: phone entry, spreadsheet import, smart meters, and the review queue.

Every reading is checked against the meter's history before it can be billed:

* **lower than the last** accepted reading → held (``lower_than_last``): a typo, a meter swapped or
  rolled over; someone decides;
* **an implausible jump** — more than ``BillingSettings.reading_jump_factor`` times the meter's
  average daily use over its recent accepted readings, scaled to the days since the last one →
  held (``implausible_jump``); a meter with too little history is not judged.

Held readings stay in the queue and out of bill runs until accepted (as read, or as the new
baseline of a replaced meter) or rejected.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.billing.models import Meter, Reading
from anju.core import audit
from anju.core.errors import Conflict, DomainError, NotFound
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Building, Home

HISTORY_READINGS = 6
MAX_READING = Decimal("9999999999.99")
IMPORT_MAX_ROWS = 50_000


def parse_value(value: Any) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(_("A reading is a number with at most two decimals."), field="value") from None
    if not number.is_finite() or number < 0 or number > MAX_READING or number != number.quantize(Decimal("0.01")):
        raise DomainError(_("A reading is a number with at most two decimals."), field="value")
    return number.quantize(Decimal("0.01"))


@transaction.atomic
def create_meter(
    *,
    community_id: int,
    kind: str,
    code: str,
    home: Home | None = None,
    building: Building | None = None,
    installed_on: dt.date | None = None,
    actor: User | None,
) -> Meter:
    if kind not in Meter.Kind.values:
        raise DomainError(_("Unknown meter kind."), field="kind")
    code = code.strip()
    if not code or len(code) > 60:
        raise DomainError(_("Give the meter number (at most 60 characters)."), field="code")
    with community_scope(community_id):
        if Meter.objects.filter(code=code).exists():
            raise Conflict(_("A meter with this number already exists."), field="code")
        meter = Meter.objects.create(
            community_id=community_id,
            kind=kind,
            code=code,
            home=home,
            building=None if home is not None else building,
            installed_on=installed_on or timezone.localdate(),
        )
        audit.record(actor=actor, action="meter.create", obj=meter, after=audit.snapshot(meter))
    return meter


def classify(meter: Meter, read_on: dt.date, value: Decimal, jump_factor: int) -> str:
    """``""`` when the reading may be billed, else why it is held. Inside the community's scope."""
    history = list(
        Reading.objects.filter(
            meter=meter, status__in=[Reading.Status.OK, Reading.Status.BASELINE], read_on__lt=read_on
        ).order_by("-read_on", "-id")[:HISTORY_READINGS]
    )
    if not history:
        return ""
    last = history[0]
    if value < last.value:
        return "lower_than_last"
    oldest = history[-1]
    span_days = (last.read_on - oldest.read_on).days
    if len(history) >= 2 and span_days > 0 and last.value > oldest.value:
        # Compare in integers: used × span × 100 > factor × (history use) × days × 100.
        used = value - last.value
        days = max(1, (read_on - last.read_on).days)
        if used * span_days > jump_factor * (last.value - oldest.value) * days:
            return "implausible_jump"
    return ""


def _record(
    meter: Meter, read_on: dt.date, value: Decimal, source: str, actor: User | None, jump_factor: int
) -> Reading:
    if read_on > timezone.localdate():
        raise DomainError(_("A reading cannot be dated in the future."), field="read_on")
    same_day = Reading.objects.filter(
        meter=meter, read_on=read_on, status__in=[Reading.Status.OK, Reading.Status.BASELINE]
    ).first()
    if same_day is not None:
        if same_day.value == value:
            return same_day  # the same reading sent again
        if source != Reading.Source.DEVICE:
            raise Conflict(_("This meter already has a reading for that day."), field="read_on")
        # A smart meter reports through the day: its latest value replaces the earlier one.
        Reading.objects.filter(pk=same_day.pk).update(status=Reading.Status.REJECTED, flag="superseded")
    flag = classify(meter, read_on, value, jump_factor)
    reading = Reading.objects.create(
        community_id=meter.community_id,
        meter=meter,
        read_on=read_on,
        value=value,
        source=source,
        status=Reading.Status.HELD if flag else Reading.Status.OK,
        flag=flag,
        entered_by=actor,
    )
    return reading


def _jump_factor(community_id: int) -> int:
    from anju.billing.billruns import settings_for

    return settings_for(community_id).reading_jump_factor


@transaction.atomic
def record_reading(
    *, community_id: int, meter_id: int, read_on: dt.date, value: Any, actor: User | None, source: str = "manual"
) -> Reading:
    """Enter one reading (a phone in the plant room, a clerk at a desk)."""
    number = parse_value(value)
    with community_scope(community_id):
        meter = Meter.objects.filter(pk=meter_id).first()
        if meter is None:
            raise NotFound(field="meter_id")
        reading = _record(meter, read_on, number, source, actor, _jump_factor(community_id))
        audit.record(actor=actor, action="reading.record", obj=reading, after=audit.snapshot(reading))
    return reading


@transaction.atomic
def record_device_reading(
    *, community_id: int, device_ref: str, value: Any, read_at: dt.datetime, actor: User | None = None
) -> Reading:
    """A smart meter's reading, fed by the device ingest. ``device_ref`` is the meter number (the
    device code in MQTT topics). The same value sent twice is stored once; a later value on the same
    day replaces the earlier one; it is checked like any other reading."""
    number = parse_value(value)
    read_on = timezone.localtime(read_at).date()
    with community_scope(community_id):
        meter = Meter.objects.filter(code=device_ref).first()
        if meter is None:
            raise NotFound(_("No meter with this number in the community."), code="meter_unknown", field="device_ref")
        reading = _record(meter, read_on, number, Reading.Source.DEVICE, actor, _jump_factor(community_id))
        audit.record(actor=actor, action="reading.device", obj=reading, after=audit.snapshot(reading))
    return reading


@transaction.atomic
def review_reading(*, community_id: int, reading_id: int, decision: str, actor: User) -> Reading:
    """Decide a held reading: ``accept`` (bill it as read), ``baseline`` (a replaced meter: usage
    counts from here) or ``reject``."""
    statuses = {"accept": Reading.Status.OK, "baseline": Reading.Status.BASELINE, "reject": Reading.Status.REJECTED}
    if decision not in statuses:
        raise DomainError(_("Choose accept, new baseline or reject."), field="decision")
    with community_scope(community_id):
        reading = Reading.objects.select_for_update().filter(pk=reading_id).first()
        if reading is None:
            raise NotFound()
        if reading.status != Reading.Status.HELD:
            raise Conflict(_("This reading is not waiting for review."), code="not_held")
        if (
            decision != "reject"
            and Reading.objects.filter(
                meter_id=reading.meter_id,
                read_on=reading.read_on,
                status__in=[Reading.Status.OK, Reading.Status.BASELINE],
            ).exists()
        ):
            raise Conflict(_("This meter already has an accepted reading for that day."), code="day_taken")
        before = audit.snapshot(reading)
        reading.status = statuses[decision]
        reading.reviewed_by = actor
        reading.reviewed_at = timezone.now()
        reading.save(update_fields=["status", "reviewed_by", "reviewed_at"])
        audit.record(
            actor=actor, action=f"reading.{decision}", obj=reading, before=before, after=audit.snapshot(reading)
        )
    return reading


@dataclass
class ImportReport:
    created: int = 0
    held: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def _cell_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise DomainError(_("Dates look like 2026-03-31."), field="read_on") from None


def import_readings(*, community_id: int, content: bytes, actor: User | None) -> ImportReport:
    """Readings from a workbook (first sheet; a header row, then meter number, date, reading). Each
    row is its own transaction: good rows are kept, bad rows are listed with their row number and
    the reason, and a row sent again with the same value is recognised and not duplicated."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise DomainError(_("This is not an Excel workbook (.xlsx)."), field="file") from None
    sheet = workbook.worksheets[0]
    report = ImportReport()
    factor = None
    for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if number == 1 or not row or all(cell in (None, "") for cell in row):
            continue
        if number > IMPORT_MAX_ROWS:
            report.errors.append((number, str(_("Too many rows; split the file."))))
            break
        try:
            code, read_on, value = [*row, None, None, None][:3]
            with transaction.atomic(), community_scope(community_id):
                if factor is None:
                    factor = _jump_factor(community_id)
                meter = Meter.objects.filter(code=str(code or "").strip()).first()
                if meter is None:
                    raise DomainError(_("No meter with this number in the community."), field="code")
                day = _cell_date(read_on)
                existing = Reading.objects.filter(meter=meter, read_on=day).exclude(status="rejected").first()
                amount = parse_value(value)
                if existing is not None and existing.value == amount:
                    report.unchanged += 1
                    continue
                reading = _record(meter, day, amount, Reading.Source.IMPORT, actor, factor)
                report.created += 1
                report.held += reading.status == Reading.Status.HELD
        except DomainError as exc:
            report.errors.append((number, str(exc.message)))
    with community_scope(community_id), transaction.atomic():
        audit.record(
            actor=actor,
            action="reading.import",
            object_type="billing.reading",
            community_id=community_id,
            after={"created": report.created, "held": report.held, "errors": len(report.errors)},
        )
    return report
