"""Every write on alarms and rules: staff acting on an alarm, other apps raising and clearing
alarms, managers editing rules.

An alarm's lifecycle::

    active ──acknowledge──▶ acknowledged ──start/assign──▶ in progress
       │                        │                              │
       └──────── the condition ends (pipeline, sweep) ─────────┴──▶ cleared
       └──────── resolve (fixed / no action / false alarm) ────────▶ resolved

Cleared means the device says the problem is gone; resolved means a person closed it with an
outcome. A cleared alarm may still be acknowledged and resolved (to record the outcome). Every
change to an alarm takes the device's rule-state lock first (as the pipeline does), so a person's
action and an ingest worker never interleave on one device.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.errors import Conflict, DomainError, NotFound
from anju.core.models import User
from anju.core.permissions import Perm, access_for
from anju.devices.alarms import dispatch
from anju.devices.alarms.catalogue import SEVERITIES, alarm_type, builtin_rules, editable_params
from anju.devices.alarms.models import (
    OPEN_STATES,
    Alarm,
    AlarmEvent,
    AlarmState,
    DeviceRuleState,
    Outcome,
    Review,
    Rule,
)
from anju.devices.alarms.pipeline import BatchResult, apply_signals
from anju.devices.alarms.rulebook import spec_of
from anju.devices.alarms.rules import Clear, Raise, RuleSpec
from anju.estates.models import Community


class AlarmStateConflict(Conflict):
    code = "alarm_state"


# --- For other apps: raise and clear -----------------------------------------------------------------


def raise_alarm(
    *,
    device: Any,
    alarm_type: str,
    severity: str,
    message: str,
    occurred_at: dt.datetime,
    dedupe_key: str = "",
    attrs: Mapping[str, Any] | None = None,
    actor: User | None = None,
) -> Alarm:
    """Raise (or repeat) an alarm of ``alarm_type`` on ``device`` — e.g. access control's forced
    door. Exactly as the pipeline would: an open alarm of that type counts a repeat; one cleared
    within the flap window comes back; otherwise a new alarm. Returns the alarm."""
    if severity not in SEVERITIES:
        raise DomainError(_("Unknown severity."), field="severity")
    data = dict(attrs or {})
    if dedupe_key:
        data["dedupe_key"] = dedupe_key
    signal = Raise(alarm_type, severity, occurred_at.timestamp(), message[:300], "", data)
    apply_signals({device.pk: (device.community_id, device.kind)}, {device.pk: [signal]}, actor=actor)
    return Alarm.objects.open().get(device_id=device.pk, alarm_type=alarm_type)


def clear_alarm(*, device: Any, alarm_type: str, occurred_at: dt.datetime, actor: User | None = None) -> Alarm | None:
    """Clear the open alarm of ``alarm_type`` on ``device``, if any; returns it."""
    result = apply_signals(
        {device.pk: (device.community_id, device.kind)},
        {device.pk: [Clear(alarm_type, occurred_at.timestamp())]},
        actor=actor,
    )
    return Alarm.objects.filter(pk__in=result.cleared).first()


def raise_and_clear(devices: dict[int, tuple[int, str]], signals: dict[int, list[Any]]) -> BatchResult:
    return apply_signals(devices, signals)


# --- Staff acting on an alarm ----------------------------------------------------------------------


def _locked(alarm: Alarm) -> Alarm:
    """Take the device's alarm lock, then re-read the alarm under it."""
    DeviceRuleState.objects.select_for_update().filter(device_id=alarm.device_id).first()
    return Alarm.objects.select_for_update().get(pk=alarm.pk)


def _event(alarm: Alarm, kind: str, actor: User | None, note: str = "") -> None:
    AlarmEvent.objects.create(community_id=alarm.community_id, alarm=alarm, kind=kind, actor=actor, note=note[:300])


def _audit(alarm: Alarm, action: str, actor: User | None, before: dict[str, Any]) -> None:
    fields = ("state", "outcome", "assigned_to", "acknowledged_by", "review", "resolved_by")
    old, new = audit.changed(before, audit.snapshot(alarm, fields))
    audit.record(actor=actor, action=action, obj=alarm, before=old, after=new)


@transaction.atomic
def acknowledge_alarm(alarm: Alarm, *, actor: User) -> Alarm:
    """ "I have seen it": stops the escalation clock. Acknowledging twice is refused."""
    alarm = _locked(alarm)
    if alarm.acknowledged_at is not None or alarm.state == AlarmState.RESOLVED:
        raise AlarmStateConflict(_("This alarm has already been acknowledged or resolved."))
    before = audit.snapshot(alarm)
    alarm.acknowledged_at = timezone.now()
    alarm.acknowledged_by = actor
    if alarm.state == AlarmState.ACTIVE:
        alarm.state = AlarmState.ACKNOWLEDGED
    alarm.save(update_fields=["acknowledged_at", "acknowledged_by", "state"])
    _event(alarm, AlarmEvent.Kind.ACKNOWLEDGED, actor)
    _audit(alarm, "alarm.acknowledge", actor, before)
    return alarm


