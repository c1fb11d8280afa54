"""Every write of access control: controllers, doors, credentials, shifts, the deny list and keys.

Visitor passes, walk-ins and deliveries are in :mod:`anju.access.passes`; uploaded events, the log
and its alarms in :mod:`anju.access.events`; both are re-exported here so that every write of the
app is reached as ``access.services.<verb_object>``.

Each write that changes who may open what calls :func:`anju.access.sync.refresh_allow_list` for the
credentials it touched (inside its transaction), so the controllers' next sync carries the change
and a change notice goes out after the commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.access import signing, sync, tokens
from anju.access.models import Controller, Credential, DenyEntry, Door, SigningKey, VisitorPass
from anju.access.rules import DoorKind
from anju.core import audit
from anju.core.crypto import encrypt
from anju.core.errors import Conflict, DomainError, NotFound
from anju.core.models import User
from anju.core.permissions import STAFF_ROLES, access_for
from anju.core.tenancy import community_scope, scopes_disabled
from anju.estates.models import Building, Community, Unit
from anju.residents.models import Consent, Occupancy, Person

CONTROLLER_TOKEN_PREFIX = "actl_"
_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# 京A12345, 沪AD12345 (new energy), 粤B·1234X: a province character, a letter, five or six more.
_PLATE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{5,6}$")


class AccessRefused(DomainError):
    code = "access_refused"


# --- Controllers -------------------------------------------------------------------------------------


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_controller_token() -> str:
    return CONTROLLER_TOKEN_PREFIX + secrets.token_urlsafe(32)


@transaction.atomic
def create_controller(*, community: Community, name: str, code: str, actor: User | None) -> tuple[Controller, str]:
    """Register a door controller; returns it and its token, shown once (only a digest is stored)."""
    name, code = name.strip(), code.strip().lower()
    if not name:
        raise DomainError(_("A name is required."), field="name")
    if not _CODE.match(code):
        raise DomainError(_("The code may use lower-case letters, digits and hyphens only."), field="code")
    with community_scope(community.pk):
        sync.access_settings(community.pk)
        if Controller.objects.filter(community=community, code=code).exists():
            raise Conflict(_("Another controller already uses this code."), field="code")
        token = _new_controller_token()
        controller = Controller.objects.create(
            community=community, name=name, code=code, token_prefix=token[:12], token_digest=_token_digest(token)
        )
    audit.record(actor=actor, action="access.controller.create", obj=controller, after=audit.snapshot(controller))
    return controller, token


@transaction.atomic
def bind_controller_device(controller: Controller, *, device: Any, actor: User | None) -> Controller:
    """Link a controller to its entry in the device registry, so that forced doors and repeated
    denials become alarms on that device (or unlink it with ``device=None``)."""
    if device is not None and device.community_id != controller.community_id:
        raise NotFound(field="device")
    before = audit.snapshot(controller, ["device"])
    controller.device = device
    controller.save(update_fields=["device"])
    audit.record(
        actor=actor,
        action="access.controller.bind_device",
        obj=controller,
        before=before,
        after=audit.snapshot(controller, ["device"]),
    )
    return controller


@transaction.atomic
def rotate_controller_token(controller: Controller, *, actor: User | None) -> str:
    token = _new_controller_token()
    controller.token_prefix, controller.token_digest = token[:12], _token_digest(token)
    controller.save(update_fields=["token_prefix", "token_digest"])
    audit.record(actor=actor, action="access.controller.rotate_token", obj=controller)
    return token


def authenticate_controller(token: str) -> Controller | None:
    """The active controller holding ``token``, or None."""
    if not token.startswith(CONTROLLER_TOKEN_PREFIX):
        return None
    with scopes_disabled():
        return (
            Controller.objects.filter(token_digest=_token_digest(token), retired_at__isnull=True)
            .select_related("community")
            .first()
        )


def record_controller_sync(controller: Controller, *, version: int) -> None:
    """A controller fetched version ``version``: its status on the doors page. A heartbeat, not a
    change of anyone's rights, so it is not audited."""
    now = timezone.now()
    Controller.objects.filter(pk=controller.pk).update(synced_version=version, last_sync_at=now, last_seen_at=now)


