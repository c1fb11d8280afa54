"""The built-in rule templates per device kind, the alarm types they raise, and what a manager may
edit in each.

These are version 0 of every rule. A community's template (``Rule`` with no device) and a device's
override (``Rule`` with a device) replace a built-in rule of the same ``key`` from their
``effective_from`` on; see :mod:`anju.devices.alarms.rulebook`.

What devices are expected to send (the contract with :mod:`anju.devices` ingestion and the
simulator; every field optional, a missing field says nothing):

* lifts: telemetry ``moving``, ``door_open``, ``occupied`` (0/1) and ``floor``; events
  ``lift.fault.01`` … ``lift.fault.11`` (GB/T 24476 regulator codes; ``state`` "clear" ends one);
  status ``service_mode``.
* escalators: events ``escalator.fault.61`` … ``escalator.fault.65``.
* fire panels and detectors (GB 26875.3): events ``fire.<status>`` with ``state`` "raise"/"clear";
  ``fire.reset`` clears every fire status of the device.
* electrical fire monitors (GB 14287): telemetry ``residual_current_ma``, ``cable_temp_c``; event
  ``electrical.arc_fault``.
* pumps: telemetry ``pressure_mpa``, ``flow_m3h``; event ``pump.fault``.
* tanks: telemetry ``level_pct``. Pressure sensors: ``pressure_mpa``. Leak sensors: event
  ``leak.detected`` (raise/clear) or telemetry ``leak`` (0/1).
* meters: telemetry ``reading`` (cumulative kWh or m³) and ``flow_m3h`` (water).
* cameras (Hikvision/Dahua pushes, normalised by ingestion): events ``camera.fall``,
  ``camera.ebike_in_lift``, ``camera.ebike_in_corridor``, ``camera.fire_exit_blocked`` with
  ``state`` "active"/"inactive" and a snapshot.
* door controllers: events ``door.forced``, ``door.held_open``, ``door.denied``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from anju.devices.alarms.rules import RuleSpec

SEVERITIES = ("critical", "major", "minor", "warning")
SEVERITY_LABELS: dict[str, Promise] = {
    "critical": _("critical"),
    "major": _("major"),
    "minor": _("minor"),
    "warning": _("warning"),
}
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

# Service modes in which fault alarms are suppressed (DOMAIN §5: "fault alarms are suppressed in
# maintenance mode"). Fire return, firefighter, emergency power and earthquake modes are not
# maintenance: a fault then matters more, not less.
SUPPRESSING_MODES = frozenset({"maintenance", "inspection", "out_of_service"})


@dataclass(frozen=True)
class AlarmType:
    code: str
    label: Promise
    # Which work-order category a work order for it goes to (WO's default category codes).
    category: str = "other"
    # Residents affected are told (lift out of service, no water).
    outage: bool = False
    # The lift/escalator/fire trade: the duty roles notified on a critical alarm.
    camera: bool = False


def _types(*entries: AlarmType) -> dict[str, AlarmType]:
    return {entry.code: entry for entry in entries}


LIFT_FAULTS = {
    "01": _("safety circuit open"),
    "02": _("door-close fault"),
    "03": _("door-open fault"),
    "04": _("stopped outside the door zone"),
    "05": _("unintended car movement"),
    "06": _("motor run-time limiter tripped"),
    "07": _("floor position lost"),
    "08": _("restart-prevention fault"),
    "09": _("overrun at the top"),
    "10": _("overrun at the bottom"),
    "11": _("passengers trapped"),
}
# GB/T 24476 leaves the escalator codes 61-65 to the regulator's list; they are named by number.
ESCALATOR_FAULTS = ("61", "62", "63", "64", "65")
FIRE_STATUSES = {
    "alarm": (_("fire alarm"), "critical"),
    "fault": (_("fire system fault"), "major"),
    "disabled": (_("fire component disabled"), "minor"),
    "supervisory": (_("fire supervisory signal"), "major"),
    "started": (_("fire equipment started"), "critical"),
    "feedback": (_("fire equipment feedback"), "warning"),
    "delay": (_("fire extinguishing delay running"), "critical"),
    "main_power_fault": (_("fire panel main power fault"), "major"),
    "backup_power_fault": (_("fire panel backup power fault"), "major"),
    "bus_fault": (_("fire panel bus fault"), "major"),
}
CAMERA_EVENTS = {
    "camera.fall": (_("person fallen"), "critical"),
    "camera.ebike_in_lift": (_("e-bike in a lift"), "major"),
    "camera.ebike_in_corridor": (_("e-bike in a corridor"), "major"),
    "camera.fire_exit_blocked": (_("fire exit blocked"), "major"),
}

ALARM_TYPES: dict[str, AlarmType] = _types(
    AlarmType("lift.entrapment", _("passengers trapped (derived)"), "lift", outage=True),
    *(
        AlarmType(f"lift.fault.{code}", label, "lift", outage=code in {"01", "04", "05", "09", "10", "11"})
        for code, label in LIFT_FAULTS.items()
    ),
    AlarmType("lift.repeated_door_faults", _("repeated lift door faults"), "lift"),
    *(AlarmType(f"escalator.fault.{code}", _("escalator fault"), "lift", outage=True) for code in ESCALATOR_FAULTS),
    *(AlarmType(f"fire.{status}", label, "fire") for status, (label, _severity) in FIRE_STATUSES.items()),
    AlarmType("electrical.residual_current", _("residual current high"), "electricity"),
    AlarmType("electrical.cable_temperature", _("cable temperature high"), "electricity"),
    AlarmType("electrical.arc_fault", _("arc fault"), "electricity"),
    AlarmType("water.pressure_low", _("supply pressure low"), "water", outage=True),
    AlarmType("water.pressure_high", _("supply pressure high"), "water"),
    AlarmType("water.flow_anomaly", _("abnormal flow"), "water"),
    AlarmType("pump.fault", _("pump fault"), "water", outage=True),
    AlarmType("tank.level_low", _("tank level low"), "water"),
    AlarmType("tank.level_high", _("tank level high"), "water"),
    AlarmType("leak.detected", _("water leak"), "water"),
    AlarmType("meter.backwards", _("meter reading went backwards"), "other"),
    AlarmType("meter.jump", _("meter reading jumped"), "other"),
    *(AlarmType(code, label, "public_area", camera=True) for code, (label, _severity) in CAMERA_EVENTS.items()),
    AlarmType("door.forced", _("door forced open"), "doors_locks"),
    AlarmType("door.held_open", _("door held open"), "doors_locks"),
    AlarmType("door.repeated_denials", _("repeated denied access attempts"), "doors_locks"),
    AlarmType("device.no_data", _("device silent (no data)"), "other"),
)


def alarm_type(code: str) -> AlarmType:
    """The type's description; types raised by other apps with codes not listed here still show."""
    return ALARM_TYPES.get(code) or AlarmType(code, _("alarm"))


