"""Rule evaluators: pure functions from (rule, persisted state, one reading) to (new state, signals).

Nothing here touches the database, the broker or the clock: the pipeline
(:mod:`anju.devices.alarms.pipeline`) loads the state, feeds readings in time order, and writes the
signals and changed states back. That keeps every rule testable with plain values.

Conventions shared by every evaluator:

* ``reading.at`` is the device's own timestamp as a POSIX float (seconds); ``reading.data`` the
  message's fields (``{"pressure": 0.31}``, ``{"code": "11"}``, ``{"event": "ebike", "state":
  "active"}``).
* ``state`` is a small JSON-able dict owned by one (device, rule); an evaluator never mutates the
  dict it was given: it returns a new one, or the same object when nothing changed (the pipeline
  writes a state row only when some rule returned a different object).
* ``open_types`` is the set of alarm types currently open (active, acknowledged or in progress) on
  the device, as the pipeline knows it at this point of the batch. Rules that have no memory of their
  own (threshold, event codes) use it instead: "raise when over the limit and not already open".
* A missing field means "this message says nothing about it" (partial telemetry is normal): the rule
  keeps its state and signals nothing.
* Messages can arrive out of order across ingest workers (MQTT shared subscriptions hand one
  device's consecutive messages to different workers). Rules with memory keep the time of the
  reading that last changed their state in ``state["t"]`` and ignore older readings; rules without
  memory are protected one level up, where a clear older than the alarm's last occurrence, or a raise
  older than its clearing, is dropped (:mod:`anju.devices.alarms.pipeline`).
* ``suppressed`` is true while the device is in a maintenance-like service mode; a rule (or an event
  code) marked ``suppressible`` raises nothing then, but still clears and keeps its memory.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# --- Values passed in and out ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    at: float
    channel: str  # "telemetry", "event" or "status"
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One effective rule for one device: the built-in default, a community template, or a device
    override (whichever is most specific), at its current version."""

    key: str
    kind: str
    alarm_type: str
    severity: str
    params: Mapping[str, Any] = field(default_factory=dict)
    suppressible: bool = True
    enabled: bool = True
    version: int = 0
    channels: tuple[str, ...] = ("telemetry",)


@dataclass(frozen=True, slots=True)
class Raise:
    alarm_type: str
    severity: str
    at: float
    message: str
    rule_key: str = ""
    attrs: Mapping[str, Any] = field(default_factory=dict)
    # Seconds without a repeat after which the alarm clears itself (cameras that never say inactive).
    silence_seconds: int | None = None
    needs_review: bool = False


@dataclass(frozen=True, slots=True)
class Clear:
    alarm_type: str
    at: float
    rule_key: str = ""


Signal = Raise | Clear
Outcome = tuple[dict[str, Any], list[Signal]]
NO_SIGNALS: list[Signal] = []

# --- Comparisons -----------------------------------------------------------------------------------

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
# The clearing side of each threshold operator (hysteresis: a value must move back past ``clear_at``).
OPPOSITE = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}