# --- Doors --------------------------------------------------------------------------------------------


def _check_door(
    community: Community,
    kind: str,
    building: Building | None,
    unit: Unit | None,
    floor: int | None,
    controller: Controller | None,
) -> None:
    if kind not in DoorKind.__members__.values():
        raise DomainError(_("Unknown kind of door."), field="kind")
    if building is not None and building.community_id != community.pk:
        raise NotFound(field="building")
    if controller is not None and controller.community_id != community.pk:
        raise NotFound(field="controller")
    if kind in (DoorKind.BUILDING, DoorKind.UNIT, DoorKind.LIFT_FLOOR) and building is None:
        raise DomainError(_("This kind of door belongs to a building: choose one."), field="building")
    if kind == DoorKind.UNIT:
        if unit is None:
            raise DomainError(_("A unit door needs its unit."), field="unit")
        if building is not None and unit.building_id != building.pk:
            raise DomainError(_("The unit is not in that building."), field="unit")
    if kind == DoorKind.LIFT_FLOOR and floor is None:
        raise DomainError(_("Lift floor access needs the floor."), field="floor")


@transaction.atomic
def create_door(
    *,
    community: Community,
    name: str,
    kind: str,
    building: Building | None = None,
    unit: Unit | None = None,
    floor: int | None = None,
    controller: Controller | None = None,
    actor: User | None,
) -> Door:
    """Add a door. Everyone's allow-lists are recomputed (a new building entrance concerns everybody
    living there)."""
    name = name.strip()
    if not name:
        raise DomainError(_("A name is required."), field="name")
    _check_door(community, kind, building, unit, floor, controller)
    with community_scope(community.pk):
        sync.access_settings(community.pk)
        door = Door.objects.create(
            community=community,
            name=name,
            kind=kind,
            building=building,
            unit=unit if kind == DoorKind.UNIT else None,
            floor=floor if kind == DoorKind.LIFT_FLOOR else None,
            controller=controller,
        )
        sync.bump(community.pk)
        sync.refresh_allow_list(community.pk)
    audit.record(actor=actor, action="access.door.create", obj=door, after=audit.snapshot(door))
    return door


@transaction.atomic
def assign_door_controller(door: Door, *, controller: Controller | None, actor: User | None) -> Door:
    if controller is not None and controller.community_id != door.community_id:
        raise NotFound(field="controller")
    before = audit.snapshot(door, ["controller"])
    door.controller = controller
    door.save(update_fields=["controller"])
    with community_scope(door.community_id):
        sync.bump(door.community_id)
        sync.refresh_allow_list(door.community_id)
    audit.record(
        actor=actor, action="access.door.update", obj=door, before=before, after=audit.snapshot(door, ["controller"])
    )
    return door


@transaction.atomic
def retire_door(door: Door, *, actor: User | None) -> Door:
    if door.retired_at is not None:
        return door
    door.retired_at = timezone.now()
    door.save(update_fields=["retired_at"])
    with community_scope(door.community_id):
        sync.bump(door.community_id)
        sync.refresh_allow_list(door.community_id)
    audit.record(actor=actor, action="access.door.retire", obj=door)
    return door


# --- Credentials ---------------------------------------------------------------------------------------


def _has_occupancy(person: Person) -> bool:
    """A current or future occupancy in the person's community (credentials are issued with one)."""
    today = timezone.localdate()
    return Occupancy.objects.filter(person=person).filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today)).exists()


def _staff_roles(user: User, community_id: int) -> set[str]:
    return set(access_for(user).roles.get(community_id, ())) & {str(r) for r in STAFF_ROLES}


def _has_face_consent(person: Person) -> bool:
    return Consent.objects.filter(
        person=person, purpose=Consent.Purpose.FACE_RECOGNITION, withdrawn_at__isnull=True
    ).exists()


def normalize_plate(plate: str) -> str:
    return tokens.normalize_plate(plate)


def _checked_plate(plate: str) -> str:
    normalized = normalize_plate(plate)
    if not _PLATE.match(normalized):
        raise DomainError(_("Enter a plate such as 京A12345."), field="plate")
    return normalized


