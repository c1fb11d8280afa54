"""The access log: events uploaded by controllers, online decisions, retention, and alarms.

Controllers upload their decisions in batches (``POST /access/controller/events``). Each event
carries the controller's own sequence number; ``(controller, event_id)`` is unique in the table and
rows are inserted with ``ignore_conflicts``, so a batch re-sent after a lost answer — or sent twice
at once — is stored once. A granted pass entry recounts that pass's uses (reconciliation across
controllers); a used-up pass goes on the revocation list.

Forced doors and repeated denials at one door become alarms through the device alarm pipeline
(:func:`anju.devices.alarms.services.raise_alarm`) when the door's controller is bound to a device.

Retention (PIPL: the shortest period the purpose needs) is a community setting, 180 days by
default; :func:`purge_access_log` deletes older entries and runs daily (:mod:`anju.access.tasks`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.access import signing, sync, tokens
from anju.access.facts import FactsLoader, door_facts, pass_facts
from anju.access.models import AccessEvent, Controller, Credential, Door, VisitorPass
from anju.access.rules import Decision, Reason, decide, grant_for
from anju.core import audit
from anju.core.errors import DomainError
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.residents.models import Occupancy

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
RESULTS = {"granted", "denied", "forced"}


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    last_event_id: int = 0
    alarms: list[str] = field(default_factory=list)


def _moment(value: Any) -> dt.datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 946684800 <= value <= 4102444800:  # 2000-01-01 .. 2100-01-01
        return None
    return dt.datetime.fromtimestamp(int(value), dt.UTC)


def _current_home_ids(person_ids: set[int], on: dt.date) -> dict[int, int]:
    """One current home per person (the first recorded), for the household's view of the log."""
    homes: dict[int, int] = {}
    for person_id, home_id in (
        Occupancy.objects.current(on)
        .filter(person_id__in=person_ids)
        .order_by("starts_on", "pk")
        .values_list("person_id", "home_id")
    ):
        homes.setdefault(person_id, home_id)
    return homes


@transaction.atomic
def ingest_events(controller: Controller, events: Sequence[dict[str, Any]]) -> IngestResult:
    """Store a batch of a controller's events once each; refuse malformed items without losing the
    rest (their positions come back in ``refused``)."""
    if len(events) > MAX_BATCH:
        raise DomainError(_("Send at most %(max)d events per batch.") % {"max": MAX_BATCH}, code="batch_too_large")
    result = IngestResult()
    community_id = controller.community_id
    now = timezone.now()
    with community_scope(community_id):
        doors = {d.pk: d for d in Door.objects.filter(controller=controller)}
        valid: list[tuple[int, dict[str, Any], dt.datetime]] = []
        for index, item in enumerate(events):
            if not isinstance(item, dict):
                result.refused.append({"index": index, "reason": "not_an_object"})
                continue
            event_id, door_id, moment = item.get("id"), item.get("door_id"), _moment(item.get("at"))
            if not isinstance(event_id, int) or isinstance(event_id, bool) or not 0 < event_id < 2**62:
                result.refused.append({"index": index, "reason": "bad_id"})
            elif door_id not in doors:
                result.refused.append({"index": index, "reason": "unknown_door"})
            elif moment is None:
                result.refused.append({"index": index, "reason": "bad_time"})
            elif item.get("result") not in RESULTS:
                result.refused.append({"index": index, "reason": "bad_result"})
            else:
                valid.append((event_id, item, moment))
        ids = [event_id for event_id, _item, _m in valid]
        known = set(
            AccessEvent.objects.filter(controller=controller, event_id__in=ids).values_list("event_id", flat=True)
        )
        fresh = [(i, item, m) for i, item, m in valid if i not in known]
        keys = {str(item.get("key", ""))[:80] for _i, item, _m in fresh if item.get("key")}
        credentials = {
            c.lookup_key: c
            for c in Credential.objects.filter(lookup_key__in=keys).order_by("issued_at", "pk")  # newest wins
        }
        pass_ids = {item["pass_id"] for _i, item, _m in fresh if isinstance(item.get("pass_id"), int)}
        passes = {p.pk: p for p in VisitorPass.objects.filter(pk__in=pass_ids)}
        homes = _current_home_ids({c.person_id for c in credentials.values() if c.person_id}, timezone.localdate())
        rows: list[AccessEvent] = []
        seen: set[int] = set()
        for event_id, item, moment in fresh:
            if event_id in seen:
                continue
            seen.add(event_id)
            credential = credentials.get(str(item.get("key", "")))
            visitor_pass = passes.get(item.get("pass_id"))  # type: ignore[arg-type]
            home_id = visitor_pass.host_home_id if visitor_pass else None
            if credential is not None and credential.person_id:
                home_id = homes.get(credential.person_id)
            rows.append(
                AccessEvent(
                    community_id=community_id,
                    controller=controller,
                    event_id=event_id,
                    door_id=item["door_id"],
                    occurred_at=moment,
                    received_at=now,
                    result=item["result"],
                    method=str(item.get("method", ""))[:10],
                    reason=str(item.get("reason", ""))[:30],
                    credential=credential,
                    visitor_pass=visitor_pass,
                    person_id=credential.person_id if credential else None,
                    user_id=credential.user_id if credential else None,
                    home_id=home_id,
                )
            )
        AccessEvent.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
        stored_ids = set(
            AccessEvent.objects.filter(
                controller=controller, event_id__in=[r.event_id for r in rows], received_at=now
            ).values_list("event_id", flat=True)
        )
        result.stored = len(stored_ids)
        result.duplicates = len(valid) - result.stored
        result.last_event_id = max(ids, default=0)
        _after_ingest(controller, [r for r in rows if r.event_id in stored_ids], doors, result)
        Controller.objects.filter(pk=controller.pk).update(last_seen_at=now)
    if result.stored:
        audit.record(
            actor=None,
            action="access.events.upload",
            obj=controller,
            after={"stored": result.stored, "duplicates": result.duplicates, "refused": len(result.refused)},
        )
    return result


