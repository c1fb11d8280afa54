"""The resident's pages: report in under a minute on a phone, my requests, one request with its
timeline and the steps that are mine (accept a quote, cancel, confirm, dispute, rate), photos.
Mobile-first, large type, plain forms that work without JavaScript.

Everything runs inside ``@resident_view``'s scope (the communities the user lives in now) and is
narrowed further to orders the user reported or that concern a home they live in: any other id is
a 404 like an order that does not exist.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from anju.core.errors import DomainError
from anju.core.models import User
from anju.estates.models import Community
from anju.residents.models import Occupancy
from anju.web.decorators import resident_view
from anju.web.forms import add_domain_error
from anju.workorders import services
from anju.workorders.forms import RateForm, ReasonForm, ReportForm
from anju.workorders.models import Category, QuoteState, State, WorkOrder, WorkOrderPhoto
from anju.workorders.queries import orders_of_resident

REQUESTS_PER_PAGE = 20


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _my_order(request: HttpRequest, order_id: int) -> WorkOrder:
    order = orders_of_resident(_actor(request)).filter(pk=order_id).first()
    if order is None:
        raise Http404
    return order


@resident_view
def requests_list(request: HttpRequest) -> HttpResponse:
    orders = orders_of_resident(_actor(request))
    page = Paginator(orders, REQUESTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "workorders/portal/requests.html", {"page": page})


def _report_choices(request: HttpRequest) -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[str, Community]]:
    """Where (each home I live in, then each community's common areas) and what about (the
    categories of my communities, by code)."""
    occupancies = list(
        Occupancy.objects.current()
        .filter(person__user=_actor(request))
        .select_related("community", "home__building", "home__unit")
        .order_by("community__name", "home_id")
    )
    communities = {o.community_id: o.community for o in occupancies}
    several = len(communities) > 1
    locations: list[tuple[str, str]] = []
    seen: set[int] = set()
    for occupancy in occupancies:
        if occupancy.home_id in seen:
            continue
        seen.add(occupancy.home_id)
        label = _("My home %(home)s") % {"home": occupancy.home.label}
        locations.append((f"home:{occupancy.home_id}", f"{occupancy.community.name} · {label}" if several else label))
    for community in communities.values():
        label = _("A common area (stairs, lift, garden…)")
        locations.append((f"community:{community.pk}", f"{community.name} · {label}" if several else label))
    categories: dict[str, str] = {}
    for community in communities.values():
        services.ensure_defaults(community)
    for category in Category.objects.filter(community_id__in=list(communities), active=True).order_by(
        "sort_order", "code"
    ):
        categories.setdefault(category.code, category.name)
    return locations, list(categories.items()), {str(k): v for k, v in communities.items()}


@resident_view
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    locations, categories, communities = _report_choices(request)
    if not locations:
        return render(request, "workorders/portal/report.html", {"form": None})
    form = ReportForm(request.POST or None, request.FILES or None, locations=locations, categories=categories)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kind_of_place, _sep, ident = data["location"].partition(":")
        try:
            if kind_of_place == "home":
                occupancy = (
                    Occupancy.objects.current()
                    .filter(person__user=_actor(request), home_id=int(ident))
                    .select_related("community", "home__building")
                    .first()
                )
                if occupancy is None:
                    raise Http404
                community, home = occupancy.community, occupancy.home
            else:
                community, home = communities[ident], None
            order = services.report_order(
                community=community,
                kind=data["kind"],
                category_code=data["category"],
                description=data["description"],
                home=home,
                location_note=data["location_note"],
                preferred_time=data["preferred_time"],
                photos=data["photos"],
                actor=_actor(request),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("Thank you. Your report number is %(number)s; we will keep you posted here.")
                % {"number": order.number},
            )
            return redirect("portal:workorders_detail", order_id=order.pk)
    return render(request, "workorders/portal/report.html", {"form": form})


@resident_view
@require_http_methods(["GET", "POST"])
def request_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _my_order(request, order_id)
    rate_form = RateForm(prefix="rate")
    dispute_form = ReasonForm(prefix="dispute")
    cancel_form = ReasonForm(prefix="cancel")
    if request.method == "POST":
        action = request.POST.get("action", "")
        actor = _actor(request)
        try:
            if action == "confirm":
                services.confirm_order(order=order, actor=actor)
            elif action == "rate":
                rate_form = RateForm(request.POST, prefix="rate")
                if not rate_form.is_valid():
                    raise _FormInvalid
                services.rate_order(
                    order=order,
                    rating=rate_form.cleaned_data["rating"],
                    comment=rate_form.cleaned_data["comment"],
                    actor=actor,
                )
            elif action == "dispute":
                dispute_form = ReasonForm(request.POST, prefix="dispute")
                if not dispute_form.is_valid():
                    raise _FormInvalid
                services.dispute_order(order=order, reason=dispute_form.cleaned_data["reason"], actor=actor)
            elif action == "cancel":
                services.cancel_order(
                    order=order, reason=request.POST.get("cancel-reason", "")[:500], by_resident=True, actor=actor
                )
            elif action in ("accept_quote", "decline_quote"):
                services.answer_quote(order=order, accept=action == "accept_quote", actor=actor)
            else:
                messages.error(request, _("Unknown action."))
                return redirect("portal:workorders_detail", order_id=order.pk)
        except _FormInvalid:
            messages.error(request, _("Please correct the form below."))
        except DomainError as exc:
            messages.error(request, str(exc.message))
            order = _my_order(request, order_id)
        else:
            messages.success(request, _("Thank you."))
            return redirect("portal:workorders_detail", order_id=order.pk)
    return render(
        request,
        "workorders/portal/detail.html",
        {
            "order": order,
            "events": list(order.events.all()),
            "photos": list(order.photos.all()),
            "rate_form": rate_form,
            "dispute_form": dispute_form,
            "cancel_form": cancel_form,
            "can_cancel": order.state
            in (State.SUBMITTED, State.ACCEPTED, State.RETURNED, State.REOPENED, State.ASSIGNED, State.TRANSFERRED),
            "quote_pending": order.quote_state == QuoteState.PENDING,
            "can_confirm": order.state == State.RESOLVED,
            "can_rate": order.state in (State.RESOLVED, State.CONFIRMED) and order.rating is None,
            "can_dispute": order.state in (State.RESOLVED, State.CONFIRMED),
        },
    )


class _FormInvalid(Exception):
    pass


@resident_view
def photo(request: HttpRequest, photo_id: int) -> HttpResponse:
    row = WorkOrderPhoto.objects.filter(pk=photo_id).first()
    if row is None or not orders_of_resident(_actor(request)).filter(pk=row.order_id).exists():
        raise Http404
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
