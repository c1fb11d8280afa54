"""Request and response shapes of the work-order API (:mod:`anju.workorders.api`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import StringConstraints, model_validator

from anju.api.schemas import Input, ObjectId, Patch, local, text
from anju.core.models import User
from anju.workorders.models import (
    Category,
    DispatchMode,
    Kind,
    Priority,
    SlaPolicy,
    TechnicianProfile,
    WorkingCalendar,
    WorkOrder,
    WorkOrderEvent,
)

# A category's skill, as the model's SlugField takes it.
SLUG = r"^[-a-zA-Z0-9_]*$"


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    dispatch_mode: str
    default_priority: str
    paid_by_default: bool


class EventOut(Schema):
    kind: str
    label: str
    from_state: str
    to_state: str
    actor: str
    note: str
    data: dict
    at: dt.datetime

    @classmethod
    def of(cls, event: WorkOrderEvent) -> EventOut:
        return cls(
            kind=event.kind,
            label=str(event.get_kind_display()),
            from_state=event.from_state,
            to_state=event.to_state,
            actor=event.actor_label,
            note=event.note,
            data=event.data,
            at=local(event.at),  # type: ignore[arg-type]
        )


class PhotoOut(Schema):
    id: int
    stage: str
    content_type: str
    width: int
    height: int
    size: int


class OrderOut(Schema):
    id: int
    number: str
    kind: str
    category: str
    category_code: str
    priority: str
    state: str
    state_label: str
    source: str
    source_ref: str
    description: str
    location: str
    home_id: int | None
    building_id: int | None
    common_part_id: int | None
    assignee_id: int | None
    assignee: str | None
    created_at: dt.datetime
    response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    overdue: bool
    quote_fen: int | None
    quote_state: str
    rating: int | None

    @classmethod
    def of(cls, order: WorkOrder) -> OrderOut:
        # model_construct: the values come typed from the database and ninja validates the response
        # anyway; validating here as well doubled the cost of a board of 200 cards.
        return cls.model_construct(
            id=order.pk,
            number=order.number,
            kind=order.kind,
            category=order.category.name,
            category_code=order.category.code,
            priority=order.priority,
            state=order.state,
            state_label=str(order.get_state_display()),
            source=order.source,
            source_ref=order.source_ref,
            description=order.description,
            location=order.location_label,
            home_id=order.home_id,
            building_id=order.building_id,
            common_part_id=order.common_part_id,
            assignee_id=order.assignee_id,
            assignee=str(order.assignee) if order.assignee_id else None,
            created_at=local(order.created_at),
            response_due_at=local(order.response_due_at),
            resolution_due_at=local(order.resolution_due_at),
            overdue=bool(order.response_escalated_at or order.resolution_escalated_at),
            quote_fen=order.quote_fen,
            quote_state=order.quote_state,
            rating=order.rating,
        )


class OrderDetailOut(OrderOut):
    preferred_time: str
    contact_name: str
    resolution_note: str
    quote_note: str
    rating_comment: str
    events: list[EventOut]
    photos: list[PhotoOut]

    @classmethod
    def detail(cls, order: WorkOrder) -> OrderDetailOut:
        return cls(
            **OrderOut.of(order).model_dump(),
            preferred_time=order.preferred_time,
            contact_name=order.contact_name,
            resolution_note=order.resolution_note,
            quote_note=order.quote_note,
            rating_comment=order.rating_comment,
            events=[EventOut.of(e) for e in order.events.all()],
            photos=[
                PhotoOut(
                    id=p.pk, stage=p.stage, content_type=p.content_type, width=p.width, height=p.height, size=p.size
                )
                for p in order.photos.all()
            ],
        )


class OrderFilter(Schema):
    state: Annotated[str, text(20)] | None = Field(None, description="A state, or `open`.")
    category: Annotated[str, text(40)] | None = Field(None, description="A category code.")
    priority: Priority | None = None
    kind: Kind | None = None
    assignee_id: ObjectId | None = None
    building_id: ObjectId | None = None
    overdue: bool | None = None
    q: Annotated[str, text(100)] | None = Field(None, description="Text in the description, or an order number.")


class BoardColumnOut(Schema):
    state: str
    label: str
    count: int
    orders: list[OrderOut]


class OrderIn(Input):
    kind: Kind = Kind.REPAIR
    category: Annotated[str, text(40, min_length=1)] = Field(description="A category code, e.g. `water`.")
    description: Annotated[str, text(2000, min_length=1)]
    home_id: ObjectId | None = None
    common_part_id: ObjectId | None = None
    location_note: Annotated[str, text(200)] = ""
    preferred_time: Annotated[str, text(100)] = ""
    priority: Priority | None = None
    contact_name: Annotated[str, text(100)] = ""


class MyOrderIn(Input):
    community_id: ObjectId
    kind: Kind = Kind.REPAIR
    category: Annotated[str, text(40, min_length=1)]
    description: Annotated[str, text(2000, min_length=1)]
    home_id: ObjectId | None = None
    common_part_id: ObjectId | None = None
    location_note: Annotated[str, text(200)] = ""
    preferred_time: Annotated[str, text(100)] = ""


class ReasonIn(Input):
    reason: Annotated[str, text(500, min_length=1)]


class OptionalReasonIn(Input):
    reason: Annotated[str, text(500)] = ""


class NoteIn(Input):
    note: Annotated[str, text(2000, min_length=1)]


class AssignIn(Input):
    assignee_id: ObjectId
    note: Annotated[str, text(500)] = ""


class TransferIn(Input):
    assignee_id: ObjectId
    reason: Annotated[str, text(500, min_length=1)]


class AcceptIn(Input):
    priority: Priority | None = None
    note: Annotated[str, text(500)] = ""


class QuoteIn(Input):
    amount_fen: int = Field(ge=1, le=10_000_000, description="In fen (分).")
    note: Annotated[str, text(200)] = ""


class QuoteAnswerIn(Input):
    accept: bool


class RateIn(Input):
    rating: int = Field(ge=1, le=5)
    comment: Annotated[str, text(500)] = ""


class FollowUpOut(Schema):
    id: int
    order_id: int
    reason: str
    status: str
    assignee: str | None
    due_on: dt.date
    outcome: str
    resident_satisfied: bool | None


class FollowUpDoneIn(Input):
    outcome: Annotated[str, text(2000, min_length=1)]
    resident_satisfied: bool | None = None


# --- Settings (mirroring the console's settings page) ------------------------------------------------


class RulesOut(Schema):
    auto_confirm_days: int
    dispute_days: int
    low_rating_max: int
    follow_up_sample_percent: int


class RulesPatch(Patch):
    auto_confirm_days: int | None = Field(None, ge=1, le=60)
    dispute_days: int | None = Field(None, ge=1, le=90)
    low_rating_max: int | None = Field(None, ge=1, le=5)
    follow_up_sample_percent: int | None = Field(None, ge=0, le=100)


class CalendarOut(Schema):
    id: int
    name: str
    weekdays: list[int] = Field(description="0 = Monday … 6 = Sunday.")
    starts_at: dt.time
    ends_at: dt.time
    holidays: list[str]
    extra_workdays: list[str]

    @classmethod
    def of(cls, calendar: WorkingCalendar) -> CalendarOut:
        return cls(
            id=calendar.pk,
            name=calendar.name,
            weekdays=list(calendar.weekdays or []),
            starts_at=calendar.starts_at,
            ends_at=calendar.ends_at,
            holidays=list(calendar.holidays or []),
            extra_workdays=list(calendar.extra_workdays or []),
        )


class CategorySettingsOut(Schema):
    id: int
    code: str
    name: str
    dispatch_mode: str
    default_priority: str
    skill: str
    calendar_id: int | None
    paid_by_default: bool
    active: bool

    @classmethod
    def of(cls, category: Category) -> CategorySettingsOut:
        return cls(
            id=category.pk,
            code=category.code,
            name=category.name,
            dispatch_mode=category.dispatch_mode,
            default_priority=category.default_priority,
            skill=category.skill,
            calendar_id=category.calendar_id,
            paid_by_default=category.paid_by_default,
            active=category.active,
        )


class CategoryPatch(Input):
    """Omit a field to keep it. ``null`` is refused, except ``calendar_id: null``, which makes the
    category's deadlines run around the clock."""

    dispatch_mode: DispatchMode | None = None
    default_priority: Priority | None = None
    skill: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40, pattern=SLUG)] | None = None
    calendar_id: ObjectId | None = None
    paid_by_default: bool | None = None
    active: bool | None = Field(None, description="Offered when reporting.")

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(key for key, value in data.items() if value is None and key != "calendar_id")
            if nulls:
                raise ValueError(f"omit a field to leave it unchanged instead of sending null: {', '.join(nulls)}")
        return data

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class SlaPolicyOut(Schema):
    id: int
    category_id: int | None = Field(description="Empty: every category without its own policy.")
    category_code: str | None
    priority: str
    response_minutes: int
    resolution_minutes: int
    effective_from: dt.datetime
    in_force: bool = Field(description="The policy a new order of this category and priority gets now.")

    @classmethod
    def of(cls, policy: SlaPolicy, *, in_force: bool) -> SlaPolicyOut:
        return cls(
            id=policy.pk,
            category_id=policy.category_id,
            category_code=policy.category.code if policy.category_id else None,  # type: ignore[union-attr]
            priority=policy.priority,
            response_minutes=policy.response_minutes,
            resolution_minutes=policy.resolution_minutes,
            effective_from=local(policy.effective_from),  # type: ignore[arg-type]
            in_force=in_force,
        )


