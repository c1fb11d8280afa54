"""Console pages about people: a home's household, the people register, revealing personal data,
stewards and building leaders.

``@community_view`` has already refused other tenants (404) and roles lacking the page's permission
(403) and opened the community scope. Pages that show more than one form tell them apart by the
``action`` field of the POST; writes that need a stronger permission than the page check it again.
Every write is a call into :mod:`anju.residents.services`; a refusal comes back as a
:class:`~anju.core.errors.DomainError` and is shown on the form that caused it.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from anju.core.errors import DomainError
from anju.core.models import Membership, Role, User
from anju.core.permissions import Perm, access_for
from anju.core.personal_data import reveal
from anju.core.validators import normalize_phone
from anju.estates.models import Building, Home
from anju.residents import services
from anju.residents.models import BuildingLeader, Consent, Occupancy, Person, StewardAssignment, Vehicle
from anju.web.console import current_community, permission_flags, render_console, require_permission
from anju.web.decorators import community_view
from anju.web.forms import add_domain_error

PEOPLE_PER_PAGE = 50
STEWARD_TARGET = 50
# A native date picker; it submits ISO dates whatever the language, so parse and render them as ISO.
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_PHONE_LIKE = re.compile(r"^1\d{10}$")
_ID_LIKE = re.compile(r"^(\d{15}|\d{17}[\dX])$")


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def find_person(community_id: int, text: str) -> Person | None:
    """An exact mobile or ID number, looked up through the blind index (never compared in clear)."""
    text = text.strip().upper()
    if _PHONE_LIKE.match(normalize_phone(text)):
        return services.find_person_by_phone(community_id, text)
    if _ID_LIKE.match(text.replace(" ", "")):
        return services.find_person_by_id_number(community_id, text.replace(" ", ""))
    return None


def _lookup_person(community_id: int, text: str, field: str) -> Person:
    person = find_person(community_id, text)
    if person is None:
        raise DomainError(_("No one with this mobile or ID number is recorded in this community."), field=field)
    return person


# --- A home and its household ----------------------------------------------------------------------


class AddOccupancyForm(forms.Form):
    existing = forms.CharField(
        label=gettext_lazy("Someone already recorded: their mobile or ID number"), required=False, max_length=30
    )
    name = forms.CharField(label=gettext_lazy("Or a new person: name"), required=False, max_length=100)
    phone = forms.CharField(label=gettext_lazy("Mobile"), required=False, max_length=20)
    id_number = forms.CharField(label=gettext_lazy("ID number"), required=False, max_length=24)
    role = forms.ChoiceField(label=gettext_lazy("Relation to the home"), choices=Occupancy.Role.choices)
    share_percent = forms.CharField(
        label=gettext_lazy("Ownership share (%)"),
        required=False,
        max_length=8,
        help_text=gettext_lazy("Only for co-owners."),
    )
    relation = forms.CharField(label=gettext_lazy("Relation to the owner"), required=False, max_length=30)
    starts_on = forms.DateField(label=gettext_lazy("From"), initial=timezone.localdate, widget=DATE_INPUT)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("existing") and not data.get("name"):
            raise forms.ValidationError(_("Give the mobile or ID number of someone already recorded, or a new name."))
        return data


class EndOccupancyForm(forms.Form):
    occupancy = forms.IntegerField(widget=forms.HiddenInput)
    ends_on = forms.DateField(label=gettext_lazy("Until"), initial=timezone.localdate, widget=DATE_INPUT)


@community_view(Perm.VIEW_REGISTER)
def home_detail(request: HttpRequest, community_id: int, home_id: int) -> HttpResponse:
    """A home with its register data; its household and the forms only for those who may see people."""
    home = get_object_or_404(Home.objects.with_location(), pk=home_id)
    can = permission_flags(request, community_id)
    add_form = AddOccupancyForm(prefix="add")
    end_form = EndOccupancyForm(prefix="end")
    if request.method == "POST":
        require_permission(request, Perm.EDIT_PEOPLE, community_id)
        action = request.POST.get("action")
        if action == "add_occupancy":
            add_form = AddOccupancyForm(request.POST, prefix="add")
            if add_form.is_valid() and _add_occupancy(request, home, add_form):
                return redirect("console:home", community_id=community_id, home_id=home.pk)
        elif action == "end_occupancy":
            end_form = EndOccupancyForm(request.POST, prefix="end")
            if end_form.is_valid():
                occupancy = get_object_or_404(Occupancy, pk=end_form.cleaned_data["occupancy"], home=home)
                try:
                    services.end_occupancy(occupancy, ends_on=end_form.cleaned_data["ends_on"], actor=_actor(request))
                except DomainError as exc:
                    add_domain_error(end_form, exc)
                else:
                    messages.success(request, _("The record has ended; it stays in the history."))
                    return redirect("console:home", community_id=community_id, home_id=home.pk)
    context: dict[str, Any] = {"home": home, "can": can, "add_form": add_form, "end_form": end_form}
    steward = StewardAssignment.objects.filter(home=home, ends_on__isnull=True).select_related("steward").first()
    context["steward"] = steward.steward if steward else None
    if can[Perm.VIEW_PEOPLE]:
        occupancies = list(home.occupancies.select_related("person").order_by("ends_on", "-starts_on", "pk"))
        context["current"] = [o for o in occupancies if o.is_current]
        context["history"] = [o for o in occupancies if not o.is_current]
        household = {o.person_id for o in context["current"]}
        context["vehicles"] = Vehicle.objects.filter(person_id__in=household, removed_on__isnull=True).select_related(
            "person"
        )
    return render_console(request, "residents/home_detail.html", community_id, **context)


def _add_occupancy(request: HttpRequest, home: Home, form: AddOccupancyForm) -> bool:
    """One transaction for "create the person, then record the relation": a refusal of the second
    step must not leave a half-recorded person behind."""
    data = form.cleaned_data
    try:
        with transaction.atomic():
            if data["existing"]:
                person = _lookup_person(home.community_id, data["existing"], "existing")
            else:
                person = services.create_person(
                    community=current_community(request),
                    name=data["name"],
                    phone=data["phone"],
                    id_number=data["id_number"],
                    actor=_actor(request),
                )
            services.add_occupancy(
                home=home,
                person=person,
                role=data["role"],
                starts_on=data["starts_on"],
                share_percent=data["share_percent"] or None,
                relation=data["relation"],
                actor=_actor(request),
            )
    except DomainError as exc:
        add_domain_error(form, exc)
        return False
    messages.success(request, _("%(name)s is now recorded for this home.") % {"name": person.name})
    return True


# --- People ----------------------------------------------------------------------------------------


class PeopleSearchForm(forms.Form):
    q = forms.CharField(label=gettext_lazy("Name, or a full mobile or ID number"), required=False, max_length=100)


def search_people(community_id: int, query: str) -> Any:
    """A full mobile or ID number is matched exactly through the blind index; anything else is a
    name fragment."""
    query = query.strip()
    if not query:
        return Person.objects.all()
    compact = query.replace(" ", "").upper()
    if _PHONE_LIKE.match(normalize_phone(query)) or _ID_LIKE.match(compact):
        person = find_person(community_id, query)
        return Person.objects.filter(pk=person.pk) if person else Person.objects.none()
    return Person.objects.filter(name__icontains=query)


@community_view(Perm.VIEW_PEOPLE)
def people(request: HttpRequest, community_id: int) -> HttpResponse:
    form = PeopleSearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    page = Paginator(search_people(community_id, query).order_by("name", "pk"), PEOPLE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    homes: dict[int, list[str]] = {}
    current = (
        Occupancy.objects.current()
        .filter(person_id__in=[p.pk for p in page])
        .select_related("home__building", "home__unit")
        .order_by("pk")
    )
    for occupancy in current:
        homes.setdefault(occupancy.person_id, []).append(f"{occupancy.home.label} · {occupancy.get_role_display()}")
    rows = [(person, homes.get(person.pk, [])) for person in page]
    return render_console(request, "residents/people.html", community_id, form=form, page=page, rows=rows, query=query)


class PersonForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    phone = forms.CharField(
        label=gettext_lazy("New mobile"),
        required=False,
        max_length=20,
        help_text=gettext_lazy("Leave empty to keep the current number."),
    )
    id_number = forms.CharField(
        label=gettext_lazy("New ID number"),
        required=False,
        max_length=24,
        help_text=gettext_lazy("Leave empty to keep the current number."),
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=200)


class VehicleForm(forms.Form):
    plate = forms.CharField(label=gettext_lazy("Plate"), max_length=12)
    description = forms.CharField(label=gettext_lazy("Description (make, colour)"), required=False, max_length=60)


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=gettext_lazy("Purpose"), choices=Consent.Purpose.choices)
    text_version = forms.CharField(label=gettext_lazy("Version of the text agreed to"), max_length=20, initial="1")


PERSON_FORMS: dict[str, type[forms.Form]] = {"update": PersonForm, "vehicle": VehicleForm, "consent": ConsentForm}


def _person_action(request: HttpRequest, person: Person, action: str, form: forms.Form | None) -> None:
    """Carry out one POSTed action on ``person`` through its service; a refusal propagates."""
    actor = _actor(request)
    data = form.cleaned_data if form is not None else {}
    if action == "update":
        changes = {"name": data["name"], "note": data["note"]}
        changes.update({key: data[key] for key in ("phone", "id_number") if data[key]})
        services.update_person(person, actor=actor, **changes)
    elif action == "vehicle":
        services.register_vehicle(person=person, plate=data["plate"], description=data["description"], actor=actor)
    elif action == "consent":
        services.grant_consent(person=person, purpose=data["purpose"], text_version=data["text_version"], actor=actor)
    elif action == "remove_vehicle":
        vehicle = get_object_or_404(Vehicle, pk=request.POST.get("vehicle"), person=person, removed_on__isnull=True)
        services.remove_vehicle(vehicle, actor=actor)
    elif action == "withdraw_consent":
        consent = get_object_or_404(Consent, pk=request.POST.get("consent"), person=person)
        services.withdraw_consent(consent, actor=actor)
    else:
        raise DomainError(_("Unknown action."))


@community_view(Perm.VIEW_PEOPLE)
def person_detail(request: HttpRequest, community_id: int, person_id: int) -> HttpResponse:
    person = get_object_or_404(Person, pk=person_id)
    forms_by_action: dict[str, forms.Form] = {
        "update": PersonForm(initial={"name": person.name, "note": person.note}, prefix="update"),
        "vehicle": VehicleForm(prefix="vehicle"),
        "consent": ConsentForm(prefix="consent"),
    }
    if request.method == "POST":
        require_permission(request, Perm.EDIT_PEOPLE, community_id)
        action = request.POST.get("action", "")
        form = None
        if action in PERSON_FORMS:
            form = forms_by_action[action] = PERSON_FORMS[action](request.POST, prefix=action)
        if form is None or form.is_valid():
            try:
                _person_action(request, person, action, form)
            except DomainError as exc:
                person.refresh_from_db()  # the service may have changed it in memory before refusing
                if form is not None:
                    add_domain_error(form, exc)
                else:
                    messages.error(request, str(exc.message))
            else:
                messages.success(request, _("Saved."))
                return redirect("console:person", community_id=community_id, person_id=person.pk)
    occupancies = person.occupancies.select_related("home__building", "home__unit").order_by("ends_on", "-starts_on")
    return render_console(
        request,
        "residents/person_detail.html",
        community_id,
        person=person,
        occupancies=occupancies,
        vehicles=person.vehicles.order_by("removed_on", "plate"),
        consents=person.consents.order_by("-granted_at"),
        forms=forms_by_action,
    )


@never_cache
@require_POST
@community_view(Perm.REVEAL_PERSONAL_DATA)
def person_reveal(request: HttpRequest, community_id: int, person_id: int) -> HttpResponse:
    """Show one person's full mobile or ID number once, leaving an audit row (who, when, which)."""
    person = get_object_or_404(Person, pk=person_id)
    field = request.POST.get("field")
    if field not in ("phone", "id_number"):
        return HttpResponse(_("Choose the mobile or the ID number."), status=400)
    value = reveal(person, field, actor=_actor(request), reason=request.POST.get("reason", ""))  # type: ignore[arg-type]
    template = "residents/_revealed.html" if getattr(request, "htmx", False) else "residents/revealed.html"
    return render_console(request, template, community_id, person=person, field=field, value=value)


