"""Console pages: the board (htmx-refreshable), the filtered list, filing an order, one order with
its timeline and every step staff may take, the technician's phone view, follow-ups, and photos.

``@community_view`` has refused other tenants (404) and roles lacking the page's permission (403)
and opened the community scope. A page with several forms tells them apart by the POST's
``action``; each action checks its own permission again and calls one service; a refusal is shown
as a message (or on the form) and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from anju.core.errors import DomainError
from anju.core.models import User
from anju.core.permissions import Perm
from anju.estates.models import CommonPart, Home
from anju.web.console import current_community, permission_flags, render_console, require_permission
from anju.web.decorators import community_view
from anju.web.forms import add_domain_error
from anju.workorders import services
from anju.workorders.forms import (
    AssignForm,
    FilterForm,
    FollowUpForm,
    NoteForm,
    PhotoForm,
    QuoteForm,
    ReasonForm,
    ResolveForm,
    StaffOrderForm,
    TransferForm,
)
from anju.workorders.models import (
    DISPATCHABLE_STATES,
    Category,
    DispatchMode,
    FollowUp,
    State,
    WorkOrder,
    WorkOrderPhoto,
)
from anju.workorders.queries import board_columns, filter_orders
from anju.workorders.services.dispatch import assignable, technicians

ORDERS_PER_PAGE = 50
BOARD_CARDS = 12


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _categories(request: HttpRequest) -> list[tuple[str, str]]:
    services.ensure_defaults(current_community(request))
    return [(c.code, c.name) for c in Category.objects.filter(active=True)]


def _technician_choices(community_id: int) -> list[tuple[Any, str]]:
    return [(u.pk, str(u)) for u in technicians(community_id)]


@community_view(Perm.VIEW_WORKORDERS)
def board(request: HttpRequest, community_id: int) -> HttpResponse:
    """Columns by state; htmx swaps in the refreshed columns every 30 seconds."""
    mine = request.GET.get("mine") == "1"
    columns = board_columns(WorkOrder.objects.all(), per_column=BOARD_CARDS, mine=_actor(request) if mine else None)
    template = "workorders/_board_columns.html" if request.headers.get("HX-Request") else "workorders/board.html"
    return render_console(request, template, community_id, columns=columns, mine=mine)


@community_view(Perm.VIEW_WORKORDERS)
def order_list(request: HttpRequest, community_id: int) -> HttpResponse:
    form = FilterForm(
        request.GET or None, categories=_categories(request), technicians=_technician_choices(community_id)
    )
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "state": data["state"] or None,
            "category": data["category"] or None,
            "priority": data["priority"] or None,
            "kind": data["kind"] or None,
            "assignee_id": data["assignee"],
            "overdue": data["overdue"],
            "q": data["q"] or None,
        }
    orders = filter_orders(WorkOrder.objects.for_board(), **filters)
    page = Paginator(orders, ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    return render_console(request, "workorders/list.html", community_id, form=form, page=page)


def _find_home(text: str) -> Home | None:
    """``1-1-101``, ``1-101`` or ``1栋1单元101`` → the home, or None."""
    import re

    parts = [p for p in re.split(r"[-\s栋单元号室/]+", text.strip()) if p]
    homes = Home.objects.select_related("building", "unit")
    if len(parts) == 3:
        return homes.filter(building__number=parts[0], unit__number=parts[1], number=parts[2]).first()
    if len(parts) == 2:
        return homes.filter(building__number=parts[0], number=parts[1]).first()
    return None


@community_view(Perm.FILE_WORKORDERS)
@require_http_methods(["GET", "POST"])
def new_order(request: HttpRequest, community_id: int) -> HttpResponse:
    """Filing on a resident's behalf (phone call, walk-in) or for a common part."""
    community = current_community(request)
    parts = [(p.pk, str(p)) for p in CommonPart.objects.all()]
    form = StaffOrderForm(
        request.POST or None, request.FILES or None, categories=_categories(request), common_parts=parts
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            home = None
            if data["home"]:
                home = _find_home(data["home"])
                if home is None:
                    raise DomainError(
                        _("No such home here; write it as building-unit-number, e.g. 1-1-101."), field="home"
                    )
            part = CommonPart.objects.filter(pk=data["common_part"]).first() if data["common_part"] else None
            order = services.create_order(
                community=community,
                kind=data["kind"],
                category_code=data["category"],
                description=data["description"],
                home=home,
                common_part=part,
                priority=data["priority"] or None,
                source="staff",
                actor=_actor(request),
                location_note=data["location_note"],
                preferred_time=data["preferred_time"],
                contact_name=data["contact_name"],
                photos=data["photos"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Order %(number)s filed.") % {"number": order.number})
            return redirect("console:workorders_detail", community_id=community_id, order_id=order.pk)
    return render_console(request, "workorders/new.html", community_id, form=form)


# --- one order --------------------------------------------------------------------------------------


def _step_forms(order: WorkOrder, community_id: int, data: Any = None, files: Any = None) -> dict[str, Any]:
    choices = [(u.pk, str(u)) for u in assignable(order)]
    return {
        "assign": AssignForm(data, technicians=choices, prefix="assign"),
        "transfer": TransferForm(
            data, technicians=[c for c in choices if c[0] != order.assignee_id], prefix="transfer"
        ),
        "quote": QuoteForm(data, prefix="quote"),
        "reason": ReasonForm(data, prefix="reason"),
        "comment": NoteForm(data, prefix="comment"),
        "resolve": ResolveForm(data, files, prefix="resolve"),
        "photos": PhotoForm(data, files, prefix="photos"),
    }


# action -> (permission, form key or None, call)
Action = tuple[Perm | tuple[Perm, ...], str | None, Callable[[WorkOrder, Any, User, int], Any]]


def _technician(community_id: int, user_id: int) -> User:
    for user in technicians(community_id):
        if user.pk == user_id:
            return user
    raise DomainError(_("Choose a technician who works in this community."), field="assignee")


ACTIONS: dict[str, Action] = {
    "accept": (Perm.DISPATCH_WORKORDERS, None, lambda o, d, u, c: services.accept_order(order=o, actor=u)),
    "reject": (
        Perm.DISPATCH_WORKORDERS,
        "reason",
        lambda o, d, u, c: services.reject_order(order=o, reason=d["reason"], actor=u),
    ),
    "cancel": (
        Perm.DISPATCH_WORKORDERS,
        "reason",
        lambda o, d, u, c: services.cancel_order(order=o, reason=d["reason"], actor=u),
    ),
    "assign": (
        Perm.DISPATCH_WORKORDERS,
        "assign",
        lambda o, d, u, c: services.assign_order(
            order=o, assignee=_technician(c, d["assignee"]), note=d["note"], actor=u
        ),
    ),
    "auto": (Perm.DISPATCH_WORKORDERS, None, lambda o, d, u, c: services.dispatch_automatically(order=o, actor=u)),
    "quote": (
        Perm.DISPATCH_WORKORDERS,
        "quote",
        lambda o, d, u, c: services.quote_order(order=o, amount_fen=d["amount"], note=d["note"], actor=u),
    ),
    "close": (Perm.DISPATCH_WORKORDERS, None, lambda o, d, u, c: services.close_order(order=o, actor=u)),
    "transfer": (
        (Perm.DISPATCH_WORKORDERS, Perm.WORK_WORKORDERS),
        "transfer",
        lambda o, d, u, c: services.transfer_order(
            order=o, assignee=_technician(c, d["assignee"]), reason=d["reason"], actor=u
        ),
    ),
    "comment": (
        (Perm.DISPATCH_WORKORDERS, Perm.WORK_WORKORDERS, Perm.FILE_WORKORDERS),
        "comment",
        lambda o, d, u, c: services.comment_order(order=o, note=d["note"], actor=u),
    ),
    "grab": (Perm.WORK_WORKORDERS, None, lambda o, d, u, c: services.grab_order(order=o, actor=u)),
    "give_back": (
        Perm.WORK_WORKORDERS,
        "reason",
        lambda o, d, u, c: services.give_back_order(order=o, reason=d["reason"], actor=u),
    ),
    "start": (Perm.WORK_WORKORDERS, None, lambda o, d, u, c: services.start_order(order=o, actor=u)),
    "pause": (
        Perm.WORK_WORKORDERS,
        "reason",
        lambda o, d, u, c: services.pause_order(order=o, reason=d["reason"], actor=u),
    ),
    "resume": (Perm.WORK_WORKORDERS, None, lambda o, d, u, c: services.resume_order(order=o, actor=u)),
    "resolve": (
        Perm.WORK_WORKORDERS,
        "resolve",
        lambda o, d, u, c: services.resolve_order(order=o, note=d["note"], photos=d["photos"], actor=u),
    ),
    "photos": (
        Perm.WORK_WORKORDERS,
        "photos",
        lambda o, d, u, c: services.add_photos(order=o, photos=d["photos"], actor=u),
    ),
}


def _allowed(request: HttpRequest, community_id: int, perm: Perm | tuple[Perm, ...]) -> bool:
    flags = permission_flags(request, community_id)
    perms = perm if isinstance(perm, tuple) else (perm,)
    return any(flags.get(p.value) for p in perms)


@community_view(Perm.VIEW_WORKORDERS)
@require_http_methods(["GET", "POST"])
def order_detail(request: HttpRequest, community_id: int, order_id: int) -> HttpResponse:
    order = get_object_or_404(WorkOrder.objects.for_board(), pk=order_id)
    forms_ = _step_forms(order, community_id)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            messages.error(request, _("Unknown action."))
            return redirect("console:workorders_detail", community_id=community_id, order_id=order.pk)
        perm, form_key, call = ACTIONS[action]
        if not _allowed(request, community_id, perm):
            require_permission(request, perm if isinstance(perm, Perm) else perm[0], community_id)
        data: dict[str, Any] = {}
        if form_key is not None:
            bound = _step_forms(order, community_id, request.POST, request.FILES)[form_key]
            forms_[form_key] = bound
            if not bound.is_valid():
                messages.error(request, _("Please correct the form below."))
                return _render_detail(request, community_id, order, forms_, open_action=action, status=400)
            data = bound.cleaned_data
        try:
            call(order, data, _actor(request), community_id)
        except DomainError as exc:
            if form_key is not None:
                add_domain_error(forms_[form_key], exc)
            messages.error(request, str(exc.message))
            order = get_object_or_404(WorkOrder.objects.for_board(), pk=order_id)
            return _render_detail(
                request, community_id, order, forms_, open_action=action, status=409 if exc.status == 409 else 400
            )
        messages.success(request, _("Done."))
        return redirect("console:workorders_detail", community_id=community_id, order_id=order.pk)
    return _render_detail(request, community_id, order, forms_)


def _render_detail(
    request: HttpRequest,
    community_id: int,
    order: WorkOrder,
    forms_: dict[str, Any],
    *,
    open_action: str = "",
    status: int = 200,
) -> HttpResponse:
    user = _actor(request)
    flags = permission_flags(request, community_id)
    dispatch, work = flags.get(Perm.DISPATCH_WORKORDERS.value, False), flags.get(Perm.WORK_WORKORDERS.value, False)
    is_assignee = order.assignee_id == user.pk
    state = order.state
    steps = {
        "accept": dispatch and state == State.SUBMITTED,
        "reject": dispatch and state in (State.SUBMITTED, State.ACCEPTED),
        "assign": dispatch and state in (State.SUBMITTED, *DISPATCHABLE_STATES),
        "auto": dispatch and state in DISPATCHABLE_STATES,
        "quote": dispatch
        and bool(order.home_id)
        and state in (*DISPATCHABLE_STATES, State.ASSIGNED, State.TRANSFERRED),
        "cancel": dispatch and state in (State.SUBMITTED, *DISPATCHABLE_STATES, State.ASSIGNED, State.TRANSFERRED),
        "close": dispatch and state == State.CONFIRMED,
        "transfer": (dispatch or (work and is_assignee))
        and state in (State.ASSIGNED, State.TRANSFERRED, State.IN_PROGRESS, State.PAUSED),
        "grab": work
        and state in DISPATCHABLE_STATES
        and order.assignee_id is None
        and order.category.dispatch_mode == DispatchMode.GRAB,
        "give_back": work and is_assignee and state in (State.ASSIGNED, State.TRANSFERRED),
        "start": work and is_assignee and state in (State.ASSIGNED, State.TRANSFERRED),
        "pause": work and is_assignee and state == State.IN_PROGRESS,
        "resume": work and is_assignee and state == State.PAUSED,
        "resolve": work and is_assignee and state == State.IN_PROGRESS,
        "photos": work and is_assignee and state in (State.IN_PROGRESS, State.PAUSED, State.RESOLVED),
        "comment": dispatch or work or flags.get(Perm.FILE_WORKORDERS.value, False),
    }
    response = render_console(
        request,
        "workorders/detail.html",
        community_id,
        order=order,
        events=list(order.events.select_related("actor")),
        photos=list(order.photos.all()),
        forms=forms_,
        steps=steps,
        open_action=open_action,
        follow_up=FollowUp.objects.filter(order=order).first(),
    )
    response.status_code = status
    return response


@community_view(Perm.VIEW_WORKORDERS)
def photo(request: HttpRequest, community_id: int, photo_id: int) -> HttpResponse:
    """A photo of this community's order, streamed from storage (never a public URL)."""
    row = get_object_or_404(WorkOrderPhoto, pk=photo_id)
    # At most a few megabytes (the upload limit): read whole, as a plain response.
    try:
        with row.file.open("rb") as handle:
            content = handle.read()
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = HttpResponse(content, content_type=row.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- technician -------------------------------------------------------------------------------------


@community_view(Perm.WORK_WORKORDERS)
def my_jobs(request: HttpRequest, community_id: int) -> HttpResponse:
    """The technician's phone view: my jobs in hand, then orders up for grabs."""
    user = _actor(request)
    mine = list(
        WorkOrder.objects.for_board()
        .filter(assignee=user, state__in=(State.ASSIGNED, State.TRANSFERRED, State.IN_PROGRESS, State.PAUSED))
        .order_by("resolution_due_at", "created_at")
    )
    grabbable = list(
        WorkOrder.objects.for_board()
        .filter(state__in=DISPATCHABLE_STATES, assignee__isnull=True, category__dispatch_mode=DispatchMode.GRAB)
        .order_by("created_at")[:30]
    )
    return render_console(request, "workorders/mine.html", community_id, mine=mine, grabbable=grabbable)


# --- follow-ups -------------------------------------------------------------------------------------


@community_view(Perm.DISPATCH_WORKORDERS)
@require_http_methods(["GET", "POST"])
def follow_ups(request: HttpRequest, community_id: int) -> HttpResponse:
    """回访: visits and calls after a low rating, or for the sample of the rest."""
    form = FollowUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        follow_up: FollowUp = get_object_or_404(
            FollowUp.objects.select_related("order"), pk=form.cleaned_data["follow_up"]
        )
        try:
            services.complete_follow_up(
                follow_up=follow_up,
                outcome=form.cleaned_data["outcome"],
                resident_satisfied=form.cleaned_data["resident_satisfied"],
                actor=_actor(request),
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Follow-up recorded."))
            return redirect("console:workorders_follow_ups", community_id=community_id)
    open_rows = list(
        FollowUp.objects.filter(status=FollowUp.Status.OPEN).select_related(
            "order__category", "order__home__building", "order__home__unit", "assignee"
        )
    )
    done_rows = list(
        FollowUp.objects.filter(status=FollowUp.Status.DONE)
        .select_related("order", "done_by")
        .order_by("-done_at")[:30]
    )
    return render_console(
        request, "workorders/follow_ups.html", community_id, open_rows=open_rows, done_rows=done_rows, form=form
    )


@community_view(Perm.VIEW_WORKORDERS)
def quality(request: HttpRequest, community_id: int) -> HttpResponse:
    """Satisfaction, response and resolution p50/p90, first-time fix: by category and technician."""
    from anju.workorders.metrics import quality as compute

    orders = WorkOrder.objects.all()
    return render_console(
        request,
        "workorders/quality.html",
        community_id,
        by_category=compute(orders, by="category"),
        by_technician=[row for row in compute(orders, by="technician") if row.key is not None],
        overall=compute(orders, by="community"),
    )
