"""The rule evaluators as pure functions: plain values in, state and signals out. No database, no broker."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anju.devices.alarms.catalogue import TEMPLATES, builtin_rules
from anju.devices.alarms.rules import (
    EVALUATORS,
    Clear,
    Raise,
    Reading,
    RuleSpec,
    duration_overdue,
    evaluate_anomaly,
    evaluate_duration,
    evaluate_event_code,
    evaluate_no_data,
    evaluate_rate,
    evaluate_repeat,
    evaluate_threshold,
    no_data_overdue,
)


def spec_of(kind: str, key: str) -> RuleSpec:
    return next(spec for spec in builtin_rules(kind) if spec.key == key)


def run(spec: RuleSpec, readings: list[tuple[float, dict[str, Any]]], *, channel: str = "telemetry", suppressed=False):
    """Feed readings through one rule as the pipeline does, tracking open alarm types; returns the
    signals in order and the final state."""
    evaluate = EVALUATORS[spec.kind]
    state: dict[str, Any] = {}
    open_types: set[str] = set()
    signals: list[Any] = []
    for at, data in readings:
        state, out = evaluate(spec, state, Reading(at, channel, data), open_types, suppressed)
        for signal in out:
            signals.append(signal)
            if isinstance(signal, Raise):
                open_types.add(signal.alarm_type)
            else:
                open_types.discard(signal.alarm_type)
    return signals, state


# --- Threshold --------------------------------------------------------------------------------------


def test_threshold_raises_once_and_clears_with_hysteresis():
    spec = spec_of("pressure_sensor", "pressure_low")  # < 0.15 raises, >= 0.18 clears
    signals, _ = run(
        spec,
        [
            (0, {"pressure_mpa": 0.3}),
            (1, {"pressure_mpa": 0.12}),
            (2, {"pressure_mpa": 0.10}),
            (3, {"pressure_mpa": 0.16}),
            (4, {"pressure_mpa": 0.19}),
        ],
    )
    assert [type(s) for s in signals] == [Raise, Clear]
    assert signals[0].at == 1 and signals[0].alarm_type == "water.pressure_low"
    assert signals[1].at == 4, "0.16 is back over the limit but not past clear_at: no clear yet"


def test_threshold_ignores_missing_and_non_numeric_values():
    spec = spec_of("pressure_sensor", "pressure_low")
    signals, _ = run(
        spec,
        [
            (0, {"level_pct": 1}),
            (1, {"pressure_mpa": "low"}),
            (2, {"pressure_mpa": True}),
            (3, {"pressure_mpa": float("nan")}),
        ],
    )
    assert signals == []


def test_threshold_is_suppressed_in_maintenance_but_still_clears():
    spec = spec_of("pressure_sensor", "pressure_low")
    assert run(spec, [(0, {"pressure_mpa": 0.01})], suppressed=True)[0] == []
    _state, out = evaluate_threshold(
        spec, {}, Reading(5, "telemetry", {"pressure_mpa": 0.3}), {"water.pressure_low"}, True
    )
    assert out == [Clear("water.pressure_low", 5, "pressure_low")]


@given(st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), max_size=60))
def test_threshold_signals_alternate(values):
    """Whatever the series: raise and clear alternate, starting with a raise — never two raises in a
    row for one alarm type (one open alarm per problem)."""
    spec = spec_of("pressure_sensor", "pressure_low")
    signals, _ = run(spec, [(i, {"pressure_mpa": v}) for i, v in enumerate(values)])
    kinds = [type(s) for s in signals]
    assert all(kinds[i] is (Raise if i % 2 == 0 else Clear) for i in range(len(kinds)))


# --- Duration: entrapment ---------------------------------------------------------------------------

TRAPPED = {"moving": 0, "door_open": 0, "occupied": 1}


def test_entrapment_after_the_configured_seconds_only():
    spec = spec_of("lift", "entrapment")
    assert spec.params["seconds"] == 30
    signals, state = run(spec, [(100, TRAPPED), (110, TRAPPED), (129, TRAPPED)])
    assert signals == [] and state["since"] == 100
    signals, _ = run(spec, [(100, TRAPPED), (110, TRAPPED), (130, TRAPPED), (135, TRAPPED)])
    assert len(signals) == 1 and isinstance(signals[0], Raise)
    assert signals[0].alarm_type == "lift.entrapment" and signals[0].severity == "critical"
    assert signals[0].attrs["held_seconds"] == 30


def test_entrapment_resets_when_the_doors_open_and_clears_the_alarm():
    spec = spec_of("lift", "entrapment")
    opened = {**TRAPPED, "door_open": 1}
    signals, state = run(spec, [(0, TRAPPED), (20, opened), (25, TRAPPED), (50, TRAPPED)])
    assert signals == [], "the clock restarted at 25 when the doors shut again"
    signals, state = run(spec, [(0, TRAPPED), (40, TRAPPED), (41, opened)])
    assert [type(s) for s in signals] == [Raise, Clear]
    assert state["since"] is None


def test_entrapment_needs_every_condition_and_partial_telemetry_changes_nothing():
    spec = spec_of("lift", "entrapment")
    empty_car = {**TRAPPED, "occupied": 0}
    assert run(spec, [(0, empty_car), (100, empty_car)])[0] == []
    # A message reporting only the floor says nothing about doors: the clock keeps running.
    signals, _ = run(spec, [(0, TRAPPED), (20, {"floor": 5}), (31, TRAPPED)])
    assert len(signals) == 1


def test_entrapment_is_not_suppressed_by_maintenance_mode():
    spec = spec_of("lift", "entrapment")
    assert len(run(spec, [(0, TRAPPED), (31, TRAPPED)], suppressed=True)[0]) == 1


def test_duration_ignores_a_late_reading_from_another_worker():
    spec = spec_of("lift", "entrapment")
    state, _ = evaluate_duration(spec, {}, Reading(10, "telemetry", TRAPPED), set(), False)
    late_open = Reading(5, "telemetry", {**TRAPPED, "door_open": 1})
    assert evaluate_duration(spec, state, late_open, set(), False) == (state, [])


def test_duration_overdue_raises_when_the_lift_falls_silent():
    spec = spec_of("lift", "entrapment")
    state = {"since": 100.0, "t": 100.0}
    assert duration_overdue(spec, state, 120, set(), False) == []
    signals = duration_overdue(spec, state, 131, set(), False)
    assert len(signals) == 1 and signals[0].at == 131
    assert duration_overdue(spec, state, 131, {"lift.entrapment"}, False) == [], "already open"


# --- Repeat count -----------------------------------------------------------------------------------


def test_repeat_count_within_the_window():
    spec = spec_of("lift", "door_fault_repeats")  # 3 x lift.fault.02 in 600 s
    fault = {"event": "lift.fault.02"}
    signals, _ = run(spec, [(0, fault), (300, fault), (700, fault)], channel="event")
    assert signals == [], "the first occurrence fell out of the window"
    signals, state = run(spec, [(0, fault), (300, fault), (500, fault)], channel="event")
    assert len(signals) == 1 and signals[0].attrs["count"] == 3
    assert state == {"times": []}


def test_repeat_count_accepts_late_occurrences():
    spec = spec_of("lift", "door_fault_repeats")
    fault = {"event": "lift.fault.02"}
    signals, _ = run(spec, [(500, fault), (100, fault), (300, fault)], channel="event")
    assert len(signals) == 1, "order does not matter for counting"


# --- Rate of change -----------------------------------------------------------------------------------


def test_meter_going_backwards_and_jumping():
    backwards = spec_of("water_meter", "reading_backwards")
    signals, state = run(backwards, [(0, {"reading": 100.0}), (60, {"reading": 100.5}), (120, {"reading": 99.0})])
    assert len(signals) == 1 and signals[0].alarm_type == "meter.backwards"
    assert state == {"v": 99.0, "t": 120}
    jump = spec_of("water_meter", "reading_jump")  # > 50 per minute
    signals, _ = run(jump, [(0, {"reading": 100.0}), (60, {"reading": 140.0}), (120, {"reading": 400.0})])
    assert [s.attrs["per_minute"] for s in signals] == [260.0]


def test_rate_ignores_readings_too_close_together_or_older():
    spec = spec_of("water_meter", "reading_backwards")
    state, _ = evaluate_rate(spec, {}, Reading(100, "telemetry", {"reading": 5.0}), set(), False)
    assert evaluate_rate(spec, state, Reading(90, "telemetry", {"reading": 1.0}), set(), False) == (state, [])
    assert evaluate_rate(spec, state, Reading(100.5, "telemetry", {"reading": 1.0}), set(), False) == (state, [])


# --- Rolling statistical anomaly ----------------------------------------------------------------------


def test_anomaly_waits_for_warmup_then_flags_a_spike():
    spec = RuleSpec(
        "flow", "anomaly", "water.flow_anomaly", "warning", {"field": "flow", "k": 4, "warmup": 20, "alpha": 0.1}
    )
    calm = [(i, {"flow": 10.0 + (0.5 if i % 2 else -0.5)}) for i in range(40)]
    signals, state = run(spec, calm)
    assert signals == []
    assert state["n"] == 40 and 9.5 < state["m"] < 10.5
    signals, _ = run(spec, [*calm, (41, {"flow": 30.0})])
    assert len(signals) == 1 and signals[0].attrs["sigma"] > 4
    early, _ = run(spec, [(0, {"flow": 10.0}), (1, {"flow": 10.2}), (2, {"flow": 99.0})])
    assert early == [], "no judgement during warm-up"


def test_anomaly_clears_when_back_to_normal():
    spec = RuleSpec(
        "flow", "anomaly", "water.flow_anomaly", "warning", {"field": "flow", "k": 4, "warmup": 10, "alpha": 0.1}
    )
    series = [(i, {"flow": 10.0 + (0.5 if i % 2 else -0.5)}) for i in range(20)]
    signals, _ = run(spec, [*series, (21, {"flow": 40.0}), (22, {"flow": 10.1})])
    assert [type(s) for s in signals] == [Raise, Clear]


def test_anomaly_state_is_three_numbers_whatever_the_history():
    spec = RuleSpec("flow", "anomaly", "water.flow_anomaly", "warning", {"field": "flow"})
    _, state = run(spec, [(i, {"flow": float(i % 7)}) for i in range(5000)])
    assert set(state) == {"n", "m", "s2", "t"}


# --- Event codes --------------------------------------------------------------------------------------


def test_lift_fault_codes_and_their_clear():
    spec = spec_of("lift", "lift_faults")
    signals, _ = run(
        spec,
        [
            (0, {"event": "lift.fault.11"}),
            (1, {"event": "lift.fault.11"}),
            (2, {"event": "lift.fault.11", "state": "clear"}),
            (3, {"event": "lift.fault.99"}),
        ],
        channel="event",
    )
    assert [type(s) for s in signals] == [Raise, Raise, Clear], "a repeat is passed on for the repeat count"
    assert signals[0].severity == "critical" and signals[0].alarm_type == "lift.fault.11"


def test_lift_fault_suppressed_in_maintenance_except_trapped_passengers():
    spec = spec_of("lift", "lift_faults")
    assert run(spec, [(0, {"event": "lift.fault.02"})], channel="event", suppressed=True)[0] == []
    assert len(run(spec, [(0, {"event": "lift.fault.11"})], channel="event", suppressed=True)[0]) == 1


def test_fire_status_raise_and_clear_pairs():
    spec = spec_of("fire_panel", "fire_status")
    signals, _ = run(
        spec,
        [
            (0, {"event": "fire.alarm", "state": "raise"}),
            (1, {"event": "fire.fault", "state": "raise"}),
            (2, {"event": "fire.alarm", "state": "clear"}),
            (3, {"event": "fire.bogus", "state": "raise"}),
        ],
        channel="event",
    )
    assert [(type(s).__name__, s.alarm_type) for s in signals] == [
        ("Raise", "fire.alarm"),
        ("Raise", "fire.fault"),
        ("Clear", "fire.alarm"),
    ]
    assert signals[0].severity == "critical"


def test_fire_alarm_is_never_suppressed():
    spec = spec_of("fire_panel", "fire_status")
    assert len(run(spec, [(0, {"event": "fire.alarm", "state": "raise"})], channel="event", suppressed=True)[0]) == 1


def test_camera_events_need_review_and_clear_after_silence():
    spec = spec_of("camera", "camera_events")
    signals, _ = run(
        spec,
        [(0, {"event": "camera.ebike_in_lift", "state": "active", "snapshot": "s/1.jpg"})],
        channel="event",
    )
    assert signals[0].needs_review and signals[0].silence_seconds == 60
    _, out = evaluate_event_code(
        spec,
        {},
        Reading(9, "event", {"event": "camera.ebike_in_lift", "state": "inactive"}),
        {"camera.ebike_in_lift"},
        False,
    )
    assert out == [Clear("camera.ebike_in_lift", 9, "camera_events")]


def test_unknown_state_words_do_nothing():
    spec = spec_of("fire_panel", "fire_status")
    assert run(spec, [(0, {"event": "fire.alarm", "state": "maybe"})], channel="event")[0] == []


# --- No data ------------------------------------------------------------------------------------------


def test_no_data_raised_by_the_sweep_and_cleared_by_any_message():
    spec = spec_of("tank", "no_data")
    seconds = spec.params["seconds"]
    assert no_data_overdue(spec, None, 10_000, set(), False) == [], "never seen: not installed yet"
    assert no_data_overdue(spec, 0, seconds - 1, set(), False) == []
    raised = no_data_overdue(spec, 0, seconds, set(), False)
    assert len(raised) == 1 and raised[0].alarm_type == "device.no_data"
    assert no_data_overdue(spec, 0, seconds, set(), True) == [], "maintenance mode"
    _, out = evaluate_no_data(spec, {}, Reading(1, "status", {}), {"device.no_data"}, False)
    assert out == [Clear("device.no_data", 1, "no_data")]


# --- The catalogue ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_every_template_rule_has_an_evaluator_and_unique_keys(kind):
    specs = builtin_rules(kind)
    assert len({spec.key for spec in specs}) == len(specs)
    for spec in specs:
        assert spec.kind in EVALUATORS
        assert spec.severity in ("critical", "major", "minor", "warning")


def test_evaluators_never_mutate_the_state_they_are_given():
    spec = spec_of("lift", "entrapment")
    state = {"since": 1.0, "t": 1.0}
    copy = dict(state)
    evaluate_duration(spec, state, Reading(2, "telemetry", {**TRAPPED, "door_open": 1}), set(), False)
    evaluate_repeat(
        spec_of("lift", "door_fault_repeats"),
        {"times": [1.0]},
        Reading(2, "event", {"event": "lift.fault.02"}),
        set(),
        False,
    )
    assert state == copy
    anomaly_state = {"n": 50, "m": 1.0, "s2": 0.1, "t": 0}
    evaluate_anomaly(
        RuleSpec("a", "anomaly", "x", "warning", {"field": "f"}),
        anomaly_state,
        Reading(1, "telemetry", {"f": 9}),
        set(),
        False,
    )
    assert anomaly_state == {"n": 50, "m": 1.0, "s2": 0.1, "t": 0}


def test_threshold_keeps_the_newest_reading_against_late_ones():
    spec = spec_of("pressure_sensor", "pressure_low")
    state, out = evaluate_threshold(spec, {}, Reading(10, "telemetry", {"pressure_mpa": 0.3}), set(), False)
    assert out == [] and state == {"t": 10}
    assert evaluate_threshold(spec, state, Reading(5, "telemetry", {"pressure_mpa": 0.01}), set(), False) == (state, [])


def test_a_clear_overtaking_its_raise_cancels_it():
    spec = spec_of("fire_panel", "fire_status")
    state, out = evaluate_event_code(
        spec, {}, Reading(6, "event", {"event": "fire.alarm", "state": "clear"}), set(), False
    )
    assert out == [] and state == {"cleared": {"fire.alarm": 6}}
    late = Reading(5, "event", {"event": "fire.alarm", "state": "raise"})
    assert evaluate_event_code(spec, state, late, set(), False) == (state, [])
    later = Reading(7, "event", {"event": "fire.alarm", "state": "raise"})
    assert len(evaluate_event_code(spec, state, later, set(), False)[1]) == 1


def test_duration_needs_readings_close_enough_to_prove_it_held():
    spec = spec_of("lift", "entrapment")
    signals, state = run(spec, [(0, TRAPPED), (600, TRAPPED), (1200, TRAPPED)])
    assert signals == [] and state["since"] == 1200, "ten-minute samples prove nothing about the minutes between"
    signals, _ = run(spec, [(0, TRAPPED), (100, TRAPPED), (130, TRAPPED)])
    assert len(signals) == 1 and signals[0].attrs["since"] == 0


def test_duration_overdue_ignores_a_long_silent_stale_sample():
    spec = spec_of("lift", "entrapment")
    assert duration_overdue(spec, {"since": 0.0, "seen": 0.0, "t": 0.0}, 10_000, set(), False) == []