def _after_ingest(
    controller: Controller, rows: list[AccessEvent], doors: dict[int, Door], result: IngestResult
) -> None:
    """Door status, pass use reconciliation and alarms for the newly stored events."""
    from anju.access.passes import recount_uses

    latest: dict[int, AccessEvent] = {}
    for row in rows:
        assert row.door_id is not None
        if row.door_id not in latest or row.occurred_at > latest[row.door_id].occurred_at:
            latest[row.door_id] = row
    for door_id, row in latest.items():
        Door.objects.filter(pk=door_id).update(last_event_at=row.occurred_at, last_result=row.result)
    for pass_id in sorted({r.visitor_pass_id for r in rows if r.visitor_pass_id and r.result == "granted"}):
        recount_uses(VisitorPass.objects.get(pk=pass_id))
    from anju.access import alarms

    last_denial: dict[int, dt.datetime] = {}
    for row in rows:
        door = doors[row.door_id or 0]
        if row.result == AccessEvent.Result.FORCED:
            result.alarms.append(alarms.door_forced(controller, door, row))
        elif row.result == AccessEvent.Result.DENIED:
            last_denial[door.pk] = max(last_denial.get(door.pk, row.occurred_at), row.occurred_at)
    for door_id, moment in sorted(last_denial.items()):
        # Judged at the newest denial uploaded, not at upload time: a batch that waited offline for
        # a day still shows a burst of denials as the burst it was.
        raised = alarms.check_repeated_denials(controller, doors[door_id], now=moment)
        if raised:
            result.alarms.append(raised)


# --- Online decisions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnlineVerdict:
    allowed: bool
    reason: str
    credential: Credential | None = None
    visitor_pass: VisitorPass | None = None


def _credential_decision(door: Door, credential: Credential | None, at: int) -> OnlineVerdict:
    if credential is None:
        return OnlineVerdict(False, "unknown_credential")
    holder = FactsLoader(door.community_id).holders([credential])[credential.pk]
    decision: Decision = decide(holder, door_facts(door), at)
    return OnlineVerdict(decision.allowed, str(decision.reason), credential)


def decide_online(
    door: Door,
    *,
    card: str = "",
    plate: str = "",
    face: str = "",
    token: str = "",
    at: dt.datetime | None = None,
) -> OnlineVerdict:
    """A controller in online mode asks: may this card / plate / face / QR open ``door`` now? The
    answer comes from :func:`anju.access.rules.decide`, the same rule the allow-lists are built from.
    Runs inside the door's community scope; records nothing (the controller uploads its event)."""
    moment = int((at or timezone.now()).timestamp())
    community_id = door.community_id
    active = Credential.objects.filter(community_id=community_id, ended_at__isnull=True).select_related("user")
    if card:
        key = tokens.card_key(sync.card_secret(community_id), card)
        return _credential_decision(door, active.filter(lookup_key=key).first(), moment)
    if plate:
        return _credential_decision(
            door, active.filter(lookup_key="plate:" + tokens.normalize_plate(plate)).first(), moment
        )
    if face:
        return _credential_decision(door, active.filter(lookup_key="face:" + face.strip()).first(), moment)
    if not token:
        return OnlineVerdict(False, "nothing_presented")
    try:
        claims = tokens.verify(token, signing.public_keys(community_id))
    except tokens.TokenError as exc:
        return OnlineVerdict(False, exc.code)
    if claims.community_id != community_id:
        return OnlineVerdict(False, "wrong_community")
    if claims.kind == tokens.KIND_RESIDENT_QR:
        if not claims.not_before <= moment < claims.not_after:
            return OnlineVerdict(False, "expired")
        return _credential_decision(door, active.filter(pk=claims.subject_id, kind=Credential.Kind.QR).first(), moment)
    visitor_pass = VisitorPass.objects.filter(pk=claims.subject_id).select_related("host_home").first()
    if visitor_pass is None:
        return OnlineVerdict(False, "unknown_pass")
    from anju.access.passes import _pass_state

    allowed, reason = _pass_state(visitor_pass, None, dt.datetime.fromtimestamp(moment, dt.UTC))
    if allowed:
        grant = grant_for(pass_facts(visitor_pass), door_facts(door))
        reason = str(Reason.NO_RIGHT) if grant is None else str(grant.check(moment))
        allowed = reason == Reason.OK
    return OnlineVerdict(allowed, reason, visitor_pass=visitor_pass)


# --- Retention ------------------------------------------------------------------------------------------------


def purge_access_log(community_id: int, *, now: dt.datetime | None = None, actor: User | None = None) -> int:
    """Delete the community's access events older than its retention setting; returns how many."""
    with community_scope(community_id), transaction.atomic():
        days = sync.access_settings(community_id).log_retention_days
        cutoff = (now or timezone.now()) - dt.timedelta(days=days)
        count, _ = AccessEvent.objects.filter(community_id=community_id, occurred_at__lt=cutoff).delete()
        if count:
            audit.record(
                actor=actor,
                action="access.log.purge",
                object_type="access.accessevent",
                community_id=community_id,
                after={"deleted": count, "before": cutoff.isoformat(), "retention_days": days},
            )
    return count
