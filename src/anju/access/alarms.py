"""Access events that become alarms: a forced door, and repeated denials at one door.

They go through the device alarm pipeline (:func:`anju.devices.alarms.services.raise_alarm`) against
the device the door's controller is bound to, so they are handled, escalated and measured like every
other alarm. Each returns a short status for the upload's answer: ``"raised"``, ``"no_device"`` (the
controller is not bound to a registered device) or ``"no_pipeline"`` (the alarm app is not installed).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext

from anju.access import sync
from anju.access.models import AccessEvent, Controller, Door

logger = logging.getLogger(__name__)

# The alarm catalogue's types for door controllers (anju.devices.alarms.catalogue).
FORCED = "door.forced"
REPEATED_DENIALS = "door.repeated_denials"


def _raise(controller: Controller, **kwargs: Any) -> str:
    device = getattr(controller, "device", None)
    if device is None:
        logger.info("access alarm %s on controller %s not raised: no device bound", kwargs["alarm_type"], controller.pk)
        return "no_device"
    try:
        from anju.devices.alarms.services import raise_alarm
    except ImportError:  # pragma: no cover - the alarm app ships with anju
        return "no_pipeline"
    raise_alarm(device=device, **kwargs)
    return "raised"


def door_forced(controller: Controller, door: Door, event: AccessEvent) -> str:
    with translation.override("zh-hans"):
        message = gettext("Door forced open: %(door)s") % {"door": door.name}
    return _raise(
        controller,
        alarm_type=FORCED,
        severity="major",
        message=message,
        occurred_at=event.occurred_at,
        dedupe_key=f"{FORCED}:{door.pk}:{event.event_id}",
        attrs={"door_id": door.pk, "event_id": event.event_id},
    )


def check_repeated_denials(controller: Controller, door: Door, *, now: dt.datetime | None = None) -> str:
    """Raise one alarm per window when a door saw at least the configured number of denials in the
    configured minutes (someone trying cards, or a reader fault): the dedupe key names the window."""
    state = sync.access_settings(door.community_id)
    moment = now or timezone.now()
    window = dt.timedelta(minutes=state.denial_alarm_window_minutes)
    denials = AccessEvent.objects.filter(
        door=door, result=AccessEvent.Result.DENIED, occurred_at__gt=moment - window, occurred_at__lte=moment
    ).count()
    if denials < state.denial_alarm_threshold:
        return ""
    bucket = int(moment.timestamp()) // int(window.total_seconds())
    with translation.override("zh-hans"):
        message = gettext("%(count)d refused attempts at %(door)s within %(minutes)d minutes") % {
            "count": denials,
            "door": door.name,
            "minutes": state.denial_alarm_window_minutes,
        }
    return _raise(
        controller,
        alarm_type=REPEATED_DENIALS,
        severity="minor",
        message=message,
        occurred_at=moment,
        dedupe_key=f"{REPEATED_DENIALS}:{door.pk}:{bucket}",
        attrs={"door_id": door.pk, "denials": denials},
    )
