"""What controllers hold, versioned so that they catch up incrementally.

Every change a controller must learn gets the community's next *version*
(:func:`next_version`, a counter on :class:`~anju.access.models.AccessSettings` bumped under a row
lock). Allow-list entries (:class:`~anju.access.models.AllowEntry`, one per controller and
credential key) and revocations carry the version at which they last changed, so a controller that
last synced at version ``v`` asks for ``since=v`` and receives exactly the rows newer than ``v`` —
one request, however long it was offline. Removed entries stay as tombstones for
:data:`TOMBSTONE_DAYS`; a controller older than the purged tombstones (``compacted_version``), or
so far behind that the delta would exceed :data:`MAX_DELTA` rows, gets a full snapshot instead.

After each commit that bumped the version, a change notice ``{"version": n}`` goes out over MQTT
(retained, QoS 1) on ``anju/access/<community id>/<controller code>/changed`` so online controllers
sync at once instead of at their next poll.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from anju.access import signing
from anju.access.facts import FactsLoader, active_doors, door_facts
from anju.access.models import AccessSettings, AllowEntry, Controller, Credential, Revocation
from anju.access.rules import DoorIndex, candidate_doors, grant_for
from anju.core.crypto import decrypt, encrypt

logger = logging.getLogger(__name__)

MAX_DELTA = 20_000
TOMBSTONE_DAYS = 7


def access_settings(community_id: int) -> AccessSettings:
    """The community's access settings, created on first use with a card secret, default staff
    shifts and a first signing key (inside the caller's transaction)."""
    found = AccessSettings.objects.filter(community_id=community_id).first()
    if found is not None:
        return found
    from anju.access.models import StaffShift

    with transaction.atomic():
        row, created = AccessSettings.objects.get_or_create(
            community_id=community_id, defaults={"card_secret_encrypted": encrypt(secrets.token_hex(32))}
        )
        if created:
            for role, kinds, start, end in DEFAULT_SHIFTS:
                StaffShift.objects.create(
                    community_id=community_id, role=role, door_kinds=list(kinds), start_time=start, end_time=end
                )
            if signing.active_key(community_id) is None:
                signing.new_key(community_id).save(force_insert=True)
    return row


ALL_KINDS = ("gate", "building", "unit", "garage", "lift_floor")
# Staff door rights out of the box (a manager changes them on the staff shifts page): guards and managers
# everywhere at any hour; technicians and stewards on duty hours; the office staff through the gates.
DEFAULT_SHIFTS: list[tuple[str, tuple[str, ...], dt.time, dt.time]] = [
    ("guard", ALL_KINDS, dt.time(0, 0), dt.time(0, 0)),
    ("manager", ALL_KINDS, dt.time(0, 0), dt.time(0, 0)),
    ("company_admin", ALL_KINDS, dt.time(0, 0), dt.time(0, 0)),
    ("technician", ALL_KINDS, dt.time(7, 0), dt.time(21, 0)),
    ("steward", ("gate", "building", "unit", "lift_floor"), dt.time(8, 0), dt.time(20, 0)),
    ("customer_service", ("gate",), dt.time(8, 0), dt.time(18, 0)),
    ("finance_clerk", ("gate",), dt.time(8, 0), dt.time(18, 0)),
]


_CARD_SECRETS: dict[int, str] = {}


def card_secret(community_id: int) -> str:
    """The community's card secret. It never changes once created, so each process keeps it after
    the first read (an online decision then costs no settings query)."""
    secret = _CARD_SECRETS.get(community_id)
    if secret is None:
        secret = _CARD_SECRETS[community_id] = _decrypted(access_settings(community_id).card_secret_encrypted)
    return secret


@lru_cache(maxsize=1024)
def _decrypted(ciphertext: str) -> str:
    """Decrypting costs more than the rest of an online decision; the ciphertext names its plaintext."""
    return decrypt(ciphertext)


def next_version(community_id: int) -> int:
    """The community's next sync version, taken under a row lock (so two writers never share one)."""
    access_settings(community_id)
    row = AccessSettings.objects.select_for_update().get(community_id=community_id)
    row.version += 1
    row.save(update_fields=["version"])
    transaction.on_commit(lambda: announce_change(community_id, row.version))
    return row.version


def bump(community_id: int) -> int:
    """A change every controller must re-read even without entry changes (a door, a key)."""
    return next_version(community_id)


# --- Allow-lists -------------------------------------------------------------------------------------


def desired_entries(community_id: int, credentials: list[Credential]) -> dict[tuple[int, str], dict[str, Any]]:
    """``{(controller id, credential key): {door id: grant}}`` for ``credentials`` — the one rule,
    :func:`~anju.access.rules.grant_for`, applied to every door of a controller they may open."""
    doors = [d for d in active_doors(community_id) if d.controller_id is not None]
    controller_of = {d.pk: d.controller_id for d in doors}
    index = DoorIndex([door_facts(d) for d in doors])
    holders = FactsLoader(community_id).holders(credentials)
    desired: dict[tuple[int, str], dict[str, Any]] = {}
    for credential in credentials:
        holder = holders[credential.pk]
        for door in candidate_doors(holder, index):
            grant = grant_for(holder, door)
            if grant is not None:
                controller_id = controller_of[door.id]
                assert controller_id is not None
                desired.setdefault((controller_id, credential.lookup_key), {})[str(door.id)] = grant.to_wire()
    return desired


def refresh_allow_list(community_id: int, *, keys: Iterable[str] | None = None) -> int:
    """Bring the stored allow-lists in line with the rule for the credential ``keys`` (all when
    None); only rows that changed get the new version. Returns how many rows changed."""
    credentials = (
        Credential.objects.filter(community_id=community_id, ended_at__isnull=True)
        .select_related("user")
        .only("id", "kind", "person_id", "user", "lookup_key", "valid_from", "valid_until", "community_id")
    )
    existing = AllowEntry.objects.filter(community_id=community_id)
    if keys is not None:
        key_list = sorted(set(keys))
        if not key_list:
            return 0
        credentials = credentials.filter(lookup_key__in=key_list)
        existing = existing.filter(key__in=key_list)
    desired = desired_entries(community_id, list(credentials))
    # Plain tuples rather than model instances: a large community has tens of thousands of rows.
    stored = {
        (controller_id, key): (pk, grants, removed)
        for pk, controller_id, key, grants, removed in existing.values_list(
            "pk", "controller_id", "key", "grants", "removed"
        )
    }
    changed_rows: list[AllowEntry] = []
    new_rows: list[AllowEntry] = []
    for slot, grants in desired.items():
        row = stored.get(slot)
        if row is None:
            new_rows.append(AllowEntry(community_id=community_id, controller_id=slot[0], key=slot[1], grants=grants))
        elif row[2] or row[1] != grants:
            changed_rows.append(
                AllowEntry(pk=row[0], community_id=community_id, controller_id=slot[0], key=slot[1], grants=grants)
            )
    for slot, (pk, _grants, removed) in stored.items():
        if slot not in desired and not removed:
            changed_rows.append(
                AllowEntry(
                    pk=pk, community_id=community_id, controller_id=slot[0], key=slot[1], grants={}, removed=True
                )
            )
    if not changed_rows and not new_rows:
        return 0
    version = next_version(community_id)
    now = timezone.now()
    for entry in [*changed_rows, *new_rows]:
        entry.version = version
        entry.changed_at = now
    AllowEntry.objects.bulk_create(new_rows, batch_size=1000)
    AllowEntry.objects.bulk_update(changed_rows, ["grants", "removed", "version", "changed_at"], batch_size=1000)
    return len(changed_rows) + len(new_rows)


def revoke(community_id: int, subject: str, subject_id: int, *, reason: str, until: dt.datetime) -> bool:
    """Put a pass or QR credential on the revocation list (once). True when it was newly added."""
    if Revocation.objects.filter(community_id=community_id, subject=subject, subject_id=subject_id).exists():
        return False
    Revocation.objects.create(
        community_id=community_id,
        subject=subject,
        subject_id=subject_id,
        reason=reason,
        until=until,
        version=next_version(community_id),
    )
    return True


def compact(community_id: int, *, older_than: dt.timedelta = dt.timedelta(days=TOMBSTONE_DAYS)) -> int:
    """Delete old tombstones and expired revocations; controllers older than them get a snapshot."""
    cutoff = timezone.now() - older_than
    tombstones = AllowEntry.objects.filter(community_id=community_id, removed=True, changed_at__lt=cutoff)
    newest = max(tombstones.values_list("version", flat=True), default=0)
    count, _ = tombstones.delete()
    expired, _ = Revocation.objects.filter(community_id=community_id, until__lt=timezone.now()).delete()
    if newest:
        row = AccessSettings.objects.select_for_update().get(community_id=community_id)
        if newest > row.compacted_version:
            row.compacted_version = newest
            row.save(update_fields=["compacted_version"])
    return count + expired


# --- What a controller receives --------------------------------------------------------------------------


def payload_for(controller: Controller, since: int) -> dict[str, Any]:
    """The sync answer for ``controller`` at version ``since``: a delta, or a full snapshot when the
    controller is new, behind the purged tombstones, ahead of the server (restored from a backup) or
    more than :data:`MAX_DELTA` rows behind."""
    community_id = controller.community_id
    state = access_settings(community_id)
    head = state.version
    full = since <= 0 or since < state.compacted_version or since > head
    entries = AllowEntry.objects.filter(controller=controller)
    if not full:
        delta = entries.filter(version__gt=since)
        if delta.count() > MAX_DELTA:
            full = True
        else:
            entries = delta
    if full:
        entries = entries.filter(removed=False)
    allow: list[dict[str, Any]] = []
    remove: list[str] = []
    for key, grants, removed in entries.order_by("key").values_list("key", "grants", "removed"):
        if removed:
            remove.append(key)
        else:
            allow.append({"key": key, "doors": grants})
    now = timezone.now()
    revocations = Revocation.objects.filter(community_id=community_id, until__gt=now)
    if not full:
        revocations = revocations.filter(version__gt=since)
    return {
        "version": head,
        "full": full,
        "controller": controller.code,
        "doors": [
            {"id": d.pk, "kind": d.kind, "building_id": d.building_id, "unit_id": d.unit_id, "floor": d.floor}
            for d in controller.doors.filter(retired_at__isnull=True).order_by("pk")
        ],
        "keys": [{"kid": k.kid, "public_key": k.public_key} for k in signing.published_keys(community_id)],
        "card_secret": card_secret(community_id),
        "allow": allow,
        "remove": remove,
        "revoked": [
            {"kind": r.subject, "id": r.subject_id, "until": int(r.until.timestamp())}
            for r in revocations.order_by("version", "pk")
        ],
    }


# --- Change notices over MQTT ------------------------------------------------------------------------------


def notice_topic(community_id: int, controller_code: str) -> str:
    return f"anju/access/{community_id}/{controller_code}/changed"


def announce_change(community_id: int, version: int) -> None:
    """Tell the community's controllers over MQTT that version ``version`` is out (after commit).
    Without ``MQTT_URL`` controllers simply poll; a broker that is down costs a log line, not the
    write that caused the notice."""
    url = getattr(settings, "MQTT_URL", "")
    if not url:
        return
    from anju.core.tenancy import community_scope

    with community_scope(community_id):
        codes = list(
            Controller.objects.filter(community_id=community_id, retired_at__isnull=True).values_list("code", flat=True)
        )
    if codes:
        publish_notices(url, [(notice_topic(community_id, code), json.dumps({"version": version})) for code in codes])


def publish_notices(url: str, messages: list[tuple[str, str]]) -> None:
    from paho.mqtt import publish

    parsed = urlparse(url)
    auth = {"username": parsed.username, "password": parsed.password or ""} if parsed.username else None
    try:
        publish.multiple(
            [{"topic": topic, "payload": payload, "qos": 1, "retain": True} for topic, payload in messages],
            hostname=parsed.hostname or "127.0.0.1",
            port=parsed.port or 1883,
            auth=auth,  # type: ignore[arg-type]
            client_id=f"anju-access-{secrets.token_hex(4)}",
        )
    except OSError:
        logger.warning("could not publish access change notices to %s", parsed.hostname, exc_info=True)
