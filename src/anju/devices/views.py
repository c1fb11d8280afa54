"""Console pages of the device registry: list, map, detail with charts, registration, credentials.

Views run inside ``@community_view`` (other tenants 404, missing permission 403, scope open), read,
and call :mod:`anju.devices.services` for every write.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from anju.core.errors import DomainError
from anju.core.permissions import Perm
from anju.devices import charts, services
from anju.devices.models import DeadLetter, Device, DeviceKind, DeviceStream, MessageKind, Telemetry
from anju.estates.models import Building, CommonPart, Unit
from anju.web.console import current_community, render_console, require_permission
from anju.web.decorators import community_view, request_access
from anju.web.forms import add_domain_error

DEVICES_PER_PAGE = 50
CHART_HOURS = (6, 24, 72)


def _device_or_404(device_id: int) -> Device:
    device = Device.objects.with_place().filter(pk=device_id).first()
    if device is None:
        raise Http404
    return device


class DeviceFilter(forms.Form):
    kind = forms.ChoiceField(required=False, choices=[("", gettext_lazy("all kinds")), *DeviceKind.choices])
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", gettext_lazy("any status")),
            ("online", gettext_lazy("online")),
            ("offline", gettext_lazy("offline")),
            ("maintenance", gettext_lazy("in maintenance")),
        ],
    )
    building = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    q = forms.CharField(required=False, max_length=100, strip=True)


@community_view(Perm.VIEW_DEVICES)
def device_list(request: HttpRequest, community_id: int) -> HttpResponse:
    form = DeviceFilter(request.GET or None)
    devices = Device.objects.active().with_place().order_by("kind", "code")
    if form.is_valid():
        data = form.cleaned_data
        if data["kind"]:
            devices = devices.filter(kind=data["kind"])
        if data["status"] == "online":
            devices = devices.filter(online=True)
        elif data["status"] == "offline":
            devices = devices.filter(online=False)
        elif data["status"] == "maintenance":
            devices = devices.exclude(service_mode="normal")
        if data["building"]:
            devices = devices.filter(building_id=data["building"])
        if data["q"]:
            devices = devices.filter(Q(code__icontains=data["q"]) | Q(name__icontains=data["q"]))
    page = Paginator(devices, DEVICES_PER_PAGE).get_page(request.GET.get("page"))
    totals = Device.objects.active().aggregate(total=Count("pk"), online=Count("pk", filter=Q(online=True)))
    return render_console(
        request,
        "devices/list.html",
        community_id,
        form=form,
        page=page,
        totals=totals,
        buildings=Building.objects.order_by("sort_key", "number"),
    )


@community_view(Perm.VIEW_DEVICES)
def device_map(request: HttpRequest, community_id: int) -> HttpResponse:
    """Every device where it is: one panel per building (units inside), one for shared places."""
    devices = list(Device.objects.active().with_place().order_by("kind", "code"))
    buildings = list(Building.objects.order_by("sort_key", "number"))
    by_building: dict[int | None, list[Device]] = {}
    for device in devices:
        by_building.setdefault(device.building_id, []).append(device)
    panels = [(building, by_building.get(building.pk, [])) for building in buildings]
    shared = by_building.get(None, [])
    counts = {
        "total": len(devices),
        "online": sum(1 for d in devices if d.online),
        "offline": sum(1 for d in devices if not d.online),
        "maintenance": sum(1 for d in devices if d.service_mode != "normal"),
    }
    return render_console(request, "devices/map.html", community_id, panels=panels, shared=shared, counts=counts)


@community_view(Perm.VIEW_DEVICES)
def device_detail(request: HttpRequest, community_id: int, device_id: int) -> HttpResponse:
    device = _device_or_404(device_id)
    try:
        hours = int(request.GET.get("hours", "24"))
    except ValueError:
        hours = 24
    if hours not in CHART_HOURS:
        hours = 24
    now = timezone.now()
    start = now - dt.timedelta(hours=hours)
    series = charts.series_for_device(device, hours=hours, now=now)
    chart_list = [(item, charts.line_chart(item, start=start, end=now, title=item.metric)) for item in series]
    recent = list(
        Telemetry.objects.filter(device=device)
        .exclude(kind=MessageKind.TELEMETRY)
        .order_by("-ts")
        .values("ts", "kind", "seq", "data")[:20]
    )
    stream = DeviceStream.objects.filter(device=device).first()
    dead = DeadLetter.objects.filter(device=device).order_by("-received_at")[:10]
    return render_console(
        request,
        "devices/detail.html",
        community_id,
        device=device,
        charts=chart_list,
        hours=hours,
        hour_choices=CHART_HOURS,
        recent=recent,
        stream=stream,
        dead_letters=dead,
        latest=Telemetry.objects.filter(device=device, kind=MessageKind.TELEMETRY).order_by("-ts").first(),
    )


class DeviceForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=DeviceKind.choices)
    code = forms.SlugField(label=gettext_lazy("code"), max_length=40)
    name = forms.CharField(label=gettext_lazy("name"), max_length=100)
    building: forms.ModelChoiceField[Building] = forms.ModelChoiceField(
        label=gettext_lazy("building"), queryset=Building.objects.none(), required=False
    )
    unit: forms.ModelChoiceField[Unit] = forms.ModelChoiceField(
        label=gettext_lazy("unit"), queryset=Unit.objects.none(), required=False
    )
    common_part: forms.ModelChoiceField[CommonPart] = forms.ModelChoiceField(
        label=gettext_lazy("common part"), queryset=CommonPart.objects.none(), required=False
    )
    vendor = forms.CharField(label=gettext_lazy("vendor"), max_length=100, required=False)
    model_name = forms.CharField(label=gettext_lazy("model"), max_length=100, required=False)
    serial_number = forms.CharField(label=gettext_lazy("serial number"), max_length=100, required=False)
    installed_on = forms.DateField(label=gettext_lazy("installed on"), required=False)
    maintainer = forms.CharField(label=gettext_lazy("maintenance contractor"), max_length=100, required=False)
    maintenance_contract_ends_on = forms.DateField(label=gettext_lazy("maintenance contract ends on"), required=False)
    heartbeat_seconds = forms.IntegerField(
        label=gettext_lazy("expected reporting interval (s)"), min_value=5, max_value=7 * 86400, initial=60
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = Building.objects.order_by("sort_key", "number")  # type: ignore[attr-defined]
        self.fields["unit"].queryset = Unit.objects.select_related("building").order_by(  # type: ignore[attr-defined]
            "building__sort_key", "number"
        )
        self.fields["common_part"].queryset = CommonPart.objects.order_by("kind", "name")  # type: ignore[attr-defined]


@community_view(Perm.VIEW_DEVICES)
def device_create(request: HttpRequest, community_id: int) -> HttpResponse:
    require_permission(request, Perm.MANAGE_DEVICES, community_id)
    form = DeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device, credentials = services.create_device(
                community=current_community(request),
                actor=request.user,  # type: ignore[arg-type]
                **form.cleaned_data,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return render_console(
                request, "devices/credentials.html", community_id, device=device, credentials=credentials, created=True
            )
    return render_console(request, "devices/form.html", community_id, form=form)


@require_POST
@community_view(Perm.VIEW_DEVICES)
def device_rotate_credentials(request: HttpRequest, community_id: int, device_id: int) -> HttpResponse:
    require_permission(request, Perm.MANAGE_DEVICES, community_id)
    device = _device_or_404(device_id)
    try:
        credentials = services.rotate_device_credentials(device, actor=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        from django.contrib import messages

        messages.error(request, str(exc.message))
        return redirect("console:devices_detail", community_id, device.pk)
    return render_console(
        request, "devices/credentials.html", community_id, device=device, credentials=credentials, created=False
    )


class ModeForm(forms.Form):
    service_mode = forms.ChoiceField(choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from anju.devices.models import ServiceMode

        super().__init__(*args, **kwargs)
        self.fields["service_mode"].choices = ServiceMode.choices  # type: ignore[attr-defined]


@require_POST
@community_view(Perm.VIEW_DEVICES)
def device_set_mode(request: HttpRequest, community_id: int, device_id: int) -> HttpResponse:
    require_permission(request, Perm.MANAGE_DEVICES, community_id)
    from django.contrib import messages

    device = _device_or_404(device_id)
    form = ModeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a service mode."))
    else:
        services.set_service_mode(device, form.cleaned_data["service_mode"], actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Service mode changed."))
    return redirect("console:devices_detail", community_id, device.pk)


@community_view(Perm.MANAGE_DEVICES)
def dead_letters(request: HttpRequest, community_id: int) -> HttpResponse:
    rows = DeadLetter.objects.select_related("device").order_by("-received_at", "-id")
    page = Paginator(rows, DEVICES_PER_PAGE).get_page(request.GET.get("page"))
    return render_console(request, "devices/dead_letters.html", community_id, page=page)


__all__ = ["request_access"]
