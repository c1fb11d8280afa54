"""Alarm pages: the live list, one alarm with its timeline and actions, rule editing, camera precision;
and the residents' list of outages that concern them.

Views read and call :mod:`.services`; the live list re-renders its table every few seconds through
htmx when JavaScript runs, and is an ordinary filterable page when it does not.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.core.errors import DomainError
from anju.core.models import User
from anju.core.permissions import Perm, staff_with_role
from anju.devices.alarms import services
from anju.devices.alarms.catalogue import RULE_LABELS, TEMPLATES, alarm_type, editable_params
from anju.devices.alarms.models import OPEN_STATES, Alarm, AlarmState, Outcome, Review, Rule, Severity
from anju.devices.alarms.rulebook import rules_for_device
from anju.devices.models import Device
from anju.web.console import current_community, render_console, require_permission
from anju.web.decorators import community_view, resident_view
from anju.web.forms import add_domain_error

ALARMS_PER_PAGE = 50
POLL_SECONDS = 5


# --- The live list ---------------------------------------------------------------------------------


class AlarmFilterForm(forms.Form):
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False)
    severity = forms.ChoiceField(label=gettext_lazy("Severity"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [  # type: ignore[attr-defined]
            ("", _("Open (not cleared or resolved)")),
            ("all", _("All")),
            *AlarmState.choices,
        ]
        self.fields["severity"].choices = [("", _("All")), *Severity.choices]  # type: ignore[attr-defined]


def filter_alarms(data: dict[str, Any]) -> Any:
    alarms = Alarm.objects.select_related("device", "assigned_to", "device__building")
    state = data.get("state") or ""
    if state == "":
        alarms = alarms.filter(state__in=OPEN_STATES)
    elif state != "all":
        alarms = alarms.filter(state=state)
    if data.get("severity"):
        alarms = alarms.filter(severity=data["severity"])
    return alarms.order_by("-raised_at", "-pk")


@community_view(Perm.VIEW_DEVICES)
def alarm_list(request: HttpRequest, community_id: int) -> HttpResponse:
    """Open alarms first by default, newest first; the table polls itself every few seconds."""
    form = AlarmFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    page = Paginator(filter_alarms(data), ALARMS_PER_PAGE).get_page(request.GET.get("page"))
    counts = dict(Alarm.objects.open().values_list("severity").annotate(n=Count("pk")).order_by())
    context = {
        "form": form,
        "page": page,
        "counts": [(value, label, counts.get(value, 0)) for value, label in Severity.choices],
        "poll_seconds": POLL_SECONDS,
        "query": request.GET.urlencode(),
    }
    if getattr(request, "htmx", False):
        return render_console(request, "alarms/_alarm_table.html", community_id, **context)
    return render_console(request, "alarms/alarm_list.html", community_id, **context)


# --- One alarm -----------------------------------------------------------------------------------------


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[(value, label) for value, label in Outcome.choices if value],
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=200)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=gettext_lazy("Assign to"), queryset=User.objects.none())

    def __init__(self, *args: Any, community_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from anju.core.models import Role

        handlers = staff_with_role(community_id, Role.TECHNICIAN, Role.GUARD, Role.MANAGER, Role.COMPANY_ADMIN)
        self.fields["assignee"].queryset = User.objects.filter(pk__in=[u.pk for u in handlers]).order_by(  # type: ignore[attr-defined]
            "username"
        )


ACTIONS = ("acknowledge", "start", "assign", "resolve", "confirm", "false_alarm")


@community_view(Perm.VIEW_DEVICES)
def alarm_detail(request: HttpRequest, community_id: int, alarm_id: int) -> HttpResponse:
    alarm: Alarm = get_object_or_404(
        Alarm.objects.select_related("device", "assigned_to", "acknowledged_by"), pk=alarm_id
    )
    resolve_form = ResolveForm(request.POST if request.POST.get("action") == "resolve" else None)
    assign_form = AssignForm(
        request.POST if request.POST.get("action") == "assign" else None, community_id=community_id
    )
    if request.method == "POST":
        require_permission(request, Perm.HANDLE_ALARMS, community_id)
        action = request.POST.get("action", "")
        actor: User = request.user  # type: ignore[assignment]
        try:
            if action == "acknowledge":
                services.acknowledge_alarm(alarm, actor=actor)
            elif action == "start":
                services.start_alarm_work(alarm, actor=actor)
            elif action == "assign":
                if not assign_form.is_valid():
                    raise DomainError(_("Choose who takes the alarm."), field="assignee")
                services.assign_alarm(alarm, assignee=assign_form.cleaned_data["assignee"], actor=actor)
            elif action == "resolve":
                if not resolve_form.is_valid():
                    raise DomainError(_("Choose an outcome."), field="outcome")
                data = resolve_form.cleaned_data
                services.resolve_alarm(alarm, outcome=data["outcome"], note=data["note"], actor=actor)
            elif action == "confirm":
                services.review_alarm(alarm, genuine=True, actor=actor)
            elif action == "false_alarm":
                services.review_alarm(alarm, genuine=False, note=request.POST.get("note", "")[:200], actor=actor)
            else:
                raise DomainError(_("Unknown action."))
        except DomainError as exc:
            form = assign_form if action == "assign" else resolve_form
            if form.is_bound:
                add_domain_error(form, exc)
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Done."))
            return redirect("console:alarms_detail", community_id=community_id, alarm_id=alarm.pk)
    return render_console(
        request,
        "alarms/alarm_detail.html",
        community_id,
        alarm=alarm,
        kind=alarm_type(alarm.alarm_type),
        events=alarm.events.select_related("actor").order_by("at", "pk"),
        resolve_form=resolve_form,
        assign_form=assign_form,
        awaiting_review=alarm.review == Review.PENDING,
    )


# --- Rules ---------------------------------------------------------------------------------------------


def _rule_rows(community_id: int, device_kind: str, device: Device | None = None) -> list[dict[str, Any]]:
    community = current_community_for(community_id)
    rows = []
    specs = rules_for_device(community_id, device_kind, device.pk if device else None).specs
    for spec in specs:
        current, source = services.current_rule(community, device_kind, spec.key, device)
        rows.append(
            {
                "key": spec.key,
                "label": RULE_LABELS.get(spec.key, spec.key),
                "spec": current,
                "source": source,
                "params": [(param, current.params.get(param.name)) for param in editable_params(spec.key, spec.kind)],
            }
        )
    return rows


def current_community_for(community_id: int) -> Any:
    from anju.estates.models import Community

    return Community.objects.get(pk=community_id)


SOURCE_LABELS = {
    "builtin": gettext_lazy("built-in"),
    "template": gettext_lazy("community template"),
    "device": gettext_lazy("this device"),
}


@community_view(Perm.VIEW_DEVICES)
def rule_templates(request: HttpRequest, community_id: int) -> HttpResponse:
    """Every device kind's rules as they apply in this community, and where each comes from."""
    kinds_here = set(Device.objects.values_list("kind", flat=True))
    kinds = sorted(TEMPLATES, key=lambda kind: (kind not in kinds_here, kind))
    sections = [(kind, kind in kinds_here, _rule_rows(community_id, kind)) for kind in kinds]
    return render_console(
        request, "alarms/rule_templates.html", community_id, sections=sections, source_labels=SOURCE_LABELS
    )