@transaction.atomic
def assign_alarm(alarm: Alarm, *, assignee: User, actor: User) -> Alarm:
    """Give the alarm to someone who may handle alarms here; an open alarm moves to in progress
    (and counts as acknowledged)."""
    if not access_for(assignee).has(Perm.HANDLE_ALARMS, alarm.community_id):
        raise DomainError(_("This person may not handle alarms in this community."), field="assignee")
    alarm = _locked(alarm)
    if alarm.state == AlarmState.RESOLVED:
        raise AlarmStateConflict(_("This alarm is already resolved."))
    before = audit.snapshot(alarm)
    now = timezone.now()
    alarm.assigned_to = assignee
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at, alarm.acknowledged_by = now, actor
    if alarm.state in OPEN_STATES:
        alarm.state = AlarmState.IN_PROGRESS
    alarm.save(update_fields=["assigned_to", "acknowledged_at", "acknowledged_by", "state"])
    _event(alarm, AlarmEvent.Kind.ASSIGNED, actor, assignee.get_full_name() or assignee.get_username())
    _audit(alarm, "alarm.assign", actor, before)
    return alarm


def start_alarm_work(alarm: Alarm, *, actor: User) -> Alarm:
    """ "I am on it": the alarm is assigned to the actor and in progress."""
    return assign_alarm(alarm, assignee=actor, actor=actor)


@transaction.atomic
def resolve_alarm(alarm: Alarm, *, outcome: str, note: str = "", actor: User) -> Alarm:
    """Close the alarm with an outcome (fixed, no action needed, false alarm). A camera alarm marked
    false counts against that camera's precision; one closed as fixed is confirmed."""
    if outcome not in {Outcome.FIXED, Outcome.NO_ACTION, Outcome.FALSE_ALARM}:
        raise DomainError(_("Choose an outcome."), field="outcome")
    alarm = _locked(alarm)
    if alarm.state == AlarmState.RESOLVED:
        raise AlarmStateConflict(_("This alarm is already resolved."))
    before = audit.snapshot(alarm)
    now = timezone.now()
    alarm.state = AlarmState.RESOLVED
    alarm.outcome = outcome
    alarm.resolved_at, alarm.resolved_by = now, actor
    fields = ["state", "outcome", "resolved_at", "resolved_by"]
    if alarm.review == Review.PENDING:
        alarm.review = Review.FALSE if outcome == Outcome.FALSE_ALARM else Review.CONFIRMED
        alarm.reviewed_at, alarm.reviewed_by = now, actor
        fields += ["review", "reviewed_at", "reviewed_by"]
    alarm.save(update_fields=fields)
    _event(alarm, AlarmEvent.Kind.RESOLVED, actor, f"{alarm.get_outcome_display()} {note}".strip())
    _audit(alarm, "alarm.resolve", actor, before)
    if alarm.notice_ref:
        dispatch.queue_end_notices([alarm.pk])
    return alarm


@transaction.atomic
def review_alarm(alarm: Alarm, *, genuine: bool, note: str = "", actor: User) -> Alarm:
    """A person's verdict on an AI-camera alarm: confirmed (it really happened; the alarm stays for
    handling) or false (closed as a false alarm). Precision per camera and event type is computed
    from these verdicts (:func:`camera_precision`)."""
    if not genuine:
        return resolve_alarm(alarm, outcome=Outcome.FALSE_ALARM, note=note, actor=actor)
    alarm = _locked(alarm)
    if alarm.review != Review.PENDING:
        raise AlarmStateConflict(_("This alarm does not await a review."))
    before = audit.snapshot(alarm)
    alarm.review = Review.CONFIRMED
    alarm.reviewed_at, alarm.reviewed_by = timezone.now(), actor
    alarm.save(update_fields=["review", "reviewed_at", "reviewed_by"])
    _event(alarm, AlarmEvent.Kind.REVIEWED, actor, note)
    _audit(alarm, "alarm.review", actor, before)
    return alarm


# --- Rules ---------------------------------------------------------------------------------------------


def current_rule(community: Community, device_kind: str, key: str, device: Any = None) -> tuple[RuleSpec, str]:
    """The rule in force for a template (``device`` None) or a device, and where it comes from:
    ``"builtin"``, ``"template"`` or ``"device"``."""
    if device is not None:
        row = Rule.objects.filter(device=device, key=key, effective_to__isnull=True).first()
        if row is not None:
            return spec_of(row), "device"
    row = Rule.objects.filter(device__isnull=True, device_kind=device_kind, key=key, effective_to__isnull=True).first()
    if row is not None:
        return spec_of(row), "template"
    builtin = {spec.key: spec for spec in builtin_rules(device_kind)}.get(key)
    if builtin is None:
        raise NotFound(_("No such rule for this kind of device."))
    return builtin, "builtin"


