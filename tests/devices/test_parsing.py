"""The wire format as pure functions: topics, times, points, refusals with stable reasons."""

from __future__ import annotations

import datetime as dt

import pytest

from anju.devices.parsing import Refused, build_message, decode_json, parse_time, parse_topic, split_data, storage_key

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
WEEK = dt.timedelta(days=7)


def build(body: dict, channel: str = "telemetry"):
    return build_message(
        body, channel=channel, community_id=1, device_id=7, device_kind="pump", received_at=NOW, max_age=WEEK
    )


def test_topic_names_community_device_and_channel() -> None:
    topic = parse_topic("anju/riverside/lift-3/event")
    assert (topic.community_code, topic.device_code, topic.channel) == ("riverside", "lift-3", "event")


@pytest.mark.parametrize(
    "topic",
    ["anju/riverside/lift-3", "anju/riverside/lift-3/command", "other/riverside/lift-3/event", "anju//x/event", ""],
)
def test_bad_topics_are_refused(topic: str) -> None:
    with pytest.raises(Refused) as caught:
        parse_topic(topic)
    assert caught.value.reason == "bad_topic"


def test_times_in_seconds_milliseconds_and_iso_agree() -> None:
    expected = dt.datetime(2026, 11, 24, 11, 59, 30, tzinfo=dt.UTC)
    seconds = expected.timestamp()
    assert parse_time(seconds, received_at=NOW, max_age=WEEK) == expected
    assert parse_time(seconds * 1000, received_at=NOW, max_age=WEEK) == expected
    assert parse_time("2026-11-24T19:59:30+08:00", received_at=NOW, max_age=WEEK) == expected
    assert parse_time(None, received_at=NOW, max_age=WEEK) == NOW


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-11-24T19:59:30", "bad_time"),  # no offset: ambiguous
        ((NOW + dt.timedelta(minutes=6)).timestamp(), "clock_ahead"),
        ((NOW - dt.timedelta(days=8)).timestamp(), "too_old"),
        (True, "bad_time"),
        ("yesterday", "bad_time"),
        (-5, "bad_time"),
        (float("nan"), "bad_time"),
    ],
)
def test_implausible_times_are_refused(value, reason: str) -> None:
    with pytest.raises(Refused) as caught:
        parse_time(value, received_at=NOW, max_age=WEEK)
    assert caught.value.reason == reason


def test_numbers_become_points_and_the_rest_attributes() -> None:
    points, attrs = split_data({"floor": 7, "speed_mps": 1.5, "door": "closed", "occupied": True, "fault": None})
    assert points == {"floor": 7.0, "speed_mps": 1.5}
    assert attrs == {"door": "closed", "occupied": True, "fault": None}


@pytest.mark.parametrize(
    "data",
    [
        [1, 2],
        {"a b": 1},
        {"x": 10**400},
        {"泵": 1},
        {1: 2},
        {"x": float("inf")},
        {"x": [1]},
        {"x": "y" * 201},
        {f"k{i}": i for i in range(65)},
    ],
)
def test_bad_data_is_refused(data) -> None:
    with pytest.raises(Refused) as caught:
        split_data(data)
    assert caught.value.reason == "bad_data"


def test_event_message_carries_code_and_state() -> None:
    message = build({"seq": 9, "ts": NOW.timestamp(), "event": "lift.fault.02", "state": "raise"}, "event")
    assert (message.event, message.state, message.seq, message.sent_at) == ("lift.fault.02", "raise", 9, NOW)


def test_event_without_code_and_bad_sequence_numbers_are_refused() -> None:
    with pytest.raises(Refused) as caught:
        build({"seq": 1}, "event")
    assert caught.value.reason == "bad_event"
    for seq in (-1, "5", 1.5, True, 2**63):
        with pytest.raises(Refused) as caught:
            build({"seq": seq})
        assert caught.value.reason == "bad_seq"


def test_status_keeps_mode_and_online() -> None:
    message = build({"seq": 3, "online": False, "mode": "maintenance"}, "status")
    assert message.attrs == {"online": False, "mode": "maintenance"}


def test_payloads_that_are_not_json_objects_are_refused() -> None:
    for payload in (b"not json", b"[1,2]", b"\xff\xfe", b"{" * 10):
        with pytest.raises(Refused) as caught:
            decode_json(payload)
        assert caught.value.reason == "bad_json"
    with pytest.raises(Refused) as caught:
        decode_json(b" " * (64 * 1024 + 1))
    assert caught.value.reason == "too_large"


def test_messages_without_sequence_get_a_content_key() -> None:
    one = build({"ts": NOW.timestamp(), "event": "camera.fall", "state": "active"}, "event")
    again = build({"ts": NOW.timestamp(), "event": "camera.fall", "state": "active"}, "event")
    other = build({"ts": NOW.timestamp(), "event": "camera.fall", "state": "inactive"}, "event")
    assert storage_key(one) == storage_key(again)
    assert storage_key(one) != storage_key(other)
    assert storage_key(one)[2] < 0  # never collides with a real sequence number