def rule_form_class(params: list[Any]) -> type[forms.Form]:
    fields: dict[str, forms.Field] = {
        "enabled": forms.BooleanField(label=gettext_lazy("Enabled"), required=False),
        "severity": forms.ChoiceField(label=gettext_lazy("Severity"), choices=Severity.choices),
    }
    for param, _value in params:
        fields[param.name] = forms.FloatField(
            label=param.label,
            required=False,
            min_value=param.minimum,
            max_value=param.maximum,
            help_text=param.help,
        )
    fields["note"] = forms.CharField(label=gettext_lazy("Reason for the change"), max_length=200, required=False)
    return type("RuleForm", (forms.Form,), fields)


def _edit_rule(
    request: HttpRequest, community_id: int, device_kind: str, key: str, device: Device | None, back: str
) -> HttpResponse:
    rows = {row["key"]: row for row in _rule_rows(community_id, device_kind, device)}
    row = rows.get(key)
    if row is None:
        raise Http404
    form_class = rule_form_class(row["params"])
    initial = {"enabled": row["spec"].enabled, "severity": row["spec"].severity}
    initial.update({param.name: value for param, value in row["params"]})
    can_edit = request.access.has(Perm.MANAGE_DEVICES, community_id)  # type: ignore[attr-defined]
    form = form_class(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_DEVICES, community_id)
        if request.POST.get("action") == "remove_override" and device is not None:
            try:
                services.remove_override(device=device, key=key, actor=request.user)  # type: ignore[arg-type]
            except DomainError as exc:
                messages.error(request, str(exc.message))
            else:
                messages.success(request, _("The device follows the community template again."))
                return redirect(back)
        elif form.is_valid():
            data = form.cleaned_data
            try:
                services.save_rule(
                    community=current_community(request),
                    device_kind=device_kind,
                    key=key,
                    device=device,
                    severity=data["severity"],
                    enabled=data["enabled"],
                    params={param.name: data.get(param.name) for param, _value in row["params"]},
                    note=data.get("note") or "",
                    actor=request.user,  # type: ignore[arg-type]
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Saved as a new version; alarms from now on use it."))
                return redirect(back)
    history = Rule.objects.filter(key=key).select_related("created_by")
    history = history.filter(device=device) if device else history.filter(device__isnull=True, device_kind=device_kind)
    return render_console(
        request,
        "alarms/rule_edit.html",
        community_id,
        form=form,
        row=row,
        device=device,
        device_kind=device_kind,
        history=history.order_by("-version"),
        can_edit=can_edit,
        back=back,
        source_labels=SOURCE_LABELS,
    )


@community_view(Perm.VIEW_DEVICES)
def rule_template_edit(request: HttpRequest, community_id: int) -> HttpResponse:
    """One template rule of one device kind (``?kind=lift&key=entrapment``)."""
    device_kind = request.GET.get("kind", "")
    key = request.GET.get("key", "")
    back = reverse("console:alarms_rules", args=[community_id])
    if not device_kind and not key and request.method == "GET":
        return redirect(back)  # nothing chosen: the list to choose from
    if device_kind not in TEMPLATES:
        raise Http404
    return _edit_rule(request, community_id, device_kind, key, None, back)


@community_view(Perm.VIEW_DEVICES)
def device_rules(request: HttpRequest, community_id: int, device_id: int) -> HttpResponse:
    """A device's effective rules; with ``?key=`` the form overriding one of them for this device."""
    device = get_object_or_404(Device, pk=device_id)
    key = request.GET.get("key")
    if key:
        back = reverse("console:alarms_device_rules", args=[community_id, device.pk])
        return _edit_rule(request, community_id, device.kind, key, device, back)
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_DEVICES, community_id)
        raise Http404
    open_alarms = Alarm.objects.open().filter(device=device)
    return render_console(
        request,
        "alarms/device_rules.html",
        community_id,
        device=device,
        rows=_rule_rows(community_id, device.kind, device),
        open_alarms=open_alarms,
        source_labels=SOURCE_LABELS,
    )


