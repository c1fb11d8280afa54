"""Console pages that are not about one app's data: the community switcher and the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from anju.core.models import AuditEntry
from anju.core.permissions import Perm
from anju.core.tenancy import community_scope
from anju.estates.models import Community, Home, ServiceContract
from anju.web.console import render_console
from anju.web.decorators import community_view, request_access

AUDIT_PER_PAGE = 50


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Every community this user may open, with who manages it and how big it is. Someone with one
    community goes straight to it; someone with none (a resident) has no business in the console."""
    community_ids = request_access(request).community_ids()
    if not community_ids:
        raise DjangoPermissionDenied
    if len(community_ids) == 1:
        return redirect("console:dashboard", community_id=community_ids[0])
    today = timezone.localdate()
    managers = {
        contract.community_id: contract.company
        for contract in ServiceContract.objects.filter(community_id__in=community_ids, starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gt=today))
        .select_related("company")
    }
    with community_scope(community_ids):
        home_counts = dict(Home.objects.values_list("community_id").annotate(n=Count("pk")).order_by())
    rows = [
        (community, managers.get(community.pk), home_counts.get(community.pk, 0))
        for community in Community.objects.filter(pk__in=community_ids).select_related("district").order_by("name")
    ]
    return render(request, "core/console_index.html", {"rows": rows})


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=pgettext_lazy("audit log", "Action"), required=False)
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args: Any, actions: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("All")), *((a, a) for a in actions)]  # type: ignore[attr-defined]


def readable_diff(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for every field the entry mentions, so a reader sees what changed
    without parsing JSON. A creation has only "after"; a removal only "before". Fields empty on
    both sides say nothing and are left out."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    keys = list(dict.fromkeys([*before, *after]))
    empty = (None, "")
    return [
        (key, before.get(key), after.get(key))
        for key in keys
        if not (before.get(key) in empty and after.get(key) in empty)
    ]


@community_view(Perm.VIEW_AUDIT)
def audit_log(request: HttpRequest, community_id: int) -> HttpResponse:
    """The community's audit trail, newest first. Dates are days in the site's time zone."""
    entries = AuditEntry.objects.filter(community_id=community_id)
    actions = list(entries.order_by("action").values_list("action", flat=True).distinct())
    form = AuditFilterForm(request.GET or None, actions=actions)
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["date_from"]:
            entries = entries.filter(at__gte=_start_of(data["date_from"]))
        if data["date_to"]:
            entries = entries.filter(at__lt=_start_of(data["date_to"] + dt.timedelta(days=1)))
    page = Paginator(entries.order_by("-at", "-id"), AUDIT_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(entry, readable_diff(entry)) for entry in page]
    return render_console(request, "core/audit.html", community_id, form=form, page=page, rows=rows)


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the current time zone (Asia/Shanghai by default)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