@transaction.atomic
def issue_credential(
    *,
    community: Community,
    kind: str,
    person: Person | None = None,
    user: User | None = None,
    card_number: str = "",
    plate: str = "",
    face_template_ref: str = "",
    valid_from: dt.datetime | None = None,
    valid_until: dt.datetime | None = None,
    actor: User | None,
) -> Credential:
    """Issue a card, plate, face or QR credential to a resident (``person``) or staff member (``user``).

    Residents need a current or future occupancy here, and their rights end with it (the rule reads
    the occupancy dates; :func:`end_lapsed_credentials` also ends the credential). Face needs the
    person's separate face-recognition consent, and another credential already (never the only way
    in). Card numbers are stored encrypted, shown masked and looked up by keyed hash only.
    """
    if (person is None) == (user is None):
        raise DomainError(_("A credential belongs to exactly one resident or staff member."), field="person")
    if kind not in Credential.Kind.values:
        raise DomainError(_("Unknown kind of credential."), field="kind")
    with community_scope(community.pk):
        sync.access_settings(community.pk)
        if person is not None:
            if person.community_id != community.pk:
                raise NotFound(field="person")
            if not _has_occupancy(person):
                raise AccessRefused(
                    _("This person does not live here now: record their occupancy first."),
                    code="not_resident",
                    field="person",
                )
        elif user is not None and not _staff_roles(user, community.pk):
            raise AccessRefused(
                _("This account holds no staff role in this community."), code="not_staff", field="user"
            )
        if valid_until is not None and valid_until <= timezone.now():
            raise DomainError(_("The end must be in the future."), field="valid_until")
        credential = Credential(
            community=community,
            kind=kind,
            person=person,
            user=user,
            valid_from=valid_from or timezone.now(),
            valid_until=valid_until,
            issued_by=actor,
        )
        if kind == Credential.Kind.CARD:
            number = tokens.normalize_card(card_number)
            if not 4 <= len(number) <= 32:
                raise DomainError(
                    _("Enter the card number as printed by the reader (hexadecimal)."), field="card_number"
                )
            credential.card_encrypted = encrypt(number)
            credential.card_masked = "*" * 4 + number[-4:]
            credential.lookup_key = tokens.card_key(sync.card_secret(community.pk), number)
        elif kind == Credential.Kind.PLATE:
            credential.plate = _checked_plate(plate)
            credential.lookup_key = "plate:" + credential.plate
        elif kind == Credential.Kind.FACE:
            ref = face_template_ref.strip()
            if person is None:
                raise DomainError(_("Face access is for residents only."), field="kind")
            if not ref or not re.match(r"^[A-Za-z0-9._:-]{1,80}$", ref):
                raise DomainError(_("Enter the template reference the device reported."), field="face_template_ref")
            if not _has_face_consent(person):
                raise AccessRefused(
                    _("Face access needs the person's separate consent to face recognition, recorded first."),
                    code="face_consent_missing",
                    field="face_template_ref",
                )
            others = Credential.objects.filter(person=person, ended_at__isnull=True).exclude(kind=Credential.Kind.FACE)
            if not others.exists():
                raise AccessRefused(
                    _("Face may not be the only way in: issue a card or the portal QR code first."),
                    code="face_only_way",
                    field="kind",
                )
            credential.face_template_ref = ref
            credential.lookup_key = "face:" + ref
        else:
            credential.lookup_key = "qr:pending"
        if (
            kind != Credential.Kind.QR
            and Credential.objects.filter(
                community=community, lookup_key=credential.lookup_key, ended_at__isnull=True
            ).exists()
        ):
            raise Conflict(_("This card, plate or template is already issued to someone here."), field=kind)
        credential.save(force_insert=True)
        if kind == Credential.Kind.QR:
            credential.lookup_key = f"qr:{credential.pk}"
            credential.save(update_fields=["lookup_key"])
        sync.refresh_allow_list(community.pk, keys=[credential.lookup_key])
    audit.record(actor=actor, action="access.credential.issue", obj=credential, after=audit.snapshot(credential))
    return credential


