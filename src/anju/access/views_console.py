"""Console pages of access control: doors with their status, credentials per person, passes, the
log, and the guard desk.

``@community_view`` has refused other tenants (404) and roles lacking the page's permission (403)
and opened the community scope. Writes needing more than the page's permission check it again.
Every write is a call into :mod:`anju.access.services`; a refusal is shown on the form that caused it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.access import services
from anju.access.models import AccessEvent, Controller, Credential, Delivery, DenyEntry, Door, VisitorPass
from anju.access.passes import verify_at_desk
from anju.core.errors import DomainError
from anju.core.models import User
from anju.core.permissions import Perm
from anju.estates.models import Building, Home, Unit
from anju.residents.models import Person
from anju.web.console import render_console, require_permission
from anju.web.decorators import community_view
from anju.web.forms import add_domain_error

LOG_PER_PAGE = 50
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

REASON_LABELS = {
    "ok": gettext_lazy("valid"),
    "malformed": gettext_lazy("not a pass code"),
    "unknown_key": gettext_lazy("signed with an unknown key"),
    "forged": gettext_lazy("forged: the signature does not match"),
    "wrong_community": gettext_lazy("a pass of another community"),
    "not_a_pass": gettext_lazy("a resident's code, not a visitor pass"),
    "unknown_pass": gettext_lazy("no such pass"),
    "awaiting_confirmation": gettext_lazy("waiting for the resident to confirm"),
    "revoked": gettext_lazy("revoked"),
    "not_yet_valid": gettext_lazy("not valid yet"),
    "expired": gettext_lazy("expired"),
    "used_up": gettext_lazy("all its entries are used"),
    "no_right": gettext_lazy("not valid for this door"),
    "outside_window": gettext_lazy("outside its time window"),
    "outside_shift": gettext_lazy("outside the shift"),
    "deny_list": gettext_lazy("on the deny list"),
    "unknown_credential": gettext_lazy("unknown card or code"),
}


def posted_id(request: HttpRequest, name: str) -> int:
    """An object id from a form field; anything but a sensible number is 0, which matches nothing
    (so a mangled form is a 404, not a server error)."""
    value = request.POST.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else 0


def reason_label(code: str) -> str:
    return str(REASON_LABELS.get(code, code))


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# --- Doors --------------------------------------------------------------------------------------------------


class DoorForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Door.Kind.choices)
    building: forms.ModelChoiceField[Building] = forms.ModelChoiceField(
        label=gettext_lazy("Building"), queryset=Building.objects.none(), required=False
    )
    unit: forms.ModelChoiceField[Unit] = forms.ModelChoiceField(
        label=gettext_lazy("Unit"), queryset=Unit.objects.none(), required=False
    )
    floor = forms.IntegerField(label=gettext_lazy("Floor"), required=False, min_value=-10, max_value=200)
    controller: forms.ModelChoiceField[Controller] = forms.ModelChoiceField(
        label=gettext_lazy("Controller"), queryset=Controller.objects.none(), required=False
    )

    def __init__(self, *args: Any, community_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = Building.objects.filter(community_id=community_id)  # type: ignore[attr-defined]
        self.fields["unit"].queryset = Unit.objects.filter(community_id=community_id).select_related("building")  # type: ignore[attr-defined]
        self.fields["controller"].queryset = Controller.objects.filter(  # type: ignore[attr-defined]
            community_id=community_id, retired_at__isnull=True
        )


class ControllerForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    code = forms.SlugField(label=gettext_lazy("Code"), max_length=40)


@community_view(Perm.VIEW_ACCESS)
def doors(request: HttpRequest, community_id: int) -> HttpResponse:
    community = request.community  # type: ignore[attr-defined]
    door_form = DoorForm(community_id=community_id)
    controller_form = ControllerForm()
    new_token = ""
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_ACCESS, community_id)
        action = request.POST.get("action")
        try:
            if action == "controller":
                controller_form = ControllerForm(request.POST)
                if controller_form.is_valid():
                    controller, new_token = services.create_controller(
                        community=community, **controller_form.cleaned_data, actor=_actor(request)
                    )
                    messages.success(request, _("Controller %(name)s registered.") % {"name": controller.name})
                    controller_form = ControllerForm()
            elif action == "rotate_key":
                services.rotate_signing_key(community=community, actor=_actor(request))
                messages.success(request, _("New passes are now signed with a new key; passes already out stay valid."))
                return redirect("console:access_doors", community_id)
            else:
                door_form = DoorForm(request.POST, community_id=community_id)
                if door_form.is_valid():
                    services.create_door(community=community, **door_form.cleaned_data, actor=_actor(request))
                    messages.success(request, _("Door added."))
                    return redirect("console:access_doors", community_id)
        except DomainError as exc:
            add_domain_error(controller_form if action == "controller" else door_form, exc)
    rows = Door.objects.filter(retired_at__isnull=True).select_related("controller", "building", "unit")
    controllers = Controller.objects.filter(retired_at__isnull=True).annotate(door_count=Count("doors"))
    return render_console(
        request,
        "access/doors.html",
        community_id,
        doors=rows,
        controllers=controllers,
        door_form=door_form,
        controller_form=controller_form,
        new_token=new_token,
    )


# --- Credentials per person ---------------------------------------------------------------------------------


class PersonSearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Name, mobile or ID number"), required=False, max_length=100)


class StaffCardForm(forms.Form):
    user = forms.TypedChoiceField(label=gettext_lazy("Staff member"), coerce=int)
    card_number = forms.CharField(label=gettext_lazy("Card number"), max_length=40)

    def __init__(self, *args: Any, staff: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [(u.pk, u.display_name or u.username) for u in staff]  # type: ignore[attr-defined]


@community_view(Perm.VIEW_ACCESS)
def people(request: HttpRequest, community_id: int) -> HttpResponse:
    """People and staff with their credentials; search by name or an exact mobile / ID number."""
    from anju.core.permissions import STAFF_ROLES, staff_with_role
    from anju.residents.views import find_person

    staff = staff_with_role(community_id, *sorted(str(role) for role in STAFF_ROLES))
    staff_form = StaffCardForm(staff=staff)
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_ACCESS, community_id)
        staff_form = StaffCardForm(request.POST, staff=staff)
        if staff_form.is_valid():
            user = next(u for u in staff if u.pk == staff_form.cleaned_data["user"])
            try:
                services.issue_credential(
                    community=request.community,  # type: ignore[attr-defined]
                    kind=Credential.Kind.CARD,
                    user=user,
                    card_number=staff_form.cleaned_data["card_number"],
                    actor=_actor(request),
                )
            except DomainError as exc:
                add_domain_error(staff_form, exc)
            else:
                messages.success(request, _("Credential issued."))
                return redirect("console:access_people", community_id)
    form = PersonSearchForm(request.GET or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    rows = Person.objects.annotate(
        active_credentials=Count("access_credentials", filter=Q(access_credentials__ended_at__isnull=True))
    )
    if query:
        exact = find_person(community_id, query)
        rows = rows.filter(Q(name__icontains=query) | Q(pk=exact.pk if exact else 0))
    else:
        rows = rows.filter(active_credentials__gt=0)
    staff_cards = Credential.objects.filter(user__isnull=False, ended_at__isnull=True).select_related("user")
    return render_console(
        request,
        "access/people.html",
        community_id,
        form=form,
        query=query,
        rows=rows.order_by("name", "pk")[:100],
        staff_cards=staff_cards,
        staff_form=staff_form,
    )


class CredentialForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Credential.Kind.choices)
    card_number = forms.CharField(label=gettext_lazy("Card number"), required=False, max_length=40)
    plate = forms.CharField(label=gettext_lazy("Plate"), required=False, max_length=12)
    face_template_ref = forms.CharField(label=gettext_lazy("Template reference"), required=False, max_length=80)
    valid_until = forms.DateField(label=gettext_lazy("Valid until (optional)"), required=False, widget=DATE_INPUT)


class DenyForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200)
    ends_on = forms.DateField(label=gettext_lazy("Until (optional)"), required=False, widget=DATE_INPUT)


def _end_of_day(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))


@community_view(Perm.VIEW_ACCESS)
def person_credentials(request: HttpRequest, community_id: int, person_id: int) -> HttpResponse:
    person = get_object_or_404(Person, pk=person_id)
    community = request.community  # type: ignore[attr-defined]
    form = CredentialForm()
    deny_form = DenyForm()
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_ACCESS, community_id)
        action = request.POST.get("action")
        try:
            if action == "end":
                credential = get_object_or_404(Credential, pk=posted_id(request, "credential"), person=person)
                services.end_credential(credential, reason="ended_by_staff", actor=_actor(request))
                messages.success(request, _("Credential ended."))
                return redirect("console:access_person", community_id, person.pk)
            if action == "lift":
                _lift_posted_entry(request, DenyEntry.objects.filter(person=person))
                return redirect("console:access_person", community_id, person.pk)
            if action == "deny":
                deny_form = DenyForm(request.POST)
                if deny_form.is_valid():
                    services.add_deny_entry(
                        community=community,
                        person=person,
                        reason=deny_form.cleaned_data["reason"],
                        ends_at=_end_of_day(deny_form.cleaned_data["ends_on"]),
                        actor=_actor(request),
                    )
                    messages.success(request, _("Added to the deny list."))
                    return redirect("console:access_person", community_id, person.pk)
            else:
                form = CredentialForm(request.POST)
                if form.is_valid():
                    data = form.cleaned_data
                    services.issue_credential(
                        community=community,
                        kind=data["kind"],
                        person=person,
                        card_number=data["card_number"],
                        plate=data["plate"],
                        face_template_ref=data["face_template_ref"],
                        valid_until=_end_of_day(data["valid_until"]),
                        actor=_actor(request),
                    )
                    messages.success(request, _("Credential issued."))
                    return redirect("console:access_person", community_id, person.pk)
        except DomainError as exc:
            add_domain_error(deny_form if action == "deny" else form, exc)
    return render_console(
        request,
        "access/person.html",
        community_id,
        person=person,
        credentials=Credential.objects.filter(person=person),
        occupancies=person.occupancies.select_related("home__building", "home__unit").order_by("-starts_on"),
        deny_entries=DenyEntry.objects.filter(person=person, lifted_at__isnull=True),
        form=form,
        deny_form=deny_form,
    )


def _lift_posted_entry(request: HttpRequest, entries: QuerySet[DenyEntry]) -> None:
    """Take the entry named by the form's ``deny_entry`` (one of ``entries``) off the deny list."""
    entry = get_object_or_404(entries, pk=posted_id(request, "deny_entry"))
    services.lift_deny_entry(entry, actor=_actor(request))
    messages.success(request, _("Taken off the deny list."))


