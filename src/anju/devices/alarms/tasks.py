"""Periodic alarm work: silence and no-data checks, overdue durations, escalation, missed dispatches.

Each job is safe to run in two processes at once: raising and clearing go through the pipeline's
per-device locks (:func:`.pipeline.apply_signals`), escalation claims each alarm with a conditional
UPDATE on its escalation level, and dispatch claims with ``dispatched_at``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.models import Role
from anju.core.notifications import notify
from anju.core.periodic import periodic
from anju.core.permissions import staff_with_role
from anju.core.tenancy import scopes_disabled
from anju.devices.alarms import dispatch
from anju.devices.alarms.catalogue import SUPPRESSING_MODES, alarm_type
from anju.devices.alarms.models import Alarm, AlarmEvent, AlarmState, DeviceRuleState
from anju.devices.alarms.pipeline import apply_signals
from anju.devices.alarms.rulebook import rulebooks_for
from anju.devices.alarms.rules import Clear, Signal, duration_overdue, no_data_overdue

# Minutes an alarm may stay unacknowledged before each escalation step, by severity (None: never).
# Step 1 tells the community's managers, step 2 the company administrators. A setting
# (``ANJU_ALARM_ACK_MINUTES``) because response targets are contractual: lifts in a city must have
# someone on site within 30 minutes of an entrapment (DOMAIN §5), so 5 minutes to acknowledge.
ACK_MINUTES: dict[str, int | None] = {"critical": 5, "major": 15, "minor": 60, "warning": None}
ESCALATION_ROLES = {1: (Role.MANAGER,), 2: (Role.COMPANY_ADMIN,)}


def ack_minutes() -> dict[str, int | None]:
    return {**ACK_MINUTES, **getattr(settings, "ANJU_ALARM_ACK_MINUTES", {})}


@periodic("alarms.silence", every=dt.timedelta(seconds=15))
def clear_silent_alarms() -> int:
    """Camera alarms whose device stopped re-posting "active" for ``silence_seconds``: the episode
    is over even though no "inactive" came (a known quirk of camera pushes)."""
    now = timezone.now()
    with scopes_disabled():
        rows = list(
            Alarm.objects.open()
            .filter(silence_seconds__isnull=False)
            .values_list(
                "device_id", "community_id", "device__kind", "alarm_type", "last_occurred_at", "silence_seconds"
            )
        )
    devices: dict[int, tuple[int, str]] = {}
    signals: dict[int, list[Signal]] = defaultdict(list)
    for device_id, community_id, kind, type_code, last, silence in rows:
        if (now - last).total_seconds() >= silence:
            devices[device_id] = (community_id, kind)
            # Cleared as of the silence's end, not now: the episode's length stays truthful.
            signals[device_id].append(Clear(type_code, last.timestamp() + silence))
    if not signals:
        return 0
    return len(apply_signals(devices, signals).cleared)


@periodic("alarms.watch", every=dt.timedelta(seconds=15))
def raise_overdue_conditions() -> int:
    """Rules that fire on the *absence* of messages: no data for too long, and a duration condition
    (a trapped lift) that began and was never ended because the device went quiet."""
    from anju.devices.models import Device

    now = timezone.now()
    now_ts = now.timestamp()
    with scopes_disabled():
        devices = {
            pk: (community_id, kind, mode, last_seen)
            for pk, community_id, kind, mode, last_seen in Device.objects.values_list(
                "pk", "community_id", "kind", "service_mode", "last_seen_at"
            )
        }
        pending = {
            device_id: state
            for device_id, state in DeviceRuleState.objects.filter(device_id__in=list(devices)).values_list(
                "device_id", "state"
            )
            if any(isinstance(v, dict) and v.get("since") is not None for v in state.values())
        }
        open_types: dict[int, set[str]] = defaultdict(set)
        for device_id, type_code in Alarm.objects.open().values_list("device_id", "alarm_type"):
            open_types[device_id].add(type_code)
    books = rulebooks_for({community_id for community_id, *_rest in devices.values()})
    signals: dict[int, list[Signal]] = defaultdict(list)
    for device_id, (community_id, kind, mode, last_seen) in devices.items():
        rules = books[community_id].rules_for(kind, device_id)
        suppressed = mode in SUPPRESSING_MODES
        for spec in rules.specs:
            if not spec.enabled:
                continue
            if spec.kind == "no_data":
                last = last_seen.timestamp() if last_seen else None
                signals[device_id] += no_data_overdue(spec, last, now_ts, open_types[device_id], suppressed)
            elif spec.kind == "duration" and device_id in pending:
                state = pending[device_id].get(spec.key) or {}
                signals[device_id] += duration_overdue(spec, state, now_ts, open_types[device_id], suppressed)
    signals = {device_id: found for device_id, found in signals.items() if found}
    if not signals:
        return 0
    involved = {device_id: devices[device_id][:2] for device_id in signals}
    return len(apply_signals(involved, signals).raised)


@periodic("alarms.escalate", every=dt.timedelta(minutes=1))
def escalate_unacknowledged() -> int:
    """Alarms nobody acknowledged in time go up a level: managers, then company administrators.

    Each step is claimed with ``UPDATE … WHERE escalation_level = <seen>``: of two sweeps running
    at once only one moves an alarm up and notifies."""
    now = timezone.now()
    limits = ack_minutes()
    handled = 0
    with scopes_disabled():
        candidates = list(
            Alarm.objects.filter(
                state=AlarmState.ACTIVE, acknowledged_at__isnull=True, escalation_level__lt=2
            ).values_list(
                "pk", "community_id", "severity", "raised_at", "escalation_level", "alarm_type", "device__name"
            )
        )
    for pk, community_id, severity, raised_at, level, type_code, device_name in candidates:
        minutes = limits.get(severity)
        if minutes is None or now - raised_at < dt.timedelta(minutes=minutes * (level + 1)):
            continue
        with scopes_disabled(), transaction.atomic(), translation.override("zh-hans"):
            claimed = Alarm.objects.filter(pk=pk, escalation_level=level, state=AlarmState.ACTIVE).update(
                escalation_level=F("escalation_level") + 1, escalated_at=now
            )
            if not claimed:
                continue
            recipients = staff_with_role(community_id, *ESCALATION_ROLES[level + 1])
            alarm = Alarm.objects.get(pk=pk)
            title = _("Not acknowledged for %(minutes)s minutes: %(type)s at %(where)s") % {
                "minutes": minutes * (level + 1),
                "type": alarm_type(type_code).label,
                "where": device_name,
            }
            notify(
                recipients,
                kind="alarm_escalation",
                title=title,
                url=dispatch.alarm_url(alarm),
                community_id=community_id,
                sms=severity == "critical",
            )
            AlarmEvent.objects.create(
                community_id=community_id,
                alarm_id=pk,
                kind=AlarmEvent.Kind.ESCALATED,
                note=", ".join(sorted(u.get_username() for u in recipients))[:300],
            )
            audit.record(
                actor=None,
                action="alarm.escalate",
                obj=alarm,
                before={"escalation_level": level},
                after={"escalation_level": level + 1},
            )
            handled += 1
    return handled


@periodic("alarms.dispatch", every=dt.timedelta(minutes=1))
def dispatch_missed() -> int:
    """Serious alarms whose after-commit dispatch never ran (the process died): dispatch them now."""
    ids: list[Any] = dispatch.undispatched(older_than=dt.timedelta(seconds=30))
    return dispatch.dispatch_alarms(ids) if ids else 0