def _clean_params(base: RuleSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    params = dict(base.params)
    for param in editable_params(base.key, base.kind):
        if param.name not in values:
            continue
        raw = values[param.name]
        if raw in (None, ""):
            params.pop(param.name, None)
            continue
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise DomainError(_("Enter a number."), field=param.name) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise DomainError(_("Enter a number."), field=param.name)
        if param.integer:
            if number != int(number):
                raise DomainError(_("Enter a whole number."), field=param.name)
            number = int(number)
        if param.minimum is not None and number < param.minimum:
            raise DomainError(_("At least %(minimum)s.") % {"minimum": f"{param.minimum:g}"}, field=param.name)
        if param.maximum is not None and number > param.maximum:
            raise DomainError(_("At most %(maximum)s.") % {"maximum": f"{param.maximum:g}"}, field=param.name)
        params[param.name] = number
    return params


@transaction.atomic
def save_rule(
    *,
    community: Community,
    device_kind: str,
    key: str,
    device: Any = None,
    severity: str,
    enabled: bool,
    params: Mapping[str, Any],
    note: str = "",
    actor: User,
) -> Rule:
    """A new version of a community's rule template (``device`` None) or a device's override.

    The version in force is closed (``effective_to``) and the new one starts now, so the rule that
    raised any past alarm can still be read. Only the scalar parameters the catalogue marks editable
    change; the structure (conditions, code tables) is the template's.
    """
    if device is not None and (device.community_id != community.pk or device.kind != device_kind):
        raise NotFound()
    if severity not in SEVERITIES:
        raise DomainError(_("Unknown severity."), field="severity")
    base, _source = current_rule(community, device_kind, key, device)
    new_params = _clean_params(base, params)
    scope = Rule.objects.select_for_update().filter(community=community, key=key)
    scope = (
        scope.filter(device=device)
        if device is not None
        else scope.filter(device__isnull=True, device_kind=device_kind)
    )
    now = timezone.now()
    latest = scope.aggregate(top=Max("version"))["top"] or 0
    current = scope.filter(effective_to__isnull=True).first()
    before = audit.snapshot(current) if current is not None else {"version": 0, "params": dict(base.params)}
    if current is not None:
        current.effective_to = now
        current.save(update_fields=["effective_to"])
    rule = Rule.objects.create(
        community=community,
        device_kind=device_kind,
        device=device,
        key=key,
        version=latest + 1,
        kind=base.kind,
        alarm_type=base.alarm_type,
        severity=severity,
        params=new_params,
        enabled=enabled,
        suppressible=base.suppressible,
        effective_from=now,
        created_by=actor,
        note=note[:200],
    )
    audit.record(actor=actor, action="alarm_rule.save", obj=rule, before=before, after=audit.snapshot(rule))
    return rule


@transaction.atomic
def remove_override(*, device: Any, key: str, actor: User) -> None:
    """End a device's override: from now on the community template applies again."""
    current = Rule.objects.select_for_update().filter(device=device, key=key, effective_to__isnull=True).first()
    if current is None:
        raise NotFound(_("This device has no override of that rule."))
    before = audit.snapshot(current)
    current.effective_to = timezone.now()
    current.save(update_fields=["effective_to"])
    audit.record(
        actor=actor, action="alarm_rule.remove_override", obj=current, before=before, after=audit.snapshot(current)
    )


# --- Reading helpers used by pages and the API ------------------------------------------------------


def camera_precision(community_id: int) -> list[dict[str, Any]]:
    """Per camera and event type: confirmed, false and undecided alarms, and precision =
    confirmed / (confirmed + false), None until someone has decided one."""
    from django.db.models import Count, Q

    rows = (
        Alarm.objects.filter(community_id=community_id)
        .exclude(review="")
        .values("device_id", "device__code", "device__name", "alarm_type")
        .annotate(
            confirmed=Count("pk", filter=Q(review=Review.CONFIRMED)),
            false=Count("pk", filter=Q(review=Review.FALSE)),
            pending=Count("pk", filter=Q(review=Review.PENDING)),
        )
        .order_by("device__code", "alarm_type")
    )
    table = []
    for row in rows:
        decided = row["confirmed"] + row["false"]
        table.append(
            {
                **row,
                "type_label": alarm_type(row["alarm_type"]).label,
                "precision": row["confirmed"] / decided if decided else None,
            }
        )
    return table