class SlaPolicyIn(Input):
    category_id: ObjectId | None = Field(None, description="Omit for every category.")
    priority: Priority
    response_minutes: int = Field(ge=1, le=60 * 24 * 90, description="On site within (minutes).")
    resolution_minutes: int = Field(ge=1, le=60 * 24 * 365, description="Resolved within (minutes).")


class CalendarIn(Input):
    """A whole working calendar (creating one, or replacing what one says)."""

    name: str = Field(min_length=1, max_length=60)
    weekdays: list[int] = Field(min_length=1, max_length=7, description="Working weekdays, 0 = Monday … 6 = Sunday.")
    starts_at: dt.time
    ends_at: dt.time
    holidays: list[dt.date] = Field(default_factory=list, max_length=400, description="Days off (法定节假日).")
    extra_workdays: list[dt.date] = Field(
        default_factory=list, max_length=400, description="Weekend days worked instead (调休)."
    )


class TechnicianSettingsOut(Schema):
    user_id: int
    name: str
    has_profile: bool = Field(description="Without a profile a technician takes any category anywhere.")
    skills: list[str]
    building_ids: list[int]
    on_duty: bool

    @classmethod
    def of(cls, user: User, profile: TechnicianProfile | None) -> TechnicianSettingsOut:
        return cls(
            user_id=user.pk,
            name=str(user),
            has_profile=profile is not None,
            skills=list(profile.skills) if profile else [],
            building_ids=list(profile.building_ids) if profile else [],
            on_duty=profile.on_duty if profile else True,
        )


class TechnicianIn(Input):
    user_id: ObjectId
    skills: list[Annotated[str, text(40)]] = Field(default_factory=list, max_length=20)
    building_ids: list[ObjectId] = Field(default_factory=list, max_length=200)
    on_duty: bool = True


class WorkOrderSettingsOut(Schema):
    rules: RulesOut
    categories: list[CategorySettingsOut]
    sla_policies: list[SlaPolicyOut]
    calendars: list[CalendarOut]
    technicians: list[TechnicianSettingsOut]