@community_view(Perm.VIEW_ACCESS)
def deny_list(request: HttpRequest, community_id: int) -> HttpResponse:
    """Everyone and everything on the community's deny list now (entries that have neither ended nor
    been lifted), newest first; managers take entries off it here. Entries are added on a person's
    page (or through the API), where the reason is written next to who they are."""
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_ACCESS, community_id)
        _lift_posted_entry(request, DenyEntry.objects.all())
        return redirect("console:access_deny_list", community_id)
    now = timezone.now()
    entries = (
        DenyEntry.objects.filter(lifted_at__isnull=True)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .select_related("person", "user", "credential", "created_by")
        .order_by("-created_at")
    )
    return render_console(request, "access/deny_list.html", community_id, entries=entries)


# --- Passes -------------------------------------------------------------------------------------------------


@community_view(Perm.VIEW_ACCESS)
def passes(request: HttpRequest, community_id: int) -> HttpResponse:
    if request.method == "POST":
        require_permission(request, Perm.GUARD_DESK, community_id)
        visitor_pass = get_object_or_404(VisitorPass, pk=posted_id(request, "visitor_pass"))
        services.revoke_visitor_pass(visitor_pass, actor=_actor(request))
        messages.success(request, _("Pass revoked; controllers refuse it from their next sync."))
        return redirect("console:access_passes", community_id)
    since = timezone.now() - dt.timedelta(days=1)
    rows = VisitorPass.objects.filter(valid_until__gt=since).select_related("host_home__building", "host_home__unit")
    return render_console(request, "access/passes.html", community_id, passes=rows[:200], now=timezone.now())


