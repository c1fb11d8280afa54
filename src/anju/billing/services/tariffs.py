"""Fee items, effective-dated tariffs, parking leases and billing settings."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from anju.billing import pricing
from anju.billing.models import BillingSettings, BillRun, FeeItem, Meter, ParkingLease, Tariff
from anju.core import audit
from anju.core.errors import Conflict, DomainError, NotFound
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Building, Home, ParkingSpace

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_PRICE = Decimal("100000")
HOME_USES = {choice.value for choice in Home.Use}


def parse_price(value: Any, field: str = "price") -> Decimal:
    try:
        price = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(_("A price is a number of yuan with at most four decimals."), field=field) from None
    if not price.is_finite() or price < 0 or price >= MAX_PRICE or price != price.quantize(Decimal("0.0001")):
        raise DomainError(_("A price is a number of yuan with at most four decimals."), field=field)
    return price.quantize(Decimal("0.0001"))


def parse_tiers(tiers: Any) -> list[dict[str, str | None]]:
    """Validate increasing-block tiers: bounds strictly increasing, only the last one open."""
    if not tiers:
        return []
    if not isinstance(tiers, list) or len(tiers) > 10:
        raise DomainError(_("Tiers are a list of at most ten blocks."), field="tiers")
    result: list[dict[str, str | None]] = []
    previous = Decimal("0")
    for index, tier in enumerate(tiers):
        if not isinstance(tier, dict):
            raise DomainError(_("Each tier has an upper bound and a price."), field="tiers")
        price = parse_price(tier.get("price"), "tiers")
        bound = tier.get("up_to")
        last = index == len(tiers) - 1
        if bound in (None, ""):
            if not last:
                raise DomainError(_("Only the last tier may be open-ended."), field="tiers")
            result.append({"up_to": None, "price": str(price)})
            continue
        try:
            limit = Decimal(str(bound))
        except InvalidOperation:
            raise DomainError(_("Tier bounds must increase."), field="tiers") from None
        if not limit.is_finite() or limit <= previous or limit != limit.quantize(Decimal("0.01")):
            raise DomainError(_("Tier bounds must increase."), field="tiers")
        previous = limit
        result.append({"up_to": str(limit), "price": str(price)})
    return result


@transaction.atomic
def create_fee_item(
    *,
    community_id: int,
    code: str,
    name: str,
    kind: str,
    basis: str,
    meter_kind: str = "",
    home_uses: str = "residential,commercial",
    while_occupied: bool = False,
    actor: User | None,
) -> FeeItem:
    if not CODE.match(code or ""):
        raise DomainError(_("A code is lower-case letters, digits, - and _."), field="code")
    if kind not in FeeItem.Kind.values:
        raise DomainError(_("Unknown fee kind."), field="kind")
    if basis not in FeeItem.Basis.values:
        raise DomainError(_("Unknown basis."), field="basis")
    if basis in (FeeItem.Basis.METERED, FeeItem.Basis.SHARED) and meter_kind not in Meter.Kind.values:
        raise DomainError(_("A metered fee needs the meter kind."), field="meter_kind")
    uses = [use.strip() for use in home_uses.split(",") if use.strip()]
    if not uses or any(use not in HOME_USES for use in uses):
        raise DomainError(_("Unknown home use."), field="home_uses")
    if not name.strip():
        raise DomainError(_("Give the fee a name."), field="name")
    with community_scope(community_id):
        if FeeItem.objects.filter(code=code).exists():
            raise Conflict(_("A fee item with this code already exists."), field="code")
        item = FeeItem.objects.create(
            community_id=community_id,
            code=code,
            name=name.strip()[:60],
            kind=kind,
            basis=basis,
            meter_kind=meter_kind if basis in (FeeItem.Basis.METERED, FeeItem.Basis.SHARED) else "",
            home_uses=",".join(uses),
            while_occupied=while_occupied,
        )
        audit.record(actor=actor, action="fee_item.create", obj=item, after=audit.snapshot(item))
    return item


@transaction.atomic
def set_tariff(
    *,
    community_id: int,
    fee_item_id: int,
    valid_from: dt.date,
    price: Any,
    tiers: Any = None,
    building_id: int | None = None,
    note: str = "",
    actor: User | None,
) -> Tariff:
    """A new price from ``valid_from``. Never edits an earlier tariff, and refuses a start date
    inside a period already issued: issued bills keep the prices they were computed with."""
    amount = parse_price(price)
    blocks = parse_tiers(tiers)
    with community_scope(community_id):
        item = FeeItem.objects.filter(pk=fee_item_id).first()
        if item is None:
            raise NotFound(field="fee_item_id")
        if blocks and item.basis not in (FeeItem.Basis.METERED, FeeItem.Basis.SHARED):
            raise DomainError(_("Only metered fees have tiers."), field="tiers")
        building = None
        if building_id is not None:
            building = Building.objects.filter(pk=building_id).first()
            if building is None:
                raise NotFound(field="building_id")
        issued = (
            BillRun.objects.filter(status__in=[BillRun.Status.ISSUED, BillRun.Status.ISSUING])
            .order_by("-period")
            .values_list("period", flat=True)
            .first()
        )
        if issued is not None and valid_from <= pricing.month_bounds(issued)[1]:
            raise Conflict(
                _("Bills up to %(period)s are issued; a new price can start after that month.")
                % {"period": f"{issued:%Y-%m}"},
                field="valid_from",
                code="period_issued",
            )
        if Tariff.objects.filter(fee_item=item, building=building, valid_from=valid_from).exists():
            raise Conflict(_("There is already a price starting that day."), field="valid_from")
        tariff = Tariff.objects.create(
            community_id=community_id,
            fee_item=item,
            building=building,
            valid_from=valid_from,
            price=amount,
            tiers=blocks,
            note=note[:200],
            created_by=actor,
        )
        audit.record(actor=actor, action="tariff.create", obj=tariff, after=audit.snapshot(tariff))
    return tariff


@transaction.atomic
def lease_parking_space(
    *, community_id: int, space_id: int, home_id: int, starts_on: dt.date, actor: User | None
) -> ParkingLease:
    """Let a parking space to a home from ``starts_on``; it pays the parking fee from that day."""
    with community_scope(community_id):
        space = ParkingSpace.objects.filter(pk=space_id).first()
        home = Home.objects.filter(pk=home_id).first()
        if space is None:
            raise NotFound(field="space_id")
        if home is None:
            raise NotFound(field="home_id")
        running = ParkingLease.objects.filter(space=space, ends_on__isnull=True).exists() or (
            ParkingLease.objects.filter(space=space, ends_on__gte=starts_on).exists()
        )
        if running:
            raise Conflict(_("This space is already let for that time."), field="space_id")
        lease = ParkingLease.objects.create(community_id=community_id, space=space, home=home, starts_on=starts_on)
        audit.record(actor=actor, action="parking_lease.start", obj=lease, after=audit.snapshot(lease))
    return lease


@transaction.atomic
def end_parking_lease(*, community_id: int, lease_id: int, ends_on: dt.date, actor: User | None) -> ParkingLease:
    with community_scope(community_id):
        lease = ParkingLease.objects.select_for_update().filter(pk=lease_id).first()
        if lease is None:
            raise NotFound()
        if lease.ends_on is not None:
            raise Conflict(_("This lease has already ended."))
        if ends_on < lease.starts_on:
            raise DomainError(_("A lease cannot end before it starts."), field="ends_on")
        lease.ends_on = ends_on
        lease.save(update_fields=["ends_on"])
        audit.record(actor=actor, action="parking_lease.end", obj=lease, after={"ends_on": ends_on})
    return lease


@transaction.atomic
def update_billing_settings(*, community_id: int, actor: User | None, **values: int) -> BillingSettings:
    """Change a community's billing settings (validated against the fields' limits)."""
    from django.core.exceptions import ValidationError

    with community_scope(community_id):
        current = BillingSettings.objects.select_for_update().filter(community_id=community_id).first()
        config = current or BillingSettings(community_id=community_id)
        before = audit.snapshot(config)
        for name, value in values.items():
            if name not in {f.name for f in BillingSettings._meta.concrete_fields} or name == "community":
                raise DomainError(_("Unknown setting."), field=name)
            setattr(config, name, value)
        try:
            config.full_clean(exclude=["community"])
        except ValidationError as exc:
            name, messages = next(iter(exc.message_dict.items()))
            raise DomainError(messages[0], field=name) from None
        config.save()
        audit.record(
            actor=actor,
            action="billing_settings.update",
            object_type="billing.billingsettings",
            object_id=str(community_id),
            community_id=community_id,
            before=before,
            after=audit.snapshot(config),
        )
    return config
