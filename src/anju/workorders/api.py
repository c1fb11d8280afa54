"""Work orders over the API: staff under ``/communities/{community_id}/workorders``, residents
under ``/me/workorders``. Handlers are thin: they resolve ids inside the scope and call
:mod:`anju.workorders.services`; refusals come back as ``{"code", "message"}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from django.http import HttpRequest
from ninja import File, Query, Router, UploadedFile
from ninja.responses import Status

from anju.api.auth import community_auth, current_user, request_access
from anju.api.errors import COMMUNITY_WRITE, OWN_WRITE, RESIDENT_READ, SIGNED_IN, responses
from anju.api.pagination import Page, PageQuery, paginate
from anju.api.tenancy import get_or_404, resident_scope, scoped
from anju.core.errors import NotFound, PermissionDenied
from anju.core.models import User
from anju.core.permissions import Perm
from anju.estates.models import CommonPart, Community, Home
from anju.workorders import services
from anju.workorders.models import Category, FollowUp, WorkOrder, WorkOrderPhoto
from anju.workorders.queries import board_columns, filter_orders, orders_of_resident
from anju.workorders.schemas import (
    AcceptIn,
    AssignIn,
    BoardColumnOut,
    CategoryOut,
    FollowUpDoneIn,
    FollowUpOut,
    MyOrderIn,
    NoteIn,
    OptionalReasonIn,
    OrderDetailOut,
    OrderFilter,
    OrderIn,
    OrderOut,
    QuoteAnswerIn,
    QuoteIn,
    RateIn,
    ReasonIn,
    TransferIn,
)
from anju.workorders.settings_api import add_settings_routes

router = Router(tags=["workorders"])
# First: ``/workorders/{order_id}`` below would otherwise take ``settings`` for an order id.
add_settings_routes(router)

BOARD_CARDS = 20


# --- helpers ---------------------------------------------------------------------------------------


def _order(order_id: int) -> WorkOrder:
    return get_or_404(WorkOrder.objects.for_board(), order_id)


def _detail(order_id: int) -> OrderDetailOut:
    order = get_or_404(WorkOrder.objects.for_board().prefetch_related("events", "photos"), order_id)
    return OrderDetailOut.detail(order)


def _staff_user(community: Community, user_id: int, field: str) -> User:
    from anju.workorders.services.dispatch import technicians

    for user in technicians(community.pk):
        if user.pk == user_id:
            return user
    raise NotFound(field=field)


def _require_any(request: HttpRequest, community_id: int, *perms: Perm) -> None:
    access = request_access(request)
    if not any(access.has(perm, community_id) for perm in perms):
        raise PermissionDenied()


# --- staff -----------------------------------------------------------------------------------------


STAFF = "/communities/{community_id}/workorders"


@router.get(f"{STAFF}/categories", response=responses(list[CategoryOut]), auth=community_auth(Perm.VIEW_WORKORDERS))
def list_categories(request: HttpRequest, community_id: int) -> list[CategoryOut]:
    with scoped(request, community_id, Perm.VIEW_WORKORDERS) as community:
        services.ensure_defaults(community)
        return [CategoryOut.from_orm(c) for c in Category.objects.filter(active=True)]


@router.get(STAFF, response=responses(Page[OrderOut]), auth=community_auth(Perm.VIEW_WORKORDERS))
def list_orders(
    request: HttpRequest, community_id: int, filters: Query[OrderFilter], page: Query[PageQuery]
) -> Page[OrderOut]:
    """Newest first, filtered."""
    with scoped(request, community_id, Perm.VIEW_WORKORDERS):
        orders = filter_orders(WorkOrder.objects.for_board(), **filters.model_dump())
        return paginate(orders, page, OrderOut.of)


@router.get(f"{STAFF}/board", response=responses(list[BoardColumnOut]), auth=community_auth(Perm.VIEW_WORKORDERS))
def board(request: HttpRequest, community_id: int) -> list[BoardColumnOut]:
    """One column per open state: its count and its oldest orders first (up to 20)."""
    with scoped(request, community_id, Perm.VIEW_WORKORDERS):
        return [
            BoardColumnOut(
                state=col.state, label=str(col.label), count=col.count, orders=[OrderOut.of(o) for o in col.orders]
            )
            for col in board_columns(WorkOrder.objects.all(), per_column=BOARD_CARDS)
        ]


@router.post(
    STAFF,
    response=responses(OrderDetailOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.FILE_WORKORDERS),
)
def file_order(request: HttpRequest, community_id: int, payload: OrderIn) -> Status[OrderDetailOut]:
    """Staff file an order (a phone call, a walk-in, an inspection finding)."""
    with scoped(request, community_id, Perm.FILE_WORKORDERS) as community:
        home = get_or_404(Home, payload.home_id, field="home_id") if payload.home_id else None
        part = (
            get_or_404(CommonPart, payload.common_part_id, field="common_part_id") if payload.common_part_id else None
        )
        order = services.create_order(
            community=community,
            kind=str(payload.kind),
            category_code=payload.category,
            description=payload.description,
            home=home,
            common_part=part,
            priority=str(payload.priority) if payload.priority else None,
            source="staff",
            actor=current_user(request),
            location_note=payload.location_note,
            preferred_time=payload.preferred_time,
            contact_name=payload.contact_name,
        )
        return Status(201, _detail(order.pk))


@router.get(f"{STAFF}/follow-ups", response=responses(list[FollowUpOut]), auth=community_auth(Perm.DISPATCH_WORKORDERS))
def list_follow_ups(
    request: HttpRequest, community_id: int, status: Literal["open", "done"] = "open"
) -> list[FollowUpOut]:
    with scoped(request, community_id, Perm.DISPATCH_WORKORDERS):
        rows = FollowUp.objects.filter(status=status).select_related("assignee")[:200]
        return [
            FollowUpOut(
                id=f.pk,
                order_id=f.order_id,
                reason=f.reason,
                status=f.status,
                assignee=str(f.assignee) if f.assignee_id else None,
                due_on=f.due_on,
                outcome=f.outcome,
                resident_satisfied=f.resident_satisfied,
            )
            for f in rows
        ]


@router.post(
    f"{STAFF}/follow-ups/{{follow_up_id}}/done",
    response=responses(FollowUpOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.DISPATCH_WORKORDERS),
)
def complete_follow_up(
    request: HttpRequest, community_id: int, follow_up_id: int, payload: FollowUpDoneIn
) -> FollowUpOut:
    with scoped(request, community_id, Perm.DISPATCH_WORKORDERS):
        follow_up: FollowUp = get_or_404(FollowUp.objects.select_related("order", "assignee"), follow_up_id)
        f = services.complete_follow_up(
            follow_up=follow_up,
            outcome=payload.outcome,
            resident_satisfied=payload.resident_satisfied,
            actor=current_user(request),
        )
        return FollowUpOut(
            id=f.pk,
            order_id=f.order_id,
            reason=f.reason,
            status=f.status,
            assignee=str(f.assignee) if f.assignee_id else None,
            due_on=f.due_on,
            outcome=f.outcome,
            resident_satisfied=f.resident_satisfied,
        )


@router.get(f"{STAFF}/{{order_id}}", response=responses(OrderDetailOut), auth=community_auth(Perm.VIEW_WORKORDERS))
def get_order(request: HttpRequest, community_id: int, order_id: int) -> OrderDetailOut:
    with scoped(request, community_id, Perm.VIEW_WORKORDERS):
        return _detail(order_id)


def _step(
    request: HttpRequest, community_id: int, order_id: int, perm: Perm, run: Callable[[WorkOrder, Community, User], Any]
) -> OrderDetailOut:
    with scoped(request, community_id, perm) as community:
        order = _order(order_id)
        run(order, community, current_user(request))
        return _detail(order_id)


WRITE = responses(OrderDetailOut, errors=COMMUNITY_WRITE)


@router.post(f"{STAFF}/{{order_id}}/accept", response=WRITE, auth=community_auth(Perm.DISPATCH_WORKORDERS))
def accept(request: HttpRequest, community_id: int, order_id: int, payload: AcceptIn) -> OrderDetailOut:
    return _step(
        request,
        community_id,
        order_id,
        Perm.DISPATCH_WORKORDERS,
        lambda o, c, u: services.accept_order(order=o, priority=payload.priority, note=payload.note, actor=u),
    )


@router.post(f"{STAFF}/{{order_id}}/reject", response=WRITE, auth=community_auth(Perm.DISPATCH_WORKORDERS))
def reject(request: HttpRequest, community_id: int, order_id: int, payload: ReasonIn) -> OrderDetailOut:
    return _step(
        request,
        community_id,
        order_id,
        Perm.DISPATCH_WORKORDERS,
        lambda o, c, u: services.reject_order(order=o, reason=payload.reason, actor=u),
    )


@router.post(f"{STAFF}/{{order_id}}/cancel", response=WRITE, auth=community_auth(Perm.DISPATCH_WORKORDERS))
def cancel(request: HttpRequest, community_id: int, order_id: int, payload: ReasonIn) -> OrderDetailOut:
    return _step(
        request,
        community_id,
        order_id,
        Perm.DISPATCH_WORKORDERS,
        lambda o, c, u: services.cancel_order(order=o, reason=payload.reason, actor=u),
    )


@router.post(f"{STAFF}/{{order_id}}/assign", response=WRITE, auth=community_auth(Perm.DISPATCH_WORKORDERS))
def assign(request: HttpRequest, community_id: int, order_id: int, payload: AssignIn) -> OrderDetailOut:
    """派单 to a technician (accepting a fresh report in the same step)."""
    return _step(
        request,
        community_id,
        order_id,
        Perm.DISPATCH_WORKORDERS,
        lambda o, c, u: services.assign_order(
            order=o, assignee=_staff_user(c, payload.assignee_id, "assignee_id"), note=payload.note, actor=u
        ),
    )


@router.post(f"{STAFF}/{{order_id}}/quote", response=WRITE, auth=community_auth(Perm.DISPATCH_WORKORDERS))
def quote(request: HttpRequest, community_id: int, order_id: int, payload: QuoteIn) -> OrderDetailOut:
    """A price for a paid repair; work starts once the resident accepts it."""
    return _step(
        request,
        community_id,
        order_id,
        Perm.DISPATCH_WORKORDERS,
        lambda o, c, u: services.quote_order(order=o, amount_fen=payload.amount_fen, note=payload.note, actor=u),
    )


@router.post(f"{STAFF}/{{order_id}}/close", response=WRITE, auth=community_auth(Perm.DISPATCH_WORKORDERS))
def close(request: HttpRequest, community_id: int, order_id: int, payload: OptionalReasonIn) -> OrderDetailOut:
    return _step(
        request,
        community_id,
        order_id,
        Perm.DISPATCH_WORKORDERS,
        lambda o, c, u: services.close_order(order=o, note=payload.reason, actor=u),
    )


@router.post(f"{STAFF}/{{order_id}}/transfer", response=WRITE, auth=community_auth(Perm.VIEW_WORKORDERS))
def transfer(request: HttpRequest, community_id: int, order_id: int, payload: TransferIn) -> OrderDetailOut:
    """转单: by a dispatcher, or by the technician holding the order."""
    _require_any(request, community_id, Perm.DISPATCH_WORKORDERS, Perm.WORK_WORKORDERS)

    def run(order: WorkOrder, community: Community, user: User) -> None:
        if not request_access(request).has(Perm.DISPATCH_WORKORDERS, community_id) and order.assignee_id != user.pk:
            raise PermissionDenied()
        services.transfer_order(
            order=order,
            assignee=_staff_user(community, payload.assignee_id, "assignee_id"),
            reason=payload.reason,
            actor=user,
        )

    return _step(request, community_id, order_id, Perm.VIEW_WORKORDERS, run)


@router.post(f"{STAFF}/{{order_id}}/comment", response=WRITE, auth=community_auth(Perm.VIEW_WORKORDERS))
def comment(request: HttpRequest, community_id: int, order_id: int, payload: NoteIn) -> OrderDetailOut:
    _require_any(request, community_id, Perm.DISPATCH_WORKORDERS, Perm.WORK_WORKORDERS, Perm.FILE_WORKORDERS)
    return _step(
        request,
        community_id,
        order_id,
        Perm.VIEW_WORKORDERS,
        lambda o, c, u: services.comment_order(order=o, note=payload.note, actor=u),
    )


@router.post(f"{STAFF}/{{order_id}}/grab", response=WRITE, auth=community_auth(Perm.WORK_WORKORDERS))
def grab(request: HttpRequest, community_id: int, order_id: int) -> OrderDetailOut:
    """抢单: 409 ``already_taken`` when another technician was faster."""
    return _step(
        request, community_id, order_id, Perm.WORK_WORKORDERS, lambda o, c, u: services.grab_order(order=o, actor=u)
    )


@router.post(f"{STAFF}/{{order_id}}/give-back", response=WRITE, auth=community_auth(Perm.WORK_WORKORDERS))
def give_back(request: HttpRequest, community_id: int, order_id: int, payload: ReasonIn) -> OrderDetailOut:
    """退单: the technician hands an order back before starting."""
    return _step(
        request,
        community_id,
        order_id,
        Perm.WORK_WORKORDERS,
        lambda o, c, u: services.give_back_order(order=o, reason=payload.reason, actor=u),
    )


@router.post(f"{STAFF}/{{order_id}}/start", response=WRITE, auth=community_auth(Perm.WORK_WORKORDERS))
def start(request: HttpRequest, community_id: int, order_id: int) -> OrderDetailOut:
    return _step(
        request, community_id, order_id, Perm.WORK_WORKORDERS, lambda o, c, u: services.start_order(order=o, actor=u)
    )


@router.post(f"{STAFF}/{{order_id}}/pause", response=WRITE, auth=community_auth(Perm.WORK_WORKORDERS))
def pause(request: HttpRequest, community_id: int, order_id: int, payload: ReasonIn) -> OrderDetailOut:
    return _step(
        request,
        community_id,
        order_id,
        Perm.WORK_WORKORDERS,
        lambda o, c, u: services.pause_order(order=o, reason=payload.reason, actor=u),
    )


@router.post(f"{STAFF}/{{order_id}}/resume", response=WRITE, auth=community_auth(Perm.WORK_WORKORDERS))
def resume(request: HttpRequest, community_id: int, order_id: int) -> OrderDetailOut:
    return _step(
        request, community_id, order_id, Perm.WORK_WORKORDERS, lambda o, c, u: services.resume_order(order=o, actor=u)
    )


@router.post(f"{STAFF}/{{order_id}}/resolve", response=WRITE, auth=community_auth(Perm.WORK_WORKORDERS))
def resolve(request: HttpRequest, community_id: int, order_id: int, payload: NoteIn) -> OrderDetailOut:
    """完工 with what was done; result photos go to ``…/photos`` first."""
    return _step(
        request,
        community_id,
        order_id,
        Perm.WORK_WORKORDERS,
        lambda o, c, u: services.resolve_order(order=o, note=payload.note, actor=u),
    )


@router.post(f"{STAFF}/{{order_id}}/photos", response=WRITE, auth=community_auth(Perm.WORK_WORKORDERS))
def add_result_photos(
    request: HttpRequest, community_id: int, order_id: int, photos: File[list[UploadedFile]]
) -> OrderDetailOut:
    """Result photos (multipart, field ``photos``; JPEG, PNG or WebP; up to 6)."""
    return _step(
        request,
        community_id,
        order_id,
        Perm.WORK_WORKORDERS,
        lambda o, c, u: services.add_photos(order=o, photos=photos, actor=u),
    )


# --- residents -------------------------------------------------------------------------------------


def _my_order(request: HttpRequest, order_id: int) -> WorkOrder:
    order = orders_of_resident(current_user(request)).filter(pk=order_id).first()
    if order is None:
        raise NotFound()
    return order


@router.get("/me/workorders", response=responses(Page[OrderOut], errors=(*SIGNED_IN, 422)))
def my_orders(request: HttpRequest, page: Query[PageQuery]) -> Page[OrderOut]:
    """What I reported, and what was filed for my homes."""
    with resident_scope(request):
        return paginate(orders_of_resident(current_user(request)), page, OrderOut.of)


class MyCategoryOut(CategoryOut):
    community_id: int


@router.get("/me/workorders/categories", response=responses(list[MyCategoryOut], errors=SIGNED_IN))
def my_categories(request: HttpRequest) -> list[MyCategoryOut]:
    """The categories I may report under, in each community I live in."""
    with resident_scope(request) as ids:
        for community in Community.objects.filter(pk__in=ids):
            services.ensure_defaults(community)
        return [
            MyCategoryOut(community_id=c.community_id, **CategoryOut.from_orm(c).model_dump())
            for c in Category.objects.filter(community_id__in=ids, active=True)
        ]


@router.post("/me/workorders", response=responses(OrderDetailOut, status=201, errors=OWN_WRITE))
def report(request: HttpRequest, payload: MyOrderIn) -> Status[OrderDetailOut]:
    """报修 / 投诉 / 建议 / 咨询 for a home I live in or a common part; photos go to ``…/photos``."""
    with resident_scope(request) as ids:
        if payload.community_id not in ids:
            raise NotFound(field="community_id")
        community = Community.objects.get(pk=payload.community_id)
        home = (
            get_or_404(Home, payload.home_id, field="home_id", community_id=community.pk) if payload.home_id else None
        )
        part = (
            get_or_404(CommonPart, payload.common_part_id, field="common_part_id", community_id=community.pk)
            if payload.common_part_id
            else None
        )
        order = services.report_order(
            community=community,
            kind=str(payload.kind),
            category_code=payload.category,
            description=payload.description,
            home=home,
            common_part=part,
            location_note=payload.location_note,
            preferred_time=payload.preferred_time,
            actor=current_user(request),
        )
        return Status(201, _detail(order.pk))


@router.get("/me/workorders/{order_id}", response=responses(OrderDetailOut, errors=RESIDENT_READ))
def my_order(request: HttpRequest, order_id: int) -> OrderDetailOut:
    with resident_scope(request):
        return _detail(_my_order(request, order_id).pk)


def _mine(request: HttpRequest, order_id: int, run: Callable[[WorkOrder, User], Any]) -> OrderDetailOut:
    with resident_scope(request):
        order = _my_order(request, order_id)
        run(order, current_user(request))
        return _detail(order.pk)


MINE = responses(OrderDetailOut, errors=(*OWN_WRITE, 409))


@router.post("/me/workorders/{order_id}/photos", response=MINE)
def add_report_photos(request: HttpRequest, order_id: int, photos: File[list[UploadedFile]]) -> OrderDetailOut:
    return _mine(
        request,
        order_id,
        lambda o, u: services.add_photos(order=o, photos=photos, stage=WorkOrderPhoto.Stage.REPORT, actor=u),
    )


@router.post("/me/workorders/{order_id}/cancel", response=MINE)
def cancel_mine(request: HttpRequest, order_id: int, payload: OptionalReasonIn) -> OrderDetailOut:
    return _mine(
        request, order_id, lambda o, u: services.cancel_order(order=o, reason=payload.reason, by_resident=True, actor=u)
    )


@router.post("/me/workorders/{order_id}/quote", response=MINE)
def answer_quote(request: HttpRequest, order_id: int, payload: QuoteAnswerIn) -> OrderDetailOut:
    return _mine(request, order_id, lambda o, u: services.answer_quote(order=o, accept=payload.accept, actor=u))


@router.post("/me/workorders/{order_id}/confirm", response=MINE)
def confirm(request: HttpRequest, order_id: int) -> OrderDetailOut:
    return _mine(request, order_id, lambda o, u: services.confirm_order(order=o, actor=u))


@router.post("/me/workorders/{order_id}/dispute", response=MINE)
def dispute(request: HttpRequest, order_id: int, payload: ReasonIn) -> OrderDetailOut:
    return _mine(request, order_id, lambda o, u: services.dispute_order(order=o, reason=payload.reason, actor=u))


@router.post("/me/workorders/{order_id}/rate", response=MINE)
def rate(request: HttpRequest, order_id: int, payload: RateIn) -> OrderDetailOut:
    return _mine(
        request,
        order_id,
        lambda o, u: services.rate_order(order=o, rating=payload.rating, comment=payload.comment, actor=u),
    )
