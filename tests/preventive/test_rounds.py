"""Rounds generated from plans on local days, check-ins proving presence, missed rounds flagged once."""

from __future__ import annotations

import datetime as dt

import pytest

from anju.core.errors import Conflict, DomainError, PermissionDenied
from anju.core.models import AuditEntry, Notification
from anju.core.tenancy import community_scope
from anju.workorders.preventive import services
from anju.workorders.preventive.models import CheckIn, Round

from .conftest import Patrol, local, make_patrol

UTC = dt.UTC
MORNING = local(2030, 3, 10, 6)  # before the 08:00-10:00 window of 10 March


def rounds_of(patrol: Patrol) -> list[Round]:
    with community_scope(patrol.route.community_id):
        return list(Round.objects.filter(plan=patrol.plan).order_by("day", "pk"))


def test_rounds_are_generated_for_today_and_tomorrow_once(patrol: Patrol) -> None:
    assert services.generate_rounds(now=MORNING) == 2
    assert services.generate_rounds(now=MORNING) == 0  # idempotent
    first, second = rounds_of(patrol)
    assert (first.day, second.day) == (dt.date(2030, 3, 10), dt.date(2030, 3, 11))
    assert first.window_starts_at == dt.datetime(2030, 3, 10, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert first.window_ends_at == dt.datetime(2030, 3, 10, 2, 0, tzinfo=UTC)
    assert first.points_expected == 3 and first.state == Round.State.SCHEDULED
    assert first.assignee_role == "guard"


def test_a_round_whose_window_already_closed_is_not_created(patrol: Patrol) -> None:
    assert services.generate_rounds(now=local(2030, 3, 10, 11)) == 1
    assert [r.day for r in rounds_of(patrol)] == [dt.date(2030, 3, 11)]


def test_the_local_day_decides_not_the_utc_day(patrol: Patrol) -> None:
    # 17:00 UTC on the 10th is 01:00 on the 11th in Shanghai: today is the 11th.
    services.generate_rounds(now=dt.datetime(2030, 3, 10, 17, 0, tzinfo=UTC))
    assert [r.day for r in rounds_of(patrol)] == [dt.date(2030, 3, 11), dt.date(2030, 3, 12)]


def test_weekly_and_monthly_plans_only_on_their_days(world) -> None:
    with community_scope(world.a.community.pk):
        weekly = make_patrol(world, frequency="weekly", weekdays=[1])  # Mondays; 2030-03-11 is a Monday
        services.generate_rounds(now=local(2030, 3, 9, 6))  # Saturday: nothing for Sat/Sun
        assert rounds_of(weekly) == []
        services.generate_rounds(now=local(2030, 3, 10, 6))  # Sunday: Monday's round ahead
        assert [r.day for r in rounds_of(weekly)] == [dt.date(2030, 3, 11)]


def test_monthly_plan_on_the_31st_patrols_on_the_last_day_of_april(world) -> None:
    with community_scope(world.a.community.pk):
        monthly = make_patrol(world, frequency="monthly", month_days=[31])
        services.generate_rounds(now=local(2030, 4, 28, 6))  # the 28th and 29th: nothing
        assert [r.day for r in rounds_of(monthly)] == []
        services.generate_rounds(now=local(2030, 4, 29, 6))
        assert [r.day for r in rounds_of(monthly)] == [dt.date(2030, 4, 30)]


def test_changing_the_schedule_never_rewrites_past_or_started_rounds(patrol: Patrol) -> None:
    services.generate_rounds(now=MORNING)
    today, tomorrow = rounds_of(patrol)
    services.check_in(
        round_=today,
        token=patrol.points[0].token,
        result="ok",
        actor=patrol.world.user("guard"),
        now=local(2030, 3, 10, 8, 5),
    )
    services.change_inspection_schedule(
        plan=patrol.plan,
        effective_from=dt.date(2030, 3, 10),
        frequency="daily",
        window_start=dt.time(14),
        window_end=dt.time(16),
        actor=patrol.world.user("manager_x"),
        now=local(2030, 3, 10, 9),
    )
    with community_scope(patrol.route.community_id):
        today.refresh_from_db()
        tomorrow.refresh_from_db()
    assert today.state == Round.State.IN_PROGRESS  # started: kept, with its old window
    assert today.window_starts_at == dt.datetime(2030, 3, 10, 0, 0, tzinfo=UTC)
    assert tomorrow.state == Round.State.CANCELLED  # not started: replaced
    assert services.generate_rounds(now=local(2030, 3, 10, 9)) == 1
    replacement = [r for r in rounds_of(patrol) if r.day == dt.date(2030, 3, 11) and r.state == "scheduled"]
    assert len(replacement) == 1
    assert replacement[0].window_starts_at == dt.datetime(2030, 3, 11, 6, 0, tzinfo=UTC)  # 14:00 local
    assert replacement[0].schedule_id != today.schedule_id


def test_a_schedule_cannot_start_in_the_past(patrol: Patrol) -> None:
    with pytest.raises(DomainError) as refused:
        services.change_inspection_schedule(
            plan=patrol.plan,
            effective_from=dt.date(2030, 3, 9),
            frequency="daily",
            window_start=dt.time(8),
            window_end=dt.time(9),
            actor=None,
            now=MORNING,
        )
    assert refused.value.field == "effective_from"


def test_invalid_schedules_are_refused(patrol: Patrol) -> None:
    base = {"route": patrol.route, "name": "x", "window_start": dt.time(8), "window_end": dt.time(9), "actor": None}
    for bad in (
        {"frequency": "hourly"},
        {"frequency": "weekly", "weekdays": []},
        {"frequency": "weekly", "weekdays": [8]},
        {"frequency": "monthly", "month_days": [0]},
        {"frequency": "daily", "window_end": dt.time(8)},
        {"frequency": "daily", "assignee_role": "finance_clerk"},
        {"frequency": "daily", "assignee": patrol.world.user("technician")},  # not a guard
    ):
        with pytest.raises(DomainError):
            services.create_inspection_plan(**{**base, **bad})


# --- Check-ins -----------------------------------------------------------------------------------


@pytest.fixture
def todays_round(patrol: Patrol) -> Round:
    services.generate_rounds(now=MORNING)
    return rounds_of(patrol)[0]


def at(minute: int) -> dt.datetime:
    return local(2030, 3, 10, 8, minute)


def test_checking_every_point_with_its_token_completes_the_round(patrol: Patrol, todays_round: Round) -> None:
    guard = patrol.world.user("guard")
    for index, point in enumerate(patrol.points):
        services.check_in(round_=todays_round, token=point.token, result="ok", actor=guard, now=at(10 + index))
        with community_scope(patrol.route.community_id):
            todays_round.refresh_from_db()
        assert todays_round.points_checked == index + 1
    assert todays_round.state == Round.State.COMPLETED
    assert todays_round.started_at == at(10) and todays_round.finished_at == at(12)


def test_a_typed_code_with_dashes_and_lower_case_is_accepted(patrol: Patrol, todays_round: Round) -> None:
    point = patrol.points[1]
    typed = point.code_for_typing.lower()
    checkin = services.check_in(
        round_=todays_round, token=typed, result="ok", method="typed", actor=patrol.world.user("guard"), now=at(20)
    )
    assert checkin.point == point and checkin.method == "typed"


@pytest.mark.parametrize("forged", ["", "0000000000000000", "not-a-token", "A" * 40])
def test_a_forged_token_proves_nothing(patrol: Patrol, todays_round: Round, forged: str) -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(DomainError) as refused:
        services.check_in(round_=todays_round, token=forged, result="ok", actor=patrol.world.user("guard"), now=at(20))
    assert refused.value.code == "wrong_point"
    with community_scope(patrol.route.community_id):
        assert CheckIn.objects.count() == 0
    assert AuditEntry.objects.count() == before


def test_a_token_of_another_route_or_community_is_refused(patrol: Patrol, todays_round: Round) -> None:
    world = patrol.world
    with community_scope(world.a.community.pk):
        other_route = services.create_route(community=world.a.community, name="地库", actor=None)
        same_community = services.add_point(route=other_route, name="B1", actor=None)
    with community_scope(world.b.community.pk):
        route_b = services.create_route(community=world.b.community, name="夜巡", actor=None)
        foreign = services.add_point(route=route_b, name="南门", actor=None)
    for token in (same_community.token, foreign.token):
        with pytest.raises(DomainError) as refused:
            services.check_in(round_=todays_round, token=token, result="ok", actor=world.user("guard"), now=at(20))
        assert refused.value.code == "wrong_point"


def test_check_ins_only_inside_the_window_and_once_per_point(patrol: Patrol, todays_round: Round) -> None:
    guard = patrol.world.user("guard")
    token = patrol.points[0].token
    for outside in (local(2030, 3, 10, 7, 59), local(2030, 3, 10, 10, 0)):
        with pytest.raises(Conflict) as refused:
            services.check_in(round_=todays_round, token=token, result="ok", actor=guard, now=outside)
        assert refused.value.code == "outside_window"
    services.check_in(round_=todays_round, token=token, result="ok", actor=guard, now=at(0))
    with pytest.raises(Conflict) as refused:
        services.check_in(round_=todays_round, token=token, result="ok", actor=guard, now=at(1))
    assert refused.value.code == "already_checked"


def test_a_problem_needs_a_description(patrol: Patrol, todays_round: Round) -> None:
    with pytest.raises(DomainError) as refused:
        services.check_in(
            round_=todays_round,
            token=patrol.points[0].token,
            result="problem",
            actor=patrol.world.user("guard"),
            now=at(5),
        )
    assert refused.value.field == "note"


def test_only_the_assigned_role_or_a_manager_walks_a_round(patrol: Patrol, todays_round: Round) -> None:
    world = patrol.world
    with pytest.raises(PermissionDenied):
        services.check_in(
            round_=todays_round, token=patrol.points[0].token, result="ok", actor=world.user("technician"), now=at(5)
        )
    services.check_in(
        round_=todays_round, token=patrol.points[0].token, result="ok", actor=world.user("manager_x"), now=at(6)
    )
    assert not services.may_walk(world.user("manager_y"), todays_round)


def test_a_retired_point_is_refused_and_does_not_count_in_new_rounds(patrol: Patrol) -> None:
    services.set_point_active(point=patrol.points[2], active=False, actor=None)
    services.generate_rounds(now=MORNING)
    round_ = rounds_of(patrol)[0]
    assert round_.points_expected == 2
    with pytest.raises(DomainError):
        services.check_in(
            round_=round_, token=patrol.points[2].token, result="ok", actor=patrol.world.user("guard"), now=at(5)
        )


def test_a_reissued_token_replaces_the_old_sticker(patrol: Patrol, todays_round: Round) -> None:
    point = patrol.points[0]
    old = point.token
    with community_scope(point.community_id):
        point = services.reissue_point_token(point=point, actor=None)
    assert point.token != old
    with pytest.raises(DomainError):
        services.check_in(round_=todays_round, token=old, result="ok", actor=patrol.world.user("guard"), now=at(5))
    services.check_in(round_=todays_round, token=point.token, result="ok", actor=patrol.world.user("guard"), now=at(6))


# --- Missed rounds -------------------------------------------------------------------------------


def test_a_missed_round_is_flagged_exactly_once_and_the_manager_told(patrol: Patrol, todays_round: Round) -> None:
    services.check_in(
        round_=todays_round, token=patrol.points[0].token, result="ok", actor=patrol.world.user("guard"), now=at(5)
    )
    assert services.flag_missed_rounds(now=local(2030, 3, 10, 9, 59)) == 0  # still open
    assert services.flag_missed_rounds(now=local(2030, 3, 10, 10, 0)) == 1
    assert services.flag_missed_rounds(now=local(2030, 3, 10, 10, 5)) == 0
    with community_scope(patrol.route.community_id):
        todays_round.refresh_from_db()
    assert todays_round.state == Round.State.MISSED and todays_round.points_checked == 1
    told = Notification.objects.filter(kind="preventive.round_missed")
    assert list(told.values_list("recipient__username", flat=True)) == ["manager_x"]
    assert "1" in told.get().body and "3" in told.get().body
    with pytest.raises(Conflict) as refused:
        services.check_in(
            round_=todays_round, token=patrol.points[1].token, result="ok", actor=patrol.world.user("guard"), now=at(50)
        )
    assert refused.value.code == "round_closed"


def test_completed_rounds_are_never_flagged(patrol: Patrol, todays_round: Round) -> None:
    for index, point in enumerate(patrol.points):
        services.check_in(
            round_=todays_round, token=point.token, result="ok", actor=patrol.world.user("guard"), now=at(index)
        )
    assert services.flag_missed_rounds(now=local(2030, 3, 12, 0)) == 1  # only tomorrow's, unwalked
    with community_scope(patrol.route.community_id):
        states = dict(Round.objects.values_list("day", "state"))
    assert states == {dt.date(2030, 3, 10): "completed", dt.date(2030, 3, 11): "missed"}
