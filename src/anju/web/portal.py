"""The resident portal: my homes, one home's household, my profile. Mobile-first and JavaScript-free.

Everything here runs inside ``@resident_view``'s scope (the communities the user lives in now) and
is further narrowed to homes the user currently occupies: a home they moved out of, or any other id,
is a 404 like a home that does not exist.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from anju.residents.models import Occupancy
from anju.web.auth_forms import ChangePasswordForm
from anju.web.decorators import resident_view

# Household members are listed owners first, then co-owners, tenants and family.
_ROLE_ORDER = {role: position for position, role in enumerate(Occupancy.Role.values)}


def _my_current_occupancies(request: HttpRequest) -> QuerySet[Occupancy]:
    return (
        Occupancy.objects.current()
        .filter(person__user=request.user)
        .select_related("community", "home__building", "home__unit")
    )


@resident_view
def my_homes(request: HttpRequest) -> HttpResponse:
    occupancies = sorted(
        _my_current_occupancies(request),
        key=lambda o: (o.community.name, o.home.label, _ROLE_ORDER.get(o.role, 99)),
    )
    return render(request, "web/portal/home.html", {"occupancies": occupancies})


@resident_view
def home_detail(request: HttpRequest, home_id: int) -> HttpResponse:
    mine = list(_my_current_occupancies(request).filter(home_id=home_id))
    if not mine:
        raise Http404
    home = mine[0].home
    household = sorted(
        Occupancy.objects.current().filter(home_id=home.pk).select_related("person"),
        key=lambda o: (_ROLE_ORDER.get(o.role, 99), o.starts_on, o.person.name),
    )
    return render(
        request,
        "web/portal/home_detail.html",
        {
            "home": home,
            "community": mine[0].community,
            "my_roles": sorted({o.get_role_display() for o in mine}),
            "my_person_ids": {o.person_id for o in mine},
            "household": household,
        },
    )


@resident_view
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    form = ChangePasswordForm(request.user, request.POST or None)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid() and form.save() is not None:
        update_session_auth_hash(request, request.user)  # type: ignore[arg-type]
        messages.success(request, _("Your password has been changed."))
        return redirect("portal:profile")
    return render(request, "web/portal/profile.html", {"form": form})