# --- The log ------------------------------------------------------------------------------------------------


class LogForm(forms.Form):
    door: forms.ModelChoiceField[Door] = forms.ModelChoiceField(
        label=gettext_lazy("Door"), queryset=Door.objects.none(), required=False
    )
    person = forms.CharField(label=gettext_lazy("Person (name)"), required=False, max_length=100)
    since = forms.DateField(label=gettext_lazy("From"), required=False, widget=DATE_INPUT)
    until = forms.DateField(label=gettext_lazy("Until"), required=False, widget=DATE_INPUT)
    result = forms.ChoiceField(
        label=gettext_lazy("Result"), required=False, choices=[("", "—"), *AccessEvent.Result.choices]
    )

    def __init__(self, *args: Any, community_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["door"].queryset = Door.objects.filter(community_id=community_id)  # type: ignore[attr-defined]


@community_view(Perm.VIEW_ACCESS_LOG)
def log(request: HttpRequest, community_id: int) -> HttpResponse:
    form = LogForm(request.GET or None, community_id=community_id)
    rows = AccessEvent.objects.select_related("door", "person", "visitor_pass", "user")
    if form.is_valid():
        data = form.cleaned_data
        if data["door"]:
            rows = rows.filter(door=data["door"])
        if data["person"]:
            rows = rows.filter(Q(person__name__icontains=data["person"]) | Q(visitor_pass__visitor_name=data["person"]))
        if data["since"]:
            rows = rows.filter(occurred_at__gte=_end_of_day(data["since"] - dt.timedelta(days=1)))
        if data["until"]:
            rows = rows.filter(occurred_at__lt=_end_of_day(data["until"]))
        if data["result"]:
            rows = rows.filter(result=data["result"])
    page = Paginator(rows, LOG_PER_PAGE).get_page(request.GET.get("page"))
    return render_console(request, "access/log.html", community_id, form=form, page=page)


# --- The guard desk -----------------------------------------------------------------------------------------


class VerifyForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Scan the QR, or type the 8-digit code"),
        max_length=400,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off", "inputmode": "text"}),
    )


