"""Writes on the device registry: create, change, retire a device; issue and rotate its credentials.

Each function is one transaction with its audit row. Credentials come back once, in plain text, as
:class:`DeviceCredentials`; the database keeps a SHA-256 digest of the HTTP token and Mosquitto's
hash of the MQTT password. After the commit the broker's password and ACL files are rewritten
(:func:`anju.devices.broker.sync_broker_auth`) so the change takes effect within a second.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.errors import Conflict, DomainError
from anju.core.models import User
from anju.core.periodic import after_commit
from anju.devices.broker import device_topic_root, mosquitto_password_hash, sync_broker_auth
from anju.devices.models import Device, DeviceKind, DeviceStream, ServiceMode
from anju.estates.models import Building, CommonPart, Community, Unit

TOKEN_PREFIX = "anjud_"
EDITABLE_FIELDS = (
    "name",
    "vendor",
    "model_name",
    "serial_number",
    "installed_on",
    "maintainer",
    "maintenance_contract_ends_on",
    "heartbeat_seconds",
    "attrs",
)


@dataclass(frozen=True)
class DeviceCredentials:
    """What a device needs to talk to anju; shown once, never stored in plain text."""

    device_id: int
    http_token: str
    mqtt_username: str
    mqtt_password: str
    topic_root: str


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _issue(device: Device, community: Community) -> DeviceCredentials:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    password = secrets.token_urlsafe(24)
    device.token_prefix = token[:14]
    device.token_digest = token_digest(token)
    device.mqtt_password_hash = mosquitto_password_hash(password)
    device.credentials_rotated_at = timezone.now()
    return DeviceCredentials(
        device_id=device.pk,
        http_token=token,
        mqtt_username=device.mqtt_username,
        mqtt_password=password,
        topic_root=device_topic_root(community.code, device.code),
    )


def _check_place(
    community: Community, building: Building | None, unit: Unit | None, common_part: CommonPart | None
) -> None:
    for part, field in ((building, "building"), (unit, "unit"), (common_part, "common_part")):
        if part is not None and part.community_id != community.pk:
            raise DomainError(_("That place belongs to another community."), field=field)
    if unit is not None and building is not None and unit.building_id != building.pk:
        raise DomainError(_("The unit is not in that building."), field="unit")
    if common_part is not None and building is not None and common_part.building_id not in (None, building.pk):
        raise DomainError(_("The common part is not in that building."), field="common_part")


def _check_code(code: str) -> str:
    code = code.strip()
    if not code or len(code) > 40 or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in code):
        raise DomainError(
            _("The code may use only letters, digits, “-” and “_” (at most 40); it appears in MQTT topics."),
            field="code",
        )
    return code


@transaction.atomic
def create_device(
    *,
    community: Community,
    kind: str,
    code: str,
    name: str,
    building: Building | None = None,
    unit: Unit | None = None,
    common_part: CommonPart | None = None,
    vendor: str = "",
    model_name: str = "",
    serial_number: str = "",
    installed_on: dt.date | None = None,
    maintainer: str = "",
    maintenance_contract_ends_on: dt.date | None = None,
    heartbeat_seconds: int = 60,
    attrs: dict[str, Any] | None = None,
    actor: User | None,
) -> tuple[Device, DeviceCredentials]:
    """Register a device and issue its credentials (returned once)."""
    if kind not in DeviceKind.values:
        raise DomainError(_("Unknown device kind."), field="kind")
    code = _check_code(code)
    if not name.strip():
        raise DomainError(_("Give the device a name staff will recognise."), field="name")
    if heartbeat_seconds < 5 or heartbeat_seconds > 7 * 86400:
        raise DomainError(_("The reporting interval must be between 5 seconds and a week."), field="heartbeat_seconds")
    if unit is not None and building is None:
        building = unit.building
    if common_part is not None and building is None and common_part.building_id:
        building = common_part.building
    _check_place(community, building, unit, common_part)
    if Device.objects.filter(community=community, code=code).exists():
        raise Conflict(_("A device with code “%(code)s” already exists here.") % {"code": code}, field="code")
    device = Device(
        community=community,
        kind=kind,
        code=code,
        name=name.strip(),
        building=building,
        unit=unit,
        common_part=common_part,
        vendor=vendor,
        model_name=model_name,
        serial_number=serial_number,
        installed_on=installed_on,
        maintainer=maintainer,
        maintenance_contract_ends_on=maintenance_contract_ends_on,
        heartbeat_seconds=heartbeat_seconds,
        attrs=attrs or {},
        mqtt_username=f"{community.code}.{code}",
    )
    credentials = _issue(device, community)
    try:
        with transaction.atomic():
            device.save(force_insert=True)
    except IntegrityError:
        raise Conflict(_("A device with code “%(code)s” already exists here.") % {"code": code}, field="code") from None
    DeviceStream.objects.create(device=device, community=community)
    audit.record(actor=actor, action="device.create", obj=device, after=audit.snapshot(device))
    after_commit(sync_broker_auth)
    return device, DeviceCredentials(**{**credentials.__dict__, "device_id": device.pk})


@transaction.atomic
def rotate_device_credentials(device: Device, *, actor: User | None) -> DeviceCredentials:
    """New token and MQTT password; the old ones stop working once the broker reloads (HTTP: now)."""
    device = Device.objects.select_for_update().select_related("community").get(pk=device.pk)
    if device.retired_at is not None:
        raise Conflict(_("A retired device gets no credentials."))
    credentials = _issue(device, device.community)
    device.save(update_fields=["token_prefix", "token_digest", "mqtt_password_hash", "credentials_rotated_at"])
    audit.record(
        actor=actor,
        action="device.rotate_credentials",
        obj=device,
        after=audit.snapshot(device, ["token_prefix", "credentials_rotated_at"]),
    )
    after_commit(sync_broker_auth)
    return credentials


@transaction.atomic
def update_device(device: Device, *, actor: User | None, **changes: Any) -> Device:
    """Change the descriptive fields (placement and code are fixed: retire and re-register instead)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise DomainError(_("These fields cannot be changed: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    device = Device.objects.select_for_update().get(pk=device.pk)
    if "name" in changes and not str(changes["name"]).strip():
        raise DomainError(_("Give the device a name staff will recognise."), field="name")
    seconds = changes.get("heartbeat_seconds")
    if seconds is not None and (seconds < 5 or seconds > 7 * 86400):
        raise DomainError(_("The reporting interval must be between 5 seconds and a week."), field="heartbeat_seconds")
    before = audit.snapshot(device, changes.keys())
    for key, value in changes.items():
        setattr(device, key, value)
    device.save(update_fields=list(changes))
    old, new = audit.changed(before, audit.snapshot(device, changes.keys()))
    if new:
        audit.record(actor=actor, action="device.update", obj=device, before=old, after=new)
    return device


@transaction.atomic
def set_service_mode(device: Device, mode: str, *, actor: User | None) -> Device:
    """Put a device into maintenance (suppressing its fault alarms), out of service, or back."""
    if mode not in ServiceMode.values:
        raise DomainError(_("Unknown service mode."), field="service_mode")
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.service_mode == mode:
        return device
    before = device.service_mode
    device.service_mode = mode
    device.save(update_fields=["service_mode"])
    audit.record(
        actor=actor,
        action="device.service_mode",
        obj=device,
        before={"service_mode": before},
        after={"service_mode": mode},
    )
    return device


@transaction.atomic
def retire_device(device: Device, *, actor: User | None) -> Device:
    """Take a device out of use: its credentials stop working; its history stays."""
    device = Device.objects.select_for_update().get(pk=device.pk)
    if device.retired_at is not None:
        return device
    device.retired_at = timezone.now()
    device.token_digest = ""
    device.mqtt_password_hash = ""
    device.online = False
    device.save(update_fields=["retired_at", "token_digest", "mqtt_password_hash", "online"])
    audit.record(actor=actor, action="device.retire", obj=device, after=audit.snapshot(device, ["retired_at"]))
    after_commit(sync_broker_auth)
    return device


def authenticate_device(secret: str) -> Device | None:
    """The active device behind an HTTP token, or None. Call inside ``scopes_disabled``."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    return (
        Device.objects.select_related("community", "common_part")
        .filter(token_digest=token_digest(secret), retired_at__isnull=True)
        .first()
    )
