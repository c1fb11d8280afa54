"""Resident pages: my QR code, my visitors (invite, share, revoke, confirm walk-ins and couriers),
and my household's entries. Mobile-first and usable without JavaScript: the QR page refreshes itself
with a ``<meta refresh>`` before the code expires.

Everything runs inside ``@resident_view``'s scope and is narrowed to the homes the user lives in now;
any other pass id is a 404 like a pass that does not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import segno
from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.access import services, signing
from anju.access.models import AccessEvent, Delivery, VisitorPass
from anju.access.views_console import posted_id
from anju.core.errors import DomainError
from anju.core.models import User
from anju.residents.models import Occupancy
from anju.web.decorators import resident_view
from anju.web.forms import add_domain_error

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _my_occupancies(request: HttpRequest) -> list[Occupancy]:
    rows = (
        Occupancy.objects.current()
        .filter(person__user=request.user)
        .select_related("person", "community", "home__building", "home__unit")
        .order_by("community_id", "starts_on", "pk")
    )
    by_home: dict[int, Occupancy] = {}
    for occupancy in rows:
        by_home.setdefault(occupancy.home_id, occupancy)
    return list(by_home.values())


def qr_svg(text: str, scale: int = 5) -> str:
    return segno.make(text, error="m").svg_inline(scale=scale, border=2)


@resident_view
def my_qr(request: HttpRequest) -> HttpResponse:
    """One rotating code per community I live in; the page reloads itself before it expires."""
    codes = []
    seen: set[int] = set()
    lifetime = 60
    for occupancy in _my_occupancies(request):
        if occupancy.community_id in seen:
            continue
        seen.add(occupancy.community_id)
        credential = services.ensure_qr_credential(occupancy.person, actor=_user(request))
        token, lifetime = services.resident_qr(credential)
        codes.append({"community": occupancy.community, "svg": qr_svg(token, 6), "token": token})
    return render(request, "access/portal_qr.html", {"codes": codes, "refresh": max(lifetime - 10, 5)})


class InviteForm(forms.Form):
    home = forms.TypedChoiceField(label=gettext_lazy("Home"), coerce=int)
    visitor_name = forms.CharField(label=gettext_lazy("Visitor's name (optional)"), required=False, max_length=60)
    visitor_phone = forms.CharField(label=gettext_lazy("Visitor's mobile (optional)"), required=False, max_length=20)
    plate = forms.CharField(label=gettext_lazy("Car plate (optional)"), required=False, max_length=12)
    valid_from = forms.DateTimeField(label=gettext_lazy("From"), widget=DATETIME_INPUT)
    valid_until = forms.DateTimeField(label=gettext_lazy("Until"), widget=DATETIME_INPUT)
    max_uses = forms.IntegerField(label=gettext_lazy("Number of entries"), min_value=1, max_value=20, initial=2)

    def __init__(self, *args: Any, occupancies: list[Occupancy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["home"].choices = [(o.home_id, o.home.label) for o in occupancies]  # type: ignore[attr-defined]


def _home_ids(occupancies: list[Occupancy]) -> list[int]:
    return [o.home_id for o in occupancies]


@resident_view
def visitors(request: HttpRequest) -> HttpResponse:
    """Invite a visitor; answer walk-ins and deliveries waiting at the gate; see my passes."""
    occupancies = _my_occupancies(request)
    now = timezone.now().replace(second=0, microsecond=0)
    initial = {"valid_from": timezone.localtime(now), "valid_until": timezone.localtime(now + dt.timedelta(hours=4))}
    form = InviteForm(initial=initial, occupancies=occupancies)
    homes = _home_ids(occupancies)
    if request.method == "POST":
        action = request.POST.get("action", "invite")
        try:
            if action in ("accept", "decline"):
                visitor_pass = VisitorPass.objects.filter(pk=posted_id(request, "visitor_pass"), host_home_id__in=homes)
                found = visitor_pass.first()
                if found is None:
                    raise Http404
                services.answer_walk_in(found, accept=action == "accept", actor=_user(request))
                return redirect("portal:access_visitors")
            if action in ("let_in", "keep"):
                delivery = Delivery.objects.filter(pk=posted_id(request, "delivery"), home_id__in=homes).first()
                if delivery is None:
                    raise Http404
                services.answer_delivery(delivery, let_in=action == "let_in", actor=_user(request))
                return redirect("portal:access_visitors")
            form = InviteForm(request.POST, occupancies=occupancies)
            if form.is_valid():
                data = form.cleaned_data
                occupancy = next(o for o in occupancies if o.home_id == data["home"])
                created = services.create_visitor_pass(
                    host_person=occupancy.person,
                    host_home=occupancy.home,
                    valid_from=data["valid_from"],
                    valid_until=data["valid_until"],
                    max_uses=data["max_uses"],
                    visitor_name=data["visitor_name"],
                    visitor_phone=data["visitor_phone"],
                    plate=data["plate"],
                    actor=_user(request),
                )
                messages.success(request, _("Pass created: show or send the QR code to your visitor."))
                return redirect("portal:access_pass", created.pk)
        except DomainError as exc:
            if action != "invite":
                messages.error(request, str(exc.message))
                return redirect("portal:access_visitors")
            add_domain_error(form, exc)
    since = timezone.now() - dt.timedelta(days=1)
    rows = VisitorPass.objects.filter(host_home_id__in=homes, valid_until__gt=since).select_related(
        "host_home__building", "host_home__unit"
    )
    waiting = [p for p in rows if p.status == VisitorPass.Status.PENDING]
    deliveries = Delivery.objects.filter(home_id__in=homes, status=Delivery.Status.WAITING)
    return render(
        request,
        "access/portal_visitors.html",
        {"form": form, "passes": rows, "waiting": waiting, "deliveries": deliveries, "now": timezone.now()},
    )


@resident_view
def pass_detail(request: HttpRequest, visitor_pass_id: int) -> HttpResponse:
    homes = _home_ids(_my_occupancies(request))
    visitor_pass = (
        VisitorPass.objects.filter(pk=visitor_pass_id, host_home_id__in=homes)
        .select_related("host_home__building", "host_home__unit", "key")
        .first()
    )
    if visitor_pass is None:
        raise Http404
    if request.method == "POST":
        services.revoke_visitor_pass(visitor_pass, actor=_user(request))
        messages.success(request, _("Pass revoked."))
        return redirect("portal:access_pass", visitor_pass.pk)
    token = signing.pass_token(visitor_pass)
    share_url = request.build_absolute_uri(reverse("access_shared_pass") + f"?t={token}")
    return render(
        request,
        "access/portal_pass.html",
        {"visitor_pass": visitor_pass, "qr_svg": qr_svg(token), "token": token, "share_url": share_url},
    )


@resident_view
def household_log(request: HttpRequest) -> HttpResponse:
    """The last month of entries by my household and its visitors."""
    homes = _home_ids(_my_occupancies(request))
    since = timezone.now() - dt.timedelta(days=31)
    rows = AccessEvent.objects.filter(home_id__in=homes, occurred_at__gte=since).select_related(
        "door", "person", "visitor_pass"
    )
    return render(request, "access/portal_log.html", {"events": rows[:200]})