def _end(credential: Credential, reason: str, now: dt.datetime) -> bool:
    """Claim the credential's end with a conditional UPDATE: True for the one caller that ended it."""
    return (
        Credential.objects.filter(pk=credential.pk, ended_at__isnull=True).update(ended_at=now, ended_reason=reason)
        == 1
    )


@transaction.atomic
def end_credential(credential: Credential, *, reason: str = "ended", actor: User | None) -> Credential:
    now = timezone.now()
    with community_scope(credential.community_id):
        if _end(credential, reason[:40], now):
            credential.ended_at, credential.ended_reason = now, reason[:40]
            sync.refresh_allow_list(credential.community_id, keys=[credential.lookup_key])
            audit.record(actor=actor, action="access.credential.end", obj=credential, after={"reason": reason})
        else:
            credential.refresh_from_db()
    return credential


@transaction.atomic
def ensure_qr_credential(person: Person, *, actor: User | None) -> Credential:
    """The resident's portal QR credential, issued on first use (every resident has this way in)."""
    with community_scope(person.community_id):
        found = Credential.objects.filter(person=person, kind=Credential.Kind.QR, ended_at__isnull=True).first()
        if found is not None:
            return found
    return issue_credential(
        community=Community.objects.get(pk=person.community_id), kind=Credential.Kind.QR, person=person, actor=actor
    )


def resident_qr(credential: Credential, *, now: dt.datetime | None = None) -> tuple[str, int]:
    """A fresh short-lived token for ``credential`` and its lifetime in seconds (a read, not a write)."""
    moment = now or timezone.now()
    state = sync.access_settings(credential.community_id)
    key = signing.active_key(credential.community_id)
    if key is None:  # pragma: no cover - access_settings creates the first key
        raise Conflict()
    return signing.resident_qr_token(credential, key, lifetime_seconds=state.qr_lifetime_seconds, now=moment), (
        state.qr_lifetime_seconds
    )


def end_lapsed_credentials(community_id: int, *, actor: User | None = None) -> int:
    """End the credentials whose reason to exist has ended — a resident with no current or future
    occupancy here, a staff member with no role here — then bring every allow-list in line with the
    rule (occupancy end dates set since the last run included). Safe to run concurrently: each
    credential is claimed with a conditional UPDATE. Returns how many credentials it ended."""
    ended = 0
    now = timezone.now()
    today = timezone.localdate()
    with community_scope(community_id), transaction.atomic():
        current_people = set(
            Occupancy.objects.filter(community_id=community_id)
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
            .values_list("person_id", flat=True)
        )
        active = Credential.objects.filter(community_id=community_id, ended_at__isnull=True).select_related("user")
        lapsed: list[tuple[Credential, str]] = []
        for credential in active:
            if credential.person_id and credential.person_id not in current_people:
                lapsed.append((credential, "occupancy_ended"))
            elif credential.user_id and not _staff_roles(credential.user, community_id):  # type: ignore[arg-type]
                lapsed.append((credential, "staff_left"))
            elif credential.valid_until is not None and credential.valid_until <= now:
                lapsed.append((credential, "expired"))
        for credential, reason in lapsed:
            if _end(credential, reason, now):
                ended += 1
                audit.record(actor=actor, action="access.credential.end", obj=credential, after={"reason": reason})
        sync.refresh_allow_list(community_id)
    return ended


# --- Deny list -----------------------------------------------------------------------------------------


def _keys_of(entry: DenyEntry) -> list[str]:
    credentials = Credential.objects.filter(community_id=entry.community_id, ended_at__isnull=True)
    match = Q(pk=entry.credential_id) if entry.credential_id else Q(pk__in=[])
    if entry.person_id:
        match |= Q(person_id=entry.person_id)
    if entry.user_id:
        match |= Q(user_id=entry.user_id)
    return list(credentials.filter(match).values_list("lookup_key", flat=True))