# --- Stewards and building leaders -----------------------------------------------------------------


def community_stewards(community_id: int) -> list[User]:
    """Users who are stewards of this community today. The membership query narrows the candidates;
    :func:`access_for` (the one place that decides reach) confirms each."""
    today = timezone.localdate()
    memberships = (
        Membership.objects.filter(role=Role.STEWARD, starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .filter(organization__contracts__community_id=community_id)
        .filter(Q(communities__isnull=True) | Q(communities=community_id))
    )
    candidates = User.objects.filter(pk__in=memberships.values("user_id"), is_active=True).order_by("username")
    return [user for user in candidates if access_for(user).has_role(Role.STEWARD, community_id)]


class AssignForm(forms.Form):
    steward = forms.ModelChoiceField(label=gettext_lazy("Steward"), queryset=User.objects.none())
    building: forms.ModelChoiceField[Building] = forms.ModelChoiceField(
        label=gettext_lazy("Building"), queryset=Building.objects.none()
    )
    home_numbers = forms.CharField(
        label=gettext_lazy("Only these home numbers"),
        required=False,
        max_length=2000,
        help_text=gettext_lazy("Separate with commas; leave empty for the whole building."),
    )


class BalanceForm(forms.Form):
    stewards = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Stewards to share the homes"),
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    target = forms.IntegerField(label=gettext_lazy("Homes per steward (about)"), min_value=10, max_value=500)


class LeaderForm(forms.Form):
    building: forms.ModelChoiceField[Building] = forms.ModelChoiceField(
        label=gettext_lazy("Building"), queryset=Building.objects.none()
    )
    person = forms.CharField(label=gettext_lazy("The leader's mobile or ID number"), max_length=30)


FORM_FOR_STEWARD_ACTION = {
    "assign": "assign",
    "preview_balance": "balance",
    "apply_balance": "balance",
    "set_leader": "leader",
}


def _steward_forms(stewards: list[User], data: Any = None) -> dict[str, forms.Form]:
    steward_qs = User.objects.filter(pk__in=[s.pk for s in stewards]).order_by("username")
    buildings = Building.objects.order_by("sort_key", "number")
    bound = FORM_FOR_STEWARD_ACTION.get(data.get("action", "")) if data is not None else None
    assign = AssignForm(data if bound == "assign" else None, prefix="assign")
    balance = BalanceForm(
        data if bound == "balance" else None,
        prefix="balance",
        initial={"stewards": [s.pk for s in stewards], "target": STEWARD_TARGET},
    )
    leader = LeaderForm(data if bound == "leader" else None, prefix="leader")
    assign.fields["steward"].queryset = steward_qs  # type: ignore[attr-defined]
    assign.fields["building"].queryset = buildings  # type: ignore[attr-defined]
    balance.fields["stewards"].queryset = steward_qs  # type: ignore[attr-defined]
    leader.fields["building"].queryset = buildings  # type: ignore[attr-defined]
    return {"assign": assign, "balance": balance, "leader": leader}


def preview_balance(community_id: int, stewards: list[User], target: int) -> list[tuple[User, int]]:
    """What :func:`services.auto_balance_stewards` would do, computed with its own planning
    functions but without writing anything."""
    blocks = services.steward_blocks(community_id, target)
    plan = services.plan_steward_balance([(key, len(pks)) for key, pks in blocks], len(stewards))
    counts = [0] * len(stewards)
    for (_key, pks), index in zip(blocks, plan, strict=True):
        counts[index] += len(pks)
    return list(zip(stewards, counts, strict=True))


def _assign(request: HttpRequest, form: forms.Form) -> int:
    data = form.cleaned_data
    homes = Home.objects.filter(building=data["building"])
    numbers = [n.strip() for n in re.split(r"[,，、\s]+", data["home_numbers"]) if n.strip()]
    if numbers:
        homes = homes.filter(number__in=numbers)
        missing = sorted(set(numbers) - set(homes.values_list("number", flat=True)))
        if missing:
            raise DomainError(
                _("These homes are not in that building: %(numbers)s") % {"numbers": ", ".join(missing)},
                field="home_numbers",
            )
    return services.assign_steward(homes=list(homes), steward=data["steward"], actor=_actor(request))


@community_view(Perm.ASSIGN_STEWARDS)
def stewards(request: HttpRequest, community_id: int) -> HttpResponse:
    steward_users = community_stewards(community_id)
    step_forms = _steward_forms(steward_users, request.POST if request.method == "POST" else None)
    preview: list[tuple[User, int]] | None = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        form_name = FORM_FOR_STEWARD_ACTION.get(action)
        form = step_forms[form_name] if form_name else None
        if form is None:
            messages.error(request, _("Unknown action."))
        elif form.is_valid():
            data = form.cleaned_data
            try:
                if action == "assign":
                    changed = _assign(request, form)
                    messages.success(
                        request,
                        ngettext("%(count)s home changed steward.", "%(count)s homes changed steward.", changed)
                        % {"count": changed},
                    )
                elif action == "preview_balance":
                    preview = preview_balance(community_id, list(data["stewards"]), data["target"])
                elif action == "apply_balance":
                    services.auto_balance_stewards(
                        community=current_community(request),
                        stewards=list(data["stewards"]),
                        target=data["target"],
                        actor=_actor(request),
                    )
                    messages.success(request, _("Homes have been shared among the stewards."))
                else:
                    person = _lookup_person(community_id, data["person"], "person")
                    services.set_building_leader(building=data["building"], person=person, actor=_actor(request))
                    messages.success(request, _("%(name)s now leads the building.") % {"name": person.name})
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                if preview is None:
                    return redirect("console:stewards", community_id=community_id)
    counts = dict(
        StewardAssignment.objects.filter(ends_on__isnull=True)
        .values_list("steward_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    known = {user.pk for user in steward_users}
    former = list(User.objects.filter(pk__in=set(counts) - known).order_by("username"))
    rows = [(user, counts.get(user.pk, 0), True) for user in steward_users] + [
        (user, counts[user.pk], False) for user in former
    ]
    leaders = {
        leader.building_id: leader
        for leader in BuildingLeader.objects.filter(ends_on__isnull=True).select_related("person")
    }
    buildings = [(b, leaders.get(b.pk)) for b in Building.objects.order_by("sort_key", "number")]
    unassigned = Home.objects.exclude(
        pk__in=StewardAssignment.objects.filter(ends_on__isnull=True).values("home_id")
    ).count()
    return render_console(
        request,
        "residents/stewards.html",
        community_id,
        rows=rows,
        buildings=buildings,
        unassigned=unassigned,
        preview=preview,
        forms=step_forms,
    )
