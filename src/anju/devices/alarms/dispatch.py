"""What a serious alarm sets in motion once it is committed: a work order, the duty staff, residents.

Runs after the commit that raised the alarm (:func:`queue_dispatch`, through
:func:`anju.core.periodic.after_commit`: inline without Celery, a task with it). Each alarm is
claimed with a conditional UPDATE of ``dispatched_at`` inside the same transaction as its effects, so
two runners never both act on one alarm, and a runner that dies rolls its claim back; the periodic
``alarms.dispatch`` sweep picks up any alarm left unclaimed. Opening the work order is idempotent in
the work-order service as well (``source_ref="alarm:<id>"``).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.models import Role
from anju.core.notifications import notify
from anju.core.periodic import after_commit, background
from anju.core.permissions import staff_with_role
from anju.core.tenancy import community_scope, scopes_disabled
from anju.devices.alarms.catalogue import alarm_type
from anju.devices.alarms.models import OPEN_STATES, Alarm, AlarmEvent

logger = logging.getLogger(__name__)

DUTY_ROLES = (Role.TECHNICIAN, Role.GUARD, Role.MANAGER)


def needs_dispatch(severity: str, type_code: str) -> bool:
    return severity == "critical" or alarm_type(type_code).outage


def queue_dispatch(alarm_ids: list[int]) -> None:
    after_commit(dispatch_alarms, alarm_ids)


def queue_end_notices(alarm_ids: list[int]) -> None:
    after_commit(end_notices, alarm_ids)


def alarm_url(alarm: Alarm) -> str:
    return reverse("console:alarms_detail", args=[alarm.community_id, alarm.pk])


def _community_of(alarm_id: int) -> int | None:
    with scopes_disabled():
        return Alarm.objects.filter(pk=alarm_id).values_list("community_id", flat=True).first()


@background
def dispatch_alarms(alarm_ids: list[int]) -> int:
    """Dispatch alarms in one transaction (one commit for a burst, not one per alarm), each inside
    its own savepoint: one failing (say the work-order service refused) is rolled back alone, stays
    unclaimed for the sweep, and does not stop the others."""
    handled = 0
    with transaction.atomic():
        for alarm_id in alarm_ids:
            try:
                with transaction.atomic():
                    handled += dispatch_alarm(alarm_id)
            except Exception:  # the sweep retries; the alarm itself is already safely stored
                logger.exception("dispatching alarm %s failed", alarm_id)
    return handled


def dispatch_alarm(alarm_id: int) -> int:
    """Claim one alarm and act on it: 1 if this call did, 0 if someone else had (or nothing to do)."""
    community_id = _community_of(alarm_id)
    if community_id is None:
        return 0
    with community_scope(community_id), transaction.atomic(), translation.override("zh-hans"):
        now = timezone.now()
        claimed = Alarm.objects.filter(pk=alarm_id, dispatched_at__isnull=True, state__in=OPEN_STATES).update(
            dispatched_at=now
        )
        if not claimed:
            return 0
        alarm = Alarm.objects.select_related("device").get(pk=alarm_id)
        kind = alarm_type(alarm.alarm_type)
        where = _where(alarm)
        title = _("%(severity)s alarm: %(type)s at %(where)s") % {
            "severity": alarm.get_severity_display(),
            "type": kind.label,
            "where": where,
        }
        if alarm.severity == "critical":
            _open_work_order(alarm, title)
            staff = staff_with_role(community_id, *DUTY_ROLES)
            notify(
                staff,
                kind="alarm",
                title=title,
                body=alarm.message,
                url=alarm_url(alarm),
                community_id=community_id,
                sms=True,
            )
            AlarmEvent.objects.create(
                community_id=community_id,
                alarm=alarm,
                kind=AlarmEvent.Kind.NOTIFIED,
                note=", ".join(sorted(user.get_username() for user in staff))[:300],
            )
        if kind.outage:
            _publish_notice(alarm, where)
        audit.record(actor=None, action="alarm.dispatch", obj=alarm, after={"work_order": alarm.work_order_id})
        return 1


def _where(alarm: Alarm) -> str:
    device = alarm.device
    return str(device.name or device.code)


def _open_work_order(alarm: Alarm, title: str) -> None:
    from anju.workorders.services import create_order

    device = alarm.device
    order = create_order(
        community=device.community,
        kind="repair",
        category_code=alarm_type(alarm.alarm_type).category,
        description=f"{title}\n{alarm.message}".strip(),
        building=device.building,
        common_part=device.common_part,
        priority="urgent",
        source="alarm",
        source_ref=f"alarm:{alarm.pk}",
        actor=None,
    )
    alarm.work_order = order
    alarm.save(update_fields=["work_order"])
    AlarmEvent.objects.create(
        community_id=alarm.community_id, alarm=alarm, kind=AlarmEvent.Kind.WORK_ORDER, note=str(order)[:300]
    )


def _publish_notice(alarm: Alarm, where: str) -> None:
    """Tell the residents concerned (the device's building, else the whole community)."""
    from anju.community.services import publish_announcement

    device = alarm.device
    ref = f"alarm:{alarm.pk}"
    publish_announcement(
        community=device.community,
        title=_("Out of service: %(where)s") % {"where": where},
        body=_("%(type)s. Our staff are on it; we will tell you when it is back in service.")
        % {"type": alarm_type(alarm.alarm_type).label},
        category="outage",
        building_ids=(device.building_id,) if device.building_id else (),
        urgent=alarm.severity == "critical",
        source_ref=ref,
        actor=None,
    )
    alarm.notice_ref = ref
    alarm.save(update_fields=["notice_ref"])
    AlarmEvent.objects.create(community_id=alarm.community_id, alarm=alarm, kind=AlarmEvent.Kind.NOTICE, note=ref)


@background
def end_notices(alarm_ids: list[int]) -> int:
    """Withdraw the residents' notices of outages that have ended."""
    handled = 0
    for alarm_id in alarm_ids:
        community_id = _community_of(alarm_id)
        if community_id is None:
            continue
        with community_scope(community_id), transaction.atomic():
            alarm = Alarm.objects.select_related("device__community").filter(pk=alarm_id).first()
            if alarm is None or not alarm.notice_ref or alarm.is_open:
                continue
            from anju.community.services import withdraw_announcement

            withdraw_announcement(community=alarm.device.community, source_ref=alarm.notice_ref, actor=None)
            Alarm.objects.filter(pk=alarm_id, notice_ref=alarm.notice_ref).update(notice_ref="")
            handled += 1
    return handled


def undispatched(older_than: dt.timedelta) -> list[int]:
    """Alarms that should have been dispatched by now but were not (a process died in between)."""
    cutoff = timezone.now() - older_than
    with scopes_disabled():
        rows = Alarm.objects.filter(
            dispatched_at__isnull=True, state__in=OPEN_STATES, raised_at__lte=cutoff
        ).values_list("pk", "severity", "alarm_type")
        return [pk for pk, severity, type_code in rows if needs_dispatch(severity, type_code)]