@transaction.atomic
def add_deny_entry(
    *,
    community: Community,
    reason: str,
    person: Person | None = None,
    user: User | None = None,
    credential: Credential | None = None,
    ends_at: dt.datetime | None = None,
    actor: User | None,
) -> DenyEntry:
    """Refuse a person, a staff account or one credential at every door until ``ends_at`` (or lifted)."""
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Say why (it is shown to the staff who see the refusal)."), field="reason")
    if person is None and user is None and credential is None:
        raise DomainError(_("Choose whom to deny."), field="person")
    for obj, field in ((person, "person"), (credential, "credential")):
        if obj is not None and obj.community_id != community.pk:
            raise NotFound(field=field)
    with community_scope(community.pk):
        entry = DenyEntry.objects.create(
            community=community,
            person=person,
            user=user,
            credential=credential,
            reason=reason[:200],
            ends_at=ends_at,
            created_by=actor,
        )
        sync.refresh_allow_list(community.pk, keys=_keys_of(entry))
    audit.record(actor=actor, action="access.deny.add", obj=entry, after=audit.snapshot(entry))
    return entry


@transaction.atomic
def lift_deny_entry(entry: DenyEntry, *, actor: User | None) -> DenyEntry:
    if entry.lifted_at is None:
        entry.lifted_at = timezone.now()
        entry.save(update_fields=["lifted_at"])
        with community_scope(entry.community_id):
            sync.refresh_allow_list(entry.community_id, keys=_keys_of(entry))
        audit.record(actor=actor, action="access.deny.lift", obj=entry)
    return entry


# --- Keys ------------------------------------------------------------------------------------------------


@transaction.atomic
def rotate_signing_key(*, community: Community, actor: User | None) -> SigningKey:
    """A new key signs from now on; the old one stays published until the last pass it signed
    expires, so no pass already handed out stops working."""
    now = timezone.now()
    with community_scope(community.pk):
        sync.access_settings(community.pk)
        old = SigningKey.objects.select_for_update().filter(community=community, retired_at__isnull=True).first()
        if old is not None:
            last = (
                VisitorPass.objects.filter(key=old, valid_until__gt=now)
                .order_by("-valid_until")
                .values_list("valid_until", flat=True)
                .first()
            )
            old.retired_at = now
            # Resident QR codes signed with it live a minute at most.
            old.publish_until = max(last or now, now + dt.timedelta(minutes=5))
            old.save(update_fields=["retired_at", "publish_until"])
        key = signing.new_key(community.pk)
        key.save(force_insert=True)
        sync.bump(community.pk)
    audit.record(
        actor=actor,
        action="access.key.rotate",
        obj=key,
        after={"kid": key.kid, "retired_kid": old.kid if old else None},
    )
    return key


# What a manager may change in AccessSettings, and the bounds (inclusive) of each.
SETTINGS_LIMITS = {
    "log_retention_days": (1, 3650),
    "qr_lifetime_seconds": (15, 600),
    "denial_alarm_threshold": (2, 100),
    "denial_alarm_window_minutes": (1, 1440),
}


@transaction.atomic
def update_access_settings(*, community: Community, actor: User | None, **changes: Any) -> Any:
    if set(changes) - set(SETTINGS_LIMITS):
        raise DomainError(_("These settings cannot be changed here."))
    with community_scope(community.pk):
        row = sync.access_settings(community.pk)
        before = audit.snapshot(row, list(changes))
        for name, value in changes.items():
            low, high = SETTINGS_LIMITS[name]
            if not isinstance(value, int) or not low <= value <= high:
                raise DomainError(
                    _("Enter a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}, field=name
                )
            setattr(row, name, value)
        row.save(update_fields=list(changes) or None)
    old, new = audit.changed(before, audit.snapshot(row, list(changes)))
    if new:
        audit.record(actor=actor, action="access.settings.update", obj=row, before=old, after=new)
    return row


from anju.access.events import ingest_events, purge_access_log  # noqa: E402,F401
from anju.access.passes import (  # noqa: E402,F401
    admit_at_desk,
    answer_delivery,
    answer_walk_in,
    collect_delivery,
    create_visitor_pass,
    register_delivery,
    register_walk_in,
    revoke_visitor_pass,
)
from anju.access.shifts import end_staff_shift, set_staff_shift  # noqa: E402,F401