# --- Editable parameters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A scalar parameter a manager may change in a rule (the structural ones — conditions, code
    tables — are fixed by the template)."""

    name: str
    label: Promise
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False
    help: Promise | str = ""


ENTRAPMENT_SECONDS = Param(
    "seconds",
    _("seconds stopped with doors shut and passengers inside"),
    20,
    45,
    integer=True,
    help=_("Industry practice counts an entrapment after 20-45 s (DOMAIN §5)."),
)
EDITABLE: dict[str, tuple[Param, ...]] = {
    "threshold": (Param("limit", _("limit")), Param("clear_at", _("clears at"))),
    "duration": (Param("seconds", _("seconds the condition must hold"), 1, 86400, integer=True),),
    "repeat": (
        Param("count", _("occurrences"), 2, 1000, integer=True),
        Param("window", _("within seconds"), 1, 86400, integer=True),
    ),
    "rate": (
        Param("min_per_minute", _("lowest change per minute")),
        Param("max_per_minute", _("highest change per minute")),
    ),
    "anomaly": (
        Param("k", _("standard deviations"), 1, 20),
        Param("alpha", _("smoothing weight"), 0.001, 0.5),
        Param("warmup", _("readings before judging"), 2, 100000, integer=True),
    ),
    "event_code": (Param("silence_seconds", _("clears after seconds of silence"), 5, 86400, integer=True),),
    "no_data": (Param("seconds", _("silent for seconds"), 30, 7 * 86400, integer=True),),
}


def editable_params(key: str, kind: str) -> tuple[Param, ...]:
    if key == "entrapment":
        return (ENTRAPMENT_SECONDS,)
    return EDITABLE.get(kind, ())


RULE_LABELS: dict[str, Promise] = {
    "entrapment": _("entrapment (stopped, doors shut, occupied)"),
    "lift_faults": _("lift fault codes 01-11"),
    "door_fault_repeats": _("repeated door faults"),
    "escalator_faults": _("escalator fault codes 61-65"),
    "fire_status": _("fire status raise/clear pairs (GB 26875.3)"),
    "residual_current": _("residual current (GB 14287)"),
    "cable_temperature": _("cable temperature (GB 14287)"),
    "arc_fault": _("arc fault (GB 14287)"),
    "pressure_low": _("supply pressure low"),
    "pressure_high": _("supply pressure high"),
    "flow_anomaly": _("abnormal flow (rolling statistics)"),
    "pump_fault": _("pump fault"),
    "level_low": _("tank level low"),
    "level_high": _("tank level high"),
    "leak_event": _("leak reported"),
    "leak_point": _("leak sensor wet"),
    "reading_backwards": _("reading went backwards"),
    "reading_jump": _("reading jumped"),
    "camera_events": _("AI camera events"),
    "door_events": _("door events"),
    "denied_repeats": _("repeated denied attempts"),
    "no_data": _("no data"),
}


# --- The templates ---------------------------------------------------------------------------------

ALL_CHANNELS = ("telemetry", "event", "status")
EVENTS = ("event",)


def _no_data(seconds: int, severity: str = "minor") -> RuleSpec:
    return RuleSpec("no_data", "no_data", "device.no_data", severity, {"seconds": seconds}, channels=ALL_CHANNELS)


def _events(key: str, codes: dict[str, dict[str, Any]], severity: str, **params: Any) -> RuleSpec:
    return RuleSpec(key, "event_code", "", severity, {"field": "event", "codes": codes, **params}, channels=EVENTS)


def _threshold(key: str, alarm: str, severity: str, field: str, op: str, limit: float, clear_at: float) -> RuleSpec:
    params = {"field": field, "op": op, "limit": limit, "clear_at": clear_at}
    return RuleSpec(key, "threshold", alarm, severity, params)


_LIFT = [
    RuleSpec(
        "entrapment",
        "duration",
        "lift.entrapment",
        "critical",
        {
            "all": [
                {"field": "moving", "op": "==", "value": 0},
                {"field": "door_open", "op": "==", "value": 0},
                {"field": "occupied", "op": "==", "value": 1},
            ],
            "seconds": 30,
        },
        suppressible=False,  # people trapped is never a "fault" a maintenance mode may hide
    ),
    _events(
        "lift_faults",
        {
            f"lift.fault.{code}": {
                "type": f"lift.fault.{code}",
                "severity": "critical" if code in {"05", "11"} else "major",
                "suppressible": code != "11",
            }
            for code in LIFT_FAULTS
        },
        "major",
    ),
    RuleSpec(
        "door_fault_repeats",
        "repeat",
        "lift.repeated_door_faults",
        "minor",
        {"match": [{"field": "event", "op": "==", "value": "lift.fault.02"}], "count": 3, "window": 600},
        channels=EVENTS,
    ),
    _no_data(300, "major"),
]
_ESCALATOR = [
    _events(
        "escalator_faults",
        {f"escalator.fault.{code}": {"type": f"escalator.fault.{code}"} for code in ESCALATOR_FAULTS},
        "major",
    ),
    _no_data(300, "major"),
]
_FIRE_CODES = {
    f"fire.{status}": {"type": f"fire.{status}", "severity": severity, "suppressible": False}
    for status, (_label, severity) in FIRE_STATUSES.items()
}
_FIRE = [_events("fire_status", _FIRE_CODES, "major"), _no_data(600, "major")]
_ELECTRICAL = [
    _threshold("residual_current", "electrical.residual_current", "major", "residual_current_ma", ">", 300, 250),
    _threshold("cable_temperature", "electrical.cable_temperature", "major", "cable_temp_c", ">", 70, 65),
    _events(
        "arc_fault", {"electrical.arc_fault": {"type": "electrical.arc_fault", "severity": "critical"}}, "critical"
    ),
    _no_data(600),
]
_PRESSURE = [
    _threshold("pressure_low", "water.pressure_low", "major", "pressure_mpa", "<", 0.15, 0.18),
    _threshold("pressure_high", "water.pressure_high", "minor", "pressure_mpa", ">", 0.6, 0.55),
    RuleSpec(
        "flow_anomaly",
        "anomaly",
        "water.flow_anomaly",
        "warning",
        {"field": "pressure_mpa", "k": 5, "warmup": 60, "min_std": 0.01},
    ),
]
_PUMP = [
    *_PRESSURE[:2],
    RuleSpec(
        "flow_anomaly",
        "anomaly",
        "water.flow_anomaly",
        "warning",
        {"field": "flow_m3h", "k": 5, "warmup": 60, "min_std": 0.5},
    ),
    _events("pump_fault", {"pump.fault": {"type": "pump.fault", "severity": "critical"}}, "critical"),
    _no_data(600, "major"),
]
_TANK = [
    _threshold("level_low", "tank.level_low", "major", "level_pct", "<", 20, 25),
    _threshold("level_high", "tank.level_high", "minor", "level_pct", ">", 95, 90),
    _no_data(900),
]
_LEAK = [
    _events("leak_event", {"leak.detected": {"type": "leak.detected"}}, "major", suppressible=False),
    _threshold("leak_point", "leak.detected", "major", "leak", ">=", 1, 0),
    _no_data(3600),
]
_METER = [
    RuleSpec(
        "reading_backwards",
        "rate",
        "meter.backwards",
        "minor",
        {"field": "reading", "min_per_minute": 0, "auto_clear": False},
    ),
    RuleSpec(
        "reading_jump", "rate", "meter.jump", "warning", {"field": "reading", "max_per_minute": 50, "auto_clear": False}
    ),
    RuleSpec(
        "flow_anomaly",
        "anomaly",
        "water.flow_anomaly",
        "warning",
        {"field": "flow_m3h", "k": 6, "warmup": 96, "min_std": 0.05},
    ),
    _no_data(3600),
]
_CAMERA = [
    _events(
        "camera_events",
        {code: {"type": code, "severity": severity} for code, (_label, severity) in CAMERA_EVENTS.items()},
        "major",
        silence_seconds=60,
        review=True,
        suppressible=False,
    ),
    _no_data(600),
]
_DOOR = [
    _events(
        "door_events",
        {
            "door.forced": {"type": "door.forced", "severity": "major"},
            "door.held_open": {"type": "door.held_open", "severity": "minor"},
        },
        "major",
    ),
    RuleSpec(
        "denied_repeats",
        "repeat",
        "door.repeated_denials",
        "minor",
        {"match": [{"field": "event", "op": "==", "value": "door.denied"}], "count": 5, "window": 60},
        channels=EVENTS,
    ),
    _no_data(900),
]

TEMPLATES: dict[str, list[RuleSpec]] = {
    "lift": _LIFT,
    "escalator": _ESCALATOR,
    "fire_panel": _FIRE,
    "smoke_detector": _FIRE,
    "electrical_fire_monitor": _ELECTRICAL,
    "pump": _PUMP,
    "tank": _TANK,
    "pressure_sensor": _PRESSURE,
    "leak_sensor": _LEAK,
    "water_meter": _METER,
    "electricity_meter": _METER[:2] + _METER[3:],
    "gas_meter": _METER[:2] + _METER[3:],
    "heat_meter": _METER[:2] + _METER[3:],
    "camera": _CAMERA,
    "door_controller": _DOOR,
}
DEFAULT_TEMPLATE = [_no_data(3600)]


def builtin_rules(device_kind: str) -> list[RuleSpec]:
    return TEMPLATES.get(device_kind, DEFAULT_TEMPLATE)