# --- Camera precision --------------------------------------------------------------------------------


@community_view(Perm.VIEW_DEVICES)
def camera_precision(request: HttpRequest, community_id: int) -> HttpResponse:
    """Precision per camera and event type from staff decisions (no vendor figure is trusted)."""
    rows = services.camera_precision(community_id)
    confirmed = sum(row["confirmed"] for row in rows)
    false = sum(row["false"] for row in rows)
    overall = confirmed / (confirmed + false) if confirmed + false else None
    return render_console(request, "alarms/precision.html", community_id, rows=rows, overall=overall)


# --- Residents: outages that concern them ----------------------------------------------------------


@resident_view
def outages(request: HttpRequest) -> HttpResponse:
    """Open outage alarms (a lift out of service, no water) in the buildings the resident lives in,
    and community-wide ones."""
    from anju.residents.models import Occupancy

    mine = Occupancy.objects.current().filter(person__user=request.user).values_list("home__building_id", flat=True)
    building_ids = set(mine)
    outage_types = [code for code in _outage_types()]
    rows = (
        Alarm.objects.open()
        .filter(alarm_type__in=outage_types)
        .filter(Q(device__building_id__in=building_ids) | Q(device__building__isnull=True))
        .select_related("device", "device__building")
        .order_by("-raised_at")
    )
    return render(request, "alarms/portal_outages.html", {"outages": rows})


def _outage_types() -> list[str]:
    from anju.devices.alarms.catalogue import ALARM_TYPES

    return [code for code, kind in ALARM_TYPES.items() if kind.outage]