class WalkInForm(forms.Form):
    home: forms.ModelChoiceField[Home] = forms.ModelChoiceField(
        label=gettext_lazy("Visiting home"), queryset=Home.objects.none()
    )
    visitor_name = forms.CharField(label=gettext_lazy("Visitor's name"), max_length=60)
    visitor_phone = forms.CharField(label=gettext_lazy("Visitor's mobile (optional)"), required=False, max_length=20)
    plate = forms.CharField(label=gettext_lazy("Plate (optional)"), required=False, max_length=12)

    def __init__(self, *args: Any, community_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["home"].queryset = Home.objects.filter(  # type: ignore[attr-defined]
            community_id=community_id
        ).select_related("building", "unit")


class DeliveryForm(forms.Form):
    home: forms.ModelChoiceField[Home] = forms.ModelChoiceField(
        label=gettext_lazy("For home"), queryset=Home.objects.none()
    )
    carrier = forms.CharField(label=gettext_lazy("Carrier"), max_length=60)

    def __init__(self, *args: Any, community_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["home"].queryset = Home.objects.filter(  # type: ignore[attr-defined]
            community_id=community_id
        ).select_related("building", "unit")


@community_view(Perm.GUARD_DESK)
def guard_desk(request: HttpRequest, community_id: int) -> HttpResponse:
    """Verify a pass (camera scan fills the field where the browser can; typing always works),
    admit its holder, register a walk-in or a delivery."""
    community = request.community  # type: ignore[attr-defined]
    verify_form = VerifyForm(request.GET if "text" in request.GET else None)
    walk_in_form = WalkInForm(community_id=community_id)
    delivery_form = DeliveryForm(community_id=community_id)
    verdict = None
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "admit":
                visitor_pass = get_object_or_404(VisitorPass, pk=posted_id(request, "visitor_pass"))
                services.admit_at_desk(visitor_pass, actor=_actor(request))
                messages.success(request, _("Entry recorded for %(name)s.") % {"name": visitor_pass})
                return redirect("console:access_guard", community_id)
            if action == "walk_in":
                walk_in_form = WalkInForm(request.POST, community_id=community_id)
                if walk_in_form.is_valid():
                    services.register_walk_in(community=community, **walk_in_form.cleaned_data, actor=_actor(request))
                    messages.success(request, _("The household has been asked to confirm."))
                    return redirect("console:access_guard", community_id)
            elif action == "delivery":
                delivery_form = DeliveryForm(request.POST, community_id=community_id)
                if delivery_form.is_valid():
                    services.register_delivery(community=community, **delivery_form.cleaned_data, actor=_actor(request))
                    messages.success(request, _("The household has been told about the parcel."))
                    return redirect("console:access_guard", community_id)
            elif action == "collect":
                delivery = get_object_or_404(Delivery, pk=posted_id(request, "delivery"))
                services.collect_delivery(delivery, actor=_actor(request))
                return redirect("console:access_guard", community_id)
        except DomainError as exc:
            target = delivery_form if action == "delivery" else walk_in_form
            if action in ("admit", "collect"):
                messages.error(request, str(exc.message))
                return redirect("console:access_guard", community_id)
            add_domain_error(target, exc)
    if verify_form.is_bound and verify_form.is_valid():
        verdict = verify_at_desk(community_id, verify_form.cleaned_data["text"])
    pending = VisitorPass.objects.filter(
        kind=VisitorPass.Kind.WALK_IN,
        valid_until__gt=timezone.now(),
        created_at__gte=timezone.now() - dt.timedelta(hours=4),
    ).select_related("host_home__building", "host_home__unit")
    deliveries = Delivery.objects.exclude(status=Delivery.Status.COLLECTED).select_related(
        "home__building", "home__unit"
    )
    return render_console(
        request,
        "access/guard.html",
        community_id,
        verify_form=verify_form,
        verdict=verdict,
        verdict_label=reason_label(verdict.reason) if verdict else "",
        walk_in_form=walk_in_form,
        delivery_form=delivery_form,
        walk_ins=pending[:20],
        deliveries=deliveries[:30],
    )
