"""Request and response shapes of the work-order API (:mod:`anju.workorders.api`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from ninja import Field, Schema

from anju.api.schemas import Input, ObjectId, local, text
from anju.workorders.models import Kind, Priority, WorkOrder, WorkOrderEvent


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