def _number(value: Any) -> float | None:
    """A finite float, or None for anything else (strings, NaN, booleans are not measurements)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def condition_holds(conditions: list[Mapping[str, Any]], data: Mapping[str, Any]) -> bool | None:
    """All ``{"field", "op", "value"}`` conditions true: True; any false: False; any field missing
    and none false: None (unknown — the message did not report it)."""
    unknown = False
    for cond in conditions:
        name = cond["field"]
        if name not in data:
            unknown = True
            continue
        try:
            if not OPERATORS[cond.get("op", "==")](data[name], cond["value"]):
                return False
        except TypeError:  # a string where a number was expected: treat as not matching
            return False
    return None if unknown else True


def _fmt(value: float) -> str:
    return f"{value:g}"


# --- Threshold -------------------------------------------------------------------------------------


def evaluate_threshold(
    spec: RuleSpec, state: dict[str, Any], reading: Reading, open_types: frozenset[str] | set[str], suppressed: bool
) -> Outcome:
    """``field op limit`` raises; the value moving back past ``clear_at`` (default: the limit)
    clears. Whether the alarm is already open comes from ``open_types``; the only memory is ``t``,
    the newest reading judged, so that a reading another worker delivers late cannot overrule a
    newer one (a "normal" at 10:00:05 seen before a "low" at 10:00:01 must leave no alarm)."""
    params = spec.params
    value = _number(reading.data.get(params["field"]))
    if value is None or reading.at < state.get("t", -math.inf):
        return state, NO_SIGNALS
    new_state = {"t": reading.at}
    op = params.get("op", ">")
    limit = float(params["limit"])
    is_open = spec.alarm_type in open_types
    if OPERATORS[op](value, limit):
        if is_open or (suppressed and spec.suppressible):
            return new_state, NO_SIGNALS
        message = f"{params['field']}={_fmt(value)} {op} {_fmt(limit)}"
        return new_state, [Raise(spec.alarm_type, spec.severity, reading.at, message, spec.key, {"value": value})]
    if is_open:
        clear_at = float(params.get("clear_at", limit))
        if OPERATORS[OPPOSITE[op]](value, clear_at):
            return new_state, [Clear(spec.alarm_type, reading.at, spec.key)]
    return new_state, NO_SIGNALS


# --- Duration --------------------------------------------------------------------------------------


def evaluate_duration(
    spec: RuleSpec, state: dict[str, Any], reading: Reading, open_types: frozenset[str] | set[str], suppressed: bool
) -> Outcome:
    """A condition held for longer than ``seconds``: entrapment is "stopped, doors shut, occupied"
    for more than T seconds (T a setting, 20-45 s).

    State: ``since`` (when the condition was first seen true, None while false), ``seen`` (the last
    reading that saw it true) and ``t`` (the reading that last changed the state). The alarm raises
    on the first reading at least ``seconds`` after ``since``; :func:`duration_overdue` raises it
    from the periodic sweep when the device goes quiet mid-condition. The condition ending clears it.

    Two true readings further apart than ``max_gap`` seconds (default 120) do not prove the
    condition held in between — a lift reporting every ten minutes, stopped with a passenger each
    time, is not an entrapment — so the clock restarts at the later reading.
    """
    if reading.at < state.get("t", -math.inf):
        return state, NO_SIGNALS
    holds = condition_holds(spec.params["all"], reading.data)
    if holds is None:
        return state, NO_SIGNALS
    since = state.get("since")
    is_open = spec.alarm_type in open_types
    if not holds:
        new_state = {"since": None, "t": reading.at} if since is not None else state
        signals: list[Signal] = [Clear(spec.alarm_type, reading.at, spec.key)] if is_open else NO_SIGNALS
        return new_state, signals
    max_gap = float(spec.params.get("max_gap", 120))
    if since is None or (not is_open and reading.at - state.get("seen", since) > max_gap):
        since = reading.at
        state = {"since": since, "seen": reading.at, "t": reading.at}
    elif reading.at > state.get("seen", since):
        state = {**state, "seen": reading.at}
    if not is_open and reading.at - since >= float(spec.params["seconds"]):
        return state, _duration_raise(spec, since, reading.at, suppressed)
    return state, NO_SIGNALS


def _duration_raise(spec: RuleSpec, since: float, at: float, suppressed: bool) -> list[Signal]:
    if suppressed and spec.suppressible:
        return NO_SIGNALS
    held = int(at - since)
    return [Raise(spec.alarm_type, spec.severity, at, f"{held}s", spec.key, {"since": since, "held_seconds": held})]


def duration_overdue(
    spec: RuleSpec, state: dict[str, Any], now: float, open_types: frozenset[str] | set[str], suppressed: bool
) -> list[Signal]:
    """The sweep's view of a duration rule: the condition started ``since`` and no reading has ended
    it, so once ``seconds`` have passed it has held that long even if the device fell silent."""
    since = state.get("since")
    seconds = float(spec.params["seconds"])
    if since is None or spec.alarm_type in open_types or now - since < seconds:
        return NO_SIGNALS
    if now - state.get("seen", since) > float(spec.params.get("max_gap", 120)) + seconds:
        return NO_SIGNALS  # silent for long: the no-data rule speaks for it, not a stale sample
    return _duration_raise(spec, since, now, suppressed)


# --- Repeat count ----------------------------------------------------------------------------------


def evaluate_repeat(
    spec: RuleSpec, state: dict[str, Any], reading: Reading, open_types: frozenset[str] | set[str], suppressed: bool
) -> Outcome:
    """An occurrence (``match``: all conditions true) seen ``count`` times within ``window`` seconds
    raises (three door-close faults in ten minutes, five denied cards in a minute).

    State: ``times``, the occurrences inside the window (at most ``count`` kept). Late readings are
    welcome here (counting does not depend on order): the window is measured back from the newest
    occurrence. No automatic clear: someone looks at it.
    """
    if condition_holds(spec.params["match"], reading.data) is not True:
        return state, NO_SIGNALS
    window = float(spec.params["window"])
    count = int(spec.params["count"])
    times = sorted([*state.get("times", ()), reading.at])
    newest = times[-1]
    times = [t for t in times if newest - t <= window][-count:]
    new_state = {"times": times}
    if len(times) >= count and spec.alarm_type not in open_types and not (suppressed and spec.suppressible):
        message = f"{len(times)}x / {_fmt(window)}s"
        return {"times": []}, [Raise(spec.alarm_type, spec.severity, newest, message, spec.key, {"count": len(times)})]
    return new_state, NO_SIGNALS


# --- Rate of change --------------------------------------------------------------------------------


def evaluate_rate(
    spec: RuleSpec, state: dict[str, Any], reading: Reading, open_types: frozenset[str] | set[str], suppressed: bool
) -> Outcome:
    """The change of ``field`` per minute since the previous reading outside
    [``min_per_minute``, ``max_per_minute``] raises (a meter going backwards: min 0; a jump: max;
    a tank draining fast: min negative). Back inside the band clears, if ``auto_clear``.

    State: the previous value ``v`` and its time ``t``. Readings closer than ``min_interval`` seconds
    to the previous one are too noisy to divide by, and update nothing.
    """
    value = _number(reading.data.get(spec.params["field"]))
    if value is None:
        return state, NO_SIGNALS
    previous_t = state.get("t")
    if previous_t is not None and reading.at <= previous_t:
        return state, NO_SIGNALS
    new_state = {"v": value, "t": reading.at}
    if previous_t is None:
        return new_state, NO_SIGNALS
    elapsed = reading.at - previous_t
    if elapsed < float(spec.params.get("min_interval", 1)):
        return state, NO_SIGNALS
    per_minute = (value - state["v"]) * 60.0 / elapsed
    low = spec.params.get("min_per_minute")
    high = spec.params.get("max_per_minute")
    outside = (low is not None and per_minute < float(low)) or (high is not None and per_minute > float(high))
    is_open = spec.alarm_type in open_types
    if outside and not is_open and not (suppressed and spec.suppressible):
        message = f"{spec.params['field']} {per_minute:+.3g}/min"
        attrs = {"from": state["v"], "to": value, "per_minute": per_minute}
        return new_state, [Raise(spec.alarm_type, spec.severity, reading.at, message, spec.key, attrs)]
    if not outside and is_open and spec.params.get("auto_clear", True):
        return new_state, [Clear(spec.alarm_type, reading.at, spec.key)]
    return new_state, NO_SIGNALS


# --- Rolling statistical anomaly -------------------------------------------------------------------


def evaluate_anomaly(
    spec: RuleSpec, state: dict[str, Any], reading: Reading, open_types: frozenset[str] | set[str], suppressed: bool
) -> Outcome:
    """A value more than ``k`` standard deviations from its exponentially weighted moving mean.

    State: ``n`` (readings seen), ``m`` (mean) and ``s2`` (variance), updated with weight ``alpha``
    per reading (the incremental EW mean/variance of Finch, "Incremental calculation of weighted
    mean and variance", 2009), so memory is three numbers whatever the history. No alarm during the
    first ``warmup`` readings. The deviation is measured against the baseline *before* the reading
    is folded in; ``min_std`` keeps a flat signal (a pressure that never moves) from making every
    small wobble an anomaly. An anomalous reading moves the baseline with a tenth of the weight, so a
    burst does not teach the baseline that the burst is normal, while a lasting shift is learnt.
    """
    value = _number(reading.data.get(spec.params["field"]))
    if value is None:
        return state, NO_SIGNALS
    if reading.at < state.get("t", -math.inf):
        return state, NO_SIGNALS
    alpha = float(spec.params.get("alpha", 0.05))
    k = float(spec.params.get("k", 4.0))
    warmup = int(spec.params.get("warmup", 30))
    n = int(state.get("n", 0))
    if n == 0:
        return {"n": 1, "m": value, "s2": 0.0, "t": reading.at}, NO_SIGNALS
    mean = float(state["m"])
    variance = float(state["s2"])
    std = max(math.sqrt(variance), float(spec.params.get("min_std", 1e-9)))
    deviation = abs(value - mean) / std
    anomalous = n >= warmup and deviation > k
    weight = alpha / 10 if anomalous else alpha
    diff = value - mean
    increment = weight * diff
    new_state = {
        "n": n + 1,
        "m": mean + increment,
        "s2": (1 - weight) * (variance + diff * increment),
        "t": reading.at,
    }
    is_open = spec.alarm_type in open_types
    if anomalous and not is_open and not (suppressed and spec.suppressible):
        message = f"{spec.params['field']}={_fmt(value)} ({deviation:.1f}σ, μ={mean:.3g})"
        attrs = {"value": value, "mean": mean, "std": std, "sigma": deviation}
        return new_state, [Raise(spec.alarm_type, spec.severity, reading.at, message, spec.key, attrs)]
    if is_open and n >= warmup and deviation <= k / 2 and spec.params.get("auto_clear", True):
        return new_state, [Clear(spec.alarm_type, reading.at, spec.key)]
    return new_state, NO_SIGNALS


# --- Event codes (lift and escalator faults, fire status pairs, camera events) ---------------------

RAISE_STATES = frozenset({"raise", "active", "alarm", "start", "on", "1", "true"})
CLEAR_STATES = frozenset({"clear", "inactive", "restore", "normal", "end", "off", "0", "false"})


def evaluate_event_code(
    spec: RuleSpec, state: dict[str, Any], reading: Reading, open_types: frozenset[str] | set[str], suppressed: bool
) -> Outcome:
    """A code in the message (``field``, e.g. ``code`` or ``event``) looked up in ``codes``; each
    entry names its alarm type, severity and whether maintenance mode suppresses it. ``state_field``
    (default ``state``) says raise or clear; absent means raise (lift fault codes are raised by the
    controller and cleared by a later ``clear``). A raise of an open alarm is passed on as well: the
    pipeline counts it as a repeat (a camera re-posting "active" every second is one episode).

    ``silence_seconds`` (cameras) makes the alarm clear itself when the posts stop without an
    "inactive"; ``review`` marks alarms that need a person to confirm or reject them.
    """
    raw = reading.data.get(spec.params.get("field", "code"))
    if raw is None:
        return state, NO_SIGNALS
    code = str(raw).strip()
    entry = spec.params["codes"].get(code)
    if entry is None:
        return state, NO_SIGNALS
    alarm_type = entry["type"]
    flag = str(reading.data.get(spec.params.get("state_field", "state"), "raise")).strip().lower()
    if flag in CLEAR_STATES:
        if alarm_type in open_types:
            return state, [Clear(alarm_type, reading.at, spec.key)]
        # A clear with nothing open may be overtaking its own raise (two workers): remember it, so
        # the older raise arriving next is recognised as already over.
        cleared = state.get("cleared", {})
        if reading.at > cleared.get(alarm_type, -math.inf):
            return {**state, "cleared": {**cleared, alarm_type: reading.at}}, NO_SIGNALS
        return state, NO_SIGNALS
    if flag not in RAISE_STATES:
        return state, NO_SIGNALS
    if reading.at <= state.get("cleared", {}).get(alarm_type, -math.inf):
        return state, NO_SIGNALS
    if suppressed and entry.get("suppressible", spec.suppressible):
        return state, NO_SIGNALS
    attrs = {"code": code}
    for name in spec.params.get("carry", ()):
        if name in reading.data:
            attrs[name] = reading.data[name]
    silence = spec.params.get("silence_seconds")
    raise_ = Raise(
        alarm_type,
        entry.get("severity", spec.severity),
        reading.at,
        str(entry.get("message", code)),
        spec.key,
        attrs,
        silence_seconds=int(silence) if silence else None,
        needs_review=bool(spec.params.get("review", False)),
    )
    return state, [raise_]


# --- No data ---------------------------------------------------------------------------------------


def evaluate_no_data(
    spec: RuleSpec, state: dict[str, Any], reading: Reading, open_types: frozenset[str] | set[str], suppressed: bool
) -> Outcome:
    """Any message from the device ends a no-data alarm. Raising is the sweep's job
    (:func:`no_data_overdue`), since silence produces no message to evaluate."""
    if spec.alarm_type in open_types:
        return state, [Clear(spec.alarm_type, reading.at, spec.key)]
    return state, NO_SIGNALS


def no_data_overdue(
    spec: RuleSpec, last_seen: float | None, now: float, open_types: frozenset[str] | set[str], suppressed: bool
) -> list[Signal]:
    """No message for ``seconds``: raise (never-seen devices are not judged; they are not installed
    yet). Maintenance mode suppresses it like any fault."""
    if last_seen is None or spec.alarm_type in open_types or (suppressed and spec.suppressible):
        return NO_SIGNALS
    silent = now - last_seen
    if silent < float(spec.params["seconds"]):
        return NO_SIGNALS
    return [Raise(spec.alarm_type, spec.severity, now, f"{int(silent)}s", spec.key, {"last_seen": last_seen})]


Evaluator = Callable[[RuleSpec, dict[str, Any], Reading, "frozenset[str] | set[str]", bool], Outcome]

EVALUATORS: dict[str, Evaluator] = {
    "threshold": evaluate_threshold,
    "duration": evaluate_duration,
    "repeat": evaluate_repeat,
    "rate": evaluate_rate,
    "anomaly": evaluate_anomaly,
    "event_code": evaluate_event_code,
    "no_data": evaluate_no_data,
}
