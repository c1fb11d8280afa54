"""Reporting an order, its photos, and the steps staff take before and during the work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core import audit
from anju.core.errors import DomainError, NotFound, PermissionDenied
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Building, CommonPart, Community, Home
from anju.workorders import sla
from anju.workorders.models import (
    Category,
    DispatchMode,
    Kind,
    Priority,
    QuoteState,
    Source,
    State,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
)
from anju.workorders.photos import MAX_PHOTOS, CheckedPhoto, PhotoRefused, check_photo
from anju.workorders.services.common import (
    apply_transition,
    dispatchers,
    record_event,
    require_resident,
    require_step,
    require_text,
    residents_of,
    tell,
)
from anju.workorders.services.setup import ensure_defaults

Upload = IO[bytes]


def _check_photos(photos: Sequence[Upload], already: int = 0) -> list[CheckedPhoto]:
    if already + len(photos) > MAX_PHOTOS:
        raise PhotoRefused(
            _("At most %(count)d photos per order and stage.") % {"count": MAX_PHOTOS},
            code="too_many_photos",
            field="photos",
        )
    return [check_photo(photo, name=getattr(photo, "name", "") or "") for photo in photos]


def _store_photos(
    order: WorkOrder, checked: list[CheckedPhoto], stage: str, actor: User | None
) -> list[WorkOrderPhoto]:
    stored = []
    for photo in checked:
        row = WorkOrderPhoto(
            community_id=order.community_id,
            order=order,
            stage=stage,
            extension=photo.extension,
            content_type=photo.content_type,
            size=len(photo.content),
            width=photo.width,
            height=photo.height,
            uploaded_by=actor,
        )
        # Through the configured storage (disk today, object storage by settings alone).
        row.file.save(f"photo.{photo.extension}", ContentFile(photo.content), save=False)
        row.save()
        stored.append(row)
    return stored


def _location(
    community: Community, home: Home | None, building: Building | None, common_part: CommonPart | None
) -> tuple[Home | None, Building | None, CommonPart | None]:
    for obj, field in ((home, "home"), (building, "building"), (common_part, "common_part")):
        if obj is not None and obj.community_id != community.pk:
            raise NotFound(field=field)
    if home is not None:
        building = home.building
    elif common_part is not None and common_part.building_id and building is None:
        building = common_part.building
    return home, building, common_part


def create_order(
    *,
    community: Community,
    kind: str,
    category_code: str,
    description: str,
    home: Home | None = None,
    building: Building | None = None,
    common_part: CommonPart | None = None,
    priority: str | None = None,
    source: str = Source.STAFF,
    source_ref: str = "",
    reporter: User | None = None,
    actor: User | None,
    location_note: str = "",
    preferred_time: str = "",
    contact_name: str = "",
    photos: Sequence[Upload] = (),
) -> WorkOrder:
    """Open a work order: the one entry point for residents, staff, device alarms and plans.

    A non-empty ``source_ref`` (``"alarm:42"``, ``"plan:7:2026-11-24"``) is unique in the community:
    calling again with it returns the order already made, whatever else differs (idempotent). Orders
    not reported by a resident are accepted at once, and a category dispatched automatically
    (round-robin or by skill) is dispatched right away. Deadlines come from the SLA policy in force
    now (:mod:`anju.workorders.sla`)."""
    source_ref = (source_ref or "").strip()
    with community_scope(community.pk):
        if source_ref:
            existing = WorkOrder.objects.filter(community=community, source_ref=source_ref).first()
            if existing is not None:
                return existing
        ensure_defaults(community)
        try:
            return _create_order(
                community=community,
                kind=kind,
                category_code=category_code,
                description=description,
                home=home,
                building=building,
                common_part=common_part,
                priority=priority,
                source=source,
                source_ref=source_ref,
                reporter=reporter,
                actor=actor,
                location_note=location_note,
                preferred_time=preferred_time,
                contact_name=contact_name,
                photos=photos,
            )
        except IntegrityError:
            # Two callers generated the same source at once: the other one's order stands.
            if source_ref:
                existing = WorkOrder.objects.filter(community=community, source_ref=source_ref).first()
                if existing is not None:
                    return existing
            raise


@transaction.atomic
def _create_order(
    *,
    community: Community,
    kind: str,
    category_code: str,
    description: str,
    home: Home | None,
    building: Building | None,
    common_part: CommonPart | None,
    priority: str | None,
    source: str,
    source_ref: str,
    reporter: User | None,
    actor: User | None,
    location_note: str,
    preferred_time: str,
    contact_name: str,
    photos: Sequence[Upload],
) -> WorkOrder:
    if kind not in Kind.values:
        raise DomainError(_("Choose repair, complaint, suggestion or enquiry."), code="invalid_kind", field="kind")
    if source not in Source.values:
        raise DomainError(_("Unknown source."), field="source")
    category = Category.objects.filter(community=community, code=category_code, active=True).first()
    if category is None:
        raise DomainError(_("Choose one of the categories offered."), code="unknown_category", field="category")
    if priority in (None, ""):
        priority = category.default_priority
    if priority not in Priority.values:
        raise DomainError(_("Unknown priority."), field="priority")
    description = require_text(description, "description", max_length=2000)
    location_note = require_text(location_note, "location_note", max_length=200, required=False)
    preferred_time = require_text(preferred_time, "preferred_time", max_length=100, required=False)
    contact_name = require_text(contact_name, "contact_name", max_length=100, required=False)
    if len(source_ref) > 100:
        raise DomainError(_("At most %(count)d characters, please.") % {"count": 100}, field="source_ref")
    home, building, common_part = _location(community, home, building, common_part)
    checked = _check_photos(photos)

    now = timezone.now()
    policy, response_due, resolution_due = sla.deadlines(category, priority, now)
    order = WorkOrder(
        community=community,
        kind=kind,
        category=category,
        priority=priority,
        source=source,
        source_ref=source_ref,
        description=description,
        home=home,
        building=building,
        common_part=common_part,
        location_note=location_note,
        preferred_time=preferred_time,
        reporter=reporter,
        contact_name=contact_name,
        filed_by=actor,
        created_at=now,
        updated_at=now,
        sla_policy=policy,
        response_due_at=response_due,
        resolution_due_at=resolution_due,
        quote_state=QuoteState.NONE,
    )
    order.save()
    audit.record(actor=actor, action="workorders.create_order", obj=order, after=audit.snapshot(order))
    record_event(order, WorkOrderEvent.Kind.CREATED, actor=actor, data={"source": source, "photos": len(checked)})
    _store_photos(order, checked, WorkOrderPhoto.Stage.REPORT, actor)

    if source == Source.RESIDENT:
        tell(
            dispatchers(community.pk),
            order,
            _("New report %(number)s: %(category)s"),
            order.description[:100],
            kind="reported",
            params={"category": category.name},
        )
    else:
        accept_order(order=order, actor=actor)
    return order


def report_order(
    *,
    community: Community,
    kind: str,
    category_code: str,
    description: str,
    home: Home | None = None,
    common_part: CommonPart | None = None,
    location_note: str = "",
    preferred_time: str = "",
    photos: Sequence[Upload] = (),
    actor: User,
) -> WorkOrder:
    """A resident reports from the portal or the app: for a home they live in now, or a common part."""
    from anju.residents.models import Occupancy

    if home is not None:
        with community_scope(community.pk):
            lives_there = Occupancy.objects.current().filter(home=home, person__user=actor).exists()
        if not lives_there:
            raise NotFound(field="home")
    elif common_part is None and not location_note.strip():
        raise DomainError(
            _("Say where: your home, a common part or a description of the place."),
            code="required",
            field="location_note",
        )
    return create_order(
        community=community,
        kind=kind,
        category_code=category_code,
        description=description,
        home=home,
        common_part=common_part,
        source=Source.RESIDENT,
        reporter=actor,
        actor=actor,
        location_note=location_note,
        preferred_time=preferred_time,
        photos=photos,
    )


@transaction.atomic
def add_photos(
    *, order: WorkOrder, photos: Sequence[Upload], actor: User, stage: str = WorkOrderPhoto.Stage.RESULT
) -> list[WorkOrderPhoto]:
    """Result photos by the technician while working (or report photos by the resident before it is
    dispatched). Up to six per stage."""
    if stage == WorkOrderPhoto.Stage.RESULT:
        if order.state not in (State.IN_PROGRESS, State.PAUSED, State.RESOLVED):
            raise _illegal(order, "photo")
        if order.assignee_id != actor.pk:
            raise PermissionDenied(_("Only the technician working on this order may add result photos."))
    else:
        require_resident(order, actor)
        if order.state not in (State.SUBMITTED, State.ACCEPTED):
            raise _illegal(order, "photo")
    if not photos:
        raise DomainError(_("Choose at least one photo."), code="required", field="photos")
    already = order.photos.filter(stage=stage).count()
    checked = _check_photos(photos, already)
    stored = _store_photos(order, checked, stage, actor)
    record_event(order, WorkOrderEvent.Kind.PHOTO, actor=actor, data={"stage": stage, "count": len(stored)})
    audit.record(
        actor=actor, action="workorders.add_photos", obj=order, after={"stage": stage, "photos": [p.pk for p in stored]}
    )
    return stored


def _illegal(order: WorkOrder, action: str) -> DomainError:
    from anju.workorders.services.common import IllegalTransition

    return IllegalTransition(order, action)


# --- accepting, rejecting, cancelling ---------------------------------------------------------


@transaction.atomic
def accept_order(*, order: WorkOrder, actor: User | None, priority: str | None = None, note: str = "") -> WorkOrder:
    """受理: the service desk takes the report on. Categories dispatched automatically go on at once."""
    changes: dict[str, Any] = {"accepted_at": timezone.now()}
    if priority and priority != order.priority:
        if priority not in Priority.values:
            raise DomainError(_("Unknown priority."), field="priority")
        changes["priority"] = priority
        _policy, changes["response_due_at"], changes["resolution_due_at"] = sla.deadlines(
            order.category, priority, order.created_at
        )
    apply_transition(order, "accept", actor=actor, event=WorkOrderEvent.Kind.ACCEPTED, note=note, changes=changes)
    if order.source == Source.RESIDENT:
        tell(residents_of(order), order, _("Your report %(number)s was accepted"), kind="accepted", staff=False)
    from anju.workorders.services import dispatch

    mode = order.category.dispatch_mode
    if mode in (DispatchMode.ROUND_ROBIN, DispatchMode.AUTO):
        dispatch.dispatch_automatically(order=order, actor=actor)
    elif mode == DispatchMode.GRAB:
        tell(
            dispatch.eligible_technicians(order),
            order,
            _("Order %(number)s is up for grabs: %(category)s"),
            order.description[:100],
            kind="grab",
            params={"category": order.category.name},
        )
    return order


@transaction.atomic
def reject_order(*, order: WorkOrder, reason: str, actor: User) -> WorkOrder:
    """驳回: not something the property company handles (e.g. inside a wall the owner must fix)."""
    reason = require_text(reason, "reason", max_length=500)
    apply_transition(
        order,
        "reject",
        actor=actor,
        event=WorkOrderEvent.Kind.REJECTED,
        note=reason,
        changes={"closed_at": timezone.now()},
    )
    tell(residents_of(order), order, _("Your report %(number)s was declined"), reason, kind="rejected", staff=False)
    return order


@transaction.atomic
def cancel_order(*, order: WorkOrder, reason: str = "", actor: User, by_resident: bool = False) -> WorkOrder:
    """Cancel before work starts: by the resident (their own report) or by staff."""
    if by_resident:
        require_resident(order, actor, "cancel")
    reason = require_text(reason, "reason", max_length=500, required=not by_resident)
    assignee = order.assignee
    apply_transition(
        order,
        "cancel",
        actor=actor,
        event=WorkOrderEvent.Kind.CANCELLED,
        note=reason,
        changes={"closed_at": timezone.now()},
    )
    if by_resident:
        tell(
            [assignee] if assignee else dispatchers(order.community_id),
            order,
            _("Order %(number)s was cancelled by the resident"),
            reason,
            kind="cancelled",
        )
    else:
        tell(
            residents_of(order), order, _("Your order %(number)s was cancelled"), reason, kind="cancelled", staff=False
        )
    return order


# --- paid repairs: the quote ------------------------------------------------------------------


@transaction.atomic
def quote_order(*, order: WorkOrder, amount_fen: int, note: str, actor: User) -> WorkOrder:
    """A price for a paid repair inside a home, which the resident must accept before work starts."""
    if order.state not in (State.ACCEPTED, State.RETURNED, State.REOPENED, State.ASSIGNED, State.TRANSFERRED):
        raise _illegal(order, "quote")
    if order.home_id is None:
        raise DomainError(
            _("Only repairs inside a home are charged to a resident."), code="not_chargeable", field="amount_fen"
        )
    if not isinstance(amount_fen, int) or not 1 <= amount_fen <= 10_000_000:
        raise DomainError(_("Enter an amount between ¥0.01 and ¥100,000."), code="invalid_amount", field="amount_fen")
    note = require_text(note, "note", max_length=200, required=False)
    before = {"quote_fen": order.quote_fen, "quote_state": order.quote_state}
    WorkOrder.objects.filter(pk=order.pk).update(
        quote_fen=amount_fen, quote_note=note, quote_state=QuoteState.PENDING, updated_at=timezone.now()
    )
    order.quote_fen, order.quote_note, order.quote_state = amount_fen, note, QuoteState.PENDING
    audit.record(
        actor=actor,
        action="workorders.quote_order",
        obj=order,
        before=before,
        after={"quote_fen": amount_fen, "quote_state": QuoteState.PENDING},
    )
    record_event(order, WorkOrderEvent.Kind.QUOTED, actor=actor, note=note, data={"amount_fen": amount_fen})
    tell(
        residents_of(order),
        order,
        _("A quote for order %(number)s awaits you: ¥%(amount)s"),
        note,
        kind="quoted",
        staff=False,
        params={"amount": f"{amount_fen / 100:.2f}"},
        sms=True,
    )
    return order


@transaction.atomic
def answer_quote(*, order: WorkOrder, accept: bool, actor: User) -> WorkOrder:
    """The resident accepts (work may start) or declines (staff re-quote or cancel) the quote."""
    require_resident(order, actor)
    locked = WorkOrder.objects.select_for_update().get(pk=order.pk)
    if locked.quote_state != QuoteState.PENDING:
        raise DomainError(_("There is no quote waiting for an answer."), code="no_pending_quote")
    new_state = QuoteState.ACCEPTED if accept else QuoteState.DECLINED
    WorkOrder.objects.filter(pk=order.pk, quote_state=QuoteState.PENDING).update(
        quote_state=new_state, updated_at=timezone.now()
    )
    order.quote_state = new_state
    audit.record(
        actor=actor,
        action="workorders.answer_quote",
        obj=order,
        before={"quote_state": QuoteState.PENDING},
        after={"quote_state": new_state},
    )
    record_event(
        order,
        WorkOrderEvent.Kind.QUOTE_ACCEPTED if accept else WorkOrderEvent.Kind.QUOTE_DECLINED,
        actor=actor,
        data={"amount_fen": order.quote_fen},
    )
    message = (
        _("The resident accepted the quote for order %(number)s")
        if accept
        else _("The resident declined the quote for order %(number)s")
    )
    tell(
        [order.assignee] if order.assignee_id else dispatchers(order.community_id),
        order,
        message,
        kind="quote_answered",
    )
    return order


# --- the work -----------------------------------------------------------------------------------


def _require_assignee(order: WorkOrder, actor: User, action: str) -> None:
    require_step(order, action)
    if order.assignee_id != actor.pk:
        raise PermissionDenied(_("Only the technician this order is assigned to may do this."))


@transaction.atomic
def start_order(*, order: WorkOrder, actor: User) -> WorkOrder:
    """On site, work begins: the response clock stops here."""
    _require_assignee(order, actor, "start")
    if order.state in (State.ASSIGNED, State.TRANSFERRED) and order.quote_state == QuoteState.PENDING:
        raise DomainError(_("The resident has not accepted the quote yet."), code="quote_pending")
    if order.state in (State.ASSIGNED, State.TRANSFERRED) and order.quote_state == QuoteState.DECLINED:
        raise DomainError(
            _("The resident declined the quote; agree a new one or cancel the order."), code="quote_declined"
        )
    now = timezone.now()
    changes: dict[str, Any] = {}
    if order.started_at is None:
        changes["started_at"] = now
    apply_transition(order, "start", actor=actor, event=WorkOrderEvent.Kind.STARTED, changes=changes)
    tell(residents_of(order), order, _("Work on your order %(number)s has started"), kind="started", staff=False)
    return order


@transaction.atomic
def pause_order(*, order: WorkOrder, reason: str, actor: User) -> WorkOrder:
    """Waiting for parts or for the resident: the resolution clock stops until it resumes."""
    _require_assignee(order, actor, "pause")
    reason = require_text(reason, "reason", max_length=500)
    apply_transition(
        order,
        "pause",
        actor=actor,
        event=WorkOrderEvent.Kind.PAUSED,
        note=reason,
        changes={"paused_at": timezone.now()},
    )
    tell(residents_of(order), order, _("Work on your order %(number)s is paused"), reason, kind="paused", staff=False)
    return order


@transaction.atomic
def resume_order(*, order: WorkOrder, actor: User) -> WorkOrder:
    """Back to work; the resolution deadline moves on by the time spent paused."""
    _require_assignee(order, actor, "resume")
    now = timezone.now()
    changes: dict[str, Any] = {"paused_at": None}
    if order.paused_at and order.resolution_due_at:
        changes["resolution_due_at"] = order.resolution_due_at + (now - order.paused_at)
    apply_transition(order, "resume", actor=actor, event=WorkOrderEvent.Kind.RESUMED, changes=changes)
    return order


@transaction.atomic
def resolve_order(*, order: WorkOrder, note: str, actor: User, photos: Sequence[Upload] = ()) -> WorkOrder:
    """完工: the technician says what was done (with result photos); the resident confirms or disputes."""
    _require_assignee(order, actor, "resolve")
    note = require_text(note, "note", max_length=2000)
    checked = _check_photos(photos, order.photos.filter(stage=WorkOrderPhoto.Stage.RESULT).count()) if photos else []
    apply_transition(
        order,
        "resolve",
        actor=actor,
        event=WorkOrderEvent.Kind.RESOLVED,
        note=note,
        changes={"resolved_at": timezone.now(), "resolution_note": note},
    )
    if checked:
        _store_photos(order, checked, WorkOrderPhoto.Stage.RESULT, actor)
        record_event(order, WorkOrderEvent.Kind.PHOTO, actor=actor, data={"stage": "result", "count": len(checked)})
    tell(
        residents_of(order),
        order,
        _("Your order %(number)s is done: please confirm and rate it"),
        note[:100],
        kind="resolved",
        staff=False,
        sms=True,
    )
    return order


@transaction.atomic
def comment_order(*, order: WorkOrder, note: str, actor: User) -> WorkOrderEvent:
    """A note on the timeline (a call made, a part ordered)."""
    note = require_text(note, "note", max_length=1000)
    event = record_event(order, WorkOrderEvent.Kind.COMMENT, actor=actor, note=note)
    audit.record(actor=actor, action="workorders.comment_order", obj=order, after={"note": note})
    return event
