"""Points: an append-only ledger, balances derivable from it, never negative, never spent twice
(also under concurrency on PostgreSQL), rewards with stock, hazard reports, effective-dated rules."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from anju.community import services
from anju.community.models import PointsEntry, Redemption, Reward
from anju.community.services.points import (
    BillingNotAvailable,
    NotEnoughPoints,
    OutOfStock,
    balance_of,
    ledger_balance,
    rule_points,
)
from anju.core.errors import Conflict
from anju.core.tenancy import community_scope

from ..personas import World, build_world
from .helpers import resident


def _reward(community, *, cost: int = 30, stock: int = 5, name: str = "环保袋") -> Reward:
    return services.create_reward(community=community, name=name, cost=cost, stock=stock, actor=None)


def test_awards_are_idempotent_and_the_balance_is_the_ledger_sum(world: World) -> None:
    person = world.a.people[0]
    first = services.award_points(person=person, amount=40, reason="志愿巡逻", source_ref="patrol:1", actor=None)
    again = services.award_points(person=person, amount=40, reason="志愿巡逻", source_ref="patrol:1", actor=None)
    assert again.pk == first.pk
    services.award_points(person=person, amount=15, reason="签到", source_ref="", actor=None)
    assert balance_of(person) == ledger_balance(person) == 55
    correction = services.reverse_entry(first, reason="重复登记", actor=None)
    assert correction.amount == -40 and correction.reverses_id == first.pk
    assert balance_of(person) == ledger_balance(person) == 15
    with pytest.raises(Conflict):
        services.reverse_entry(first, reason="again", actor=None)
    with pytest.raises(Conflict):
        services.reverse_entry(correction, reason="undo", actor=None)
    with community_scope(person.community_id):
        entries = list(PointsEntry.objects.filter(person=person).order_by("pk"))
    assert [e.balance_after for e in entries] == [40, 55, 15]


def test_spending_never_goes_negative_and_takes_stock(world: World) -> None:
    community = world.a.community
    person = world.a.people[0]
    bag = _reward(community, cost=30, stock=1)
    with pytest.raises(NotEnoughPoints):
        services.redeem_reward(person=person, reward=bag, actor=None)
    with community_scope(community.pk):
        assert Reward.objects.get(pk=bag.pk).stock == 1  # the failed attempt took nothing
    services.award_points(person=person, amount=70, reason="活动", source_ref="x:1", actor=None)
    redemption = services.redeem_reward(person=person, reward=bag, request_key="k1", actor=None)
    # The same form submitted twice spends once.
    assert services.redeem_reward(person=person, reward=bag, request_key="k1", actor=None).pk == redemption.pk
    assert balance_of(person) == 40
    with pytest.raises(OutOfStock):
        services.redeem_reward(person=person, reward=bag, request_key="k2", actor=None)
    assert balance_of(person) == 40
    # An award already spent cannot be reversed below zero.
    with community_scope(community.pk):
        award = PointsEntry.objects.get(source_ref="x:1")
    with pytest.raises(NotEnoughPoints):
        services.reverse_entry(award, reason="错误", actor=None)
    # Cancelling the uncollected redemption gives points and stock back, by reversal.
    services.cancel_redemption(redemption, reason="不要了", actor=None)
    assert balance_of(person) == ledger_balance(person) == 70
    with community_scope(community.pk):
        assert Reward.objects.get(pk=bag.pk).stock == 1
        assert Redemption.objects.get(pk=redemption.pk).status == "cancelled"


def test_rules_are_effective_dated_and_hazard_reports_earn_once(world: World) -> None:
    community = world.a.community
    person = world.a.people[0]
    past = timezone.now() - dt.timedelta(days=10)
    assert rule_points(community.pk, "hazard_report") == 20  # the default before any rule
    services.set_points_rule(community=community, action="hazard_report", points=30, effective_from=past, actor=None)
    services.set_points_rule(
        community=community,
        action="hazard_report",
        points=50,
        effective_from=timezone.now() + dt.timedelta(days=1),
        actor=None,
    )
    assert rule_points(community.pk, "hazard_report", past - dt.timedelta(days=1)) == 20
    assert rule_points(community.pk, "hazard_report") == 30
    report = services.report_hazard(person=person, place="3栋消防通道", description="堆放杂物", actor=None)
    services.decide_hazard_report(report, verified=True, actor=world.user("manager_x"))
    with pytest.raises(Conflict):
        services.decide_hazard_report(report, verified=True, actor=world.user("manager_x"))
    assert balance_of(person) == 30
    dismissed = services.report_hazard(person=person, place="车库", description="灯不亮", actor=None)
    services.decide_hazard_report(dismissed, verified=False, actor=None)
    assert balance_of(person) == 30


def test_fee_discount_goes_through_billing_or_is_refused_cleanly(world: World) -> None:
    person = world.a.people[0]
    home = world.a.homes[0]
    services.award_points(person=person, amount=500, reason="志愿", source_ref="v:1", actor=None)
    try:
        from anju.billing.services import credit_home  # noqa: F401
    except ImportError:
        with pytest.raises(BillingNotAvailable):
            services.redeem_for_fee_discount(person=person, home=home, points=200, actor=None)
        assert balance_of(person) == 500
        return
    redemption = services.redeem_for_fee_discount(person=person, home=home, points=200, request_key="f1", actor=None)
    again = services.redeem_for_fee_discount(person=person, home=home, points=200, request_key="f1", actor=None)
    assert again.pk == redemption.pk and redemption.credit_fen == 200
    assert balance_of(person) == 300
    from anju.billing.models import Credit

    with community_scope(home.community_id):
        credit = Credit.objects.get(source_ref=f"points:{redemption.entry_id}")
    assert (credit.home_id, credit.amount_fen) == (home.pk, 200)
    with pytest.raises(Exception):  # noqa: B017 - another's home: refused, nothing spent
        services.redeem_for_fee_discount(person=person, home=world.a.homes[5], points=10, actor=None)
    assert balance_of(person) == 300


def test_the_portal_redeem_flow(world: World) -> None:
    community = world.a.community
    person = world.a.people[0]
    user = world.user("resident_a")
    tea = _reward(community, cost=20, stock=3, name="茶叶")
    services.award_points(person=person, amount=50, reason="签到", source_ref="c:1", actor=None)
    client = Client()
    client.force_login(user)
    page = client.get("/portal/community/points/").content.decode()
    assert "data-balance>50<" in page and "茶叶" in page
    assert (
        client.post("/portal/community/points/", {"action": "redeem", "reward": tea.pk, "key": "abc"}).status_code
        == 302
    )
    client.post("/portal/community/points/", {"action": "redeem", "reward": tea.pk, "key": "abc"})
    assert balance_of(person) == 30
    # Another community's reward id is a 404.
    other = _reward(world.b.community, cost=1, stock=1, name="别家的")
    assert client.post("/portal/community/points/", {"action": "redeem", "reward": other.pk}).status_code == 404
    # The desk hands it over.
    staff = Client()
    staff.force_login(world.user("manager_x"))
    with community_scope(community.pk):
        redemption = Redemption.objects.get(person=person)
    staff.post(f"/console/c/{community.pk}/community/points/", {"action": "hand_over", "redemption": redemption.pk})
    with community_scope(community.pk):
        assert Redemption.objects.get(pk=redemption.pk).status == "handed_over"


@pytest.mark.django_db(transaction=True)
def test_points_are_never_spent_twice_under_concurrency() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks (SQLite serialises writers anyway)")
    world = build_world()
    community = world.a.community
    person = world.a.people[0]
    services.award_points(person=person, amount=100, reason="start", source_ref="seed", actor=None)
    reward = _reward(community, cost=30, stock=10)
    other = resident(world.a.homes[1])[0]
    services.award_points(person=other, amount=30, reason="start", source_ref="seed2", actor=None)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def redeem(who, key: str) -> None:
        try:
            barrier.wait()
            services.redeem_reward(person=who, reward=reward, request_key=key, actor=None)
            result = "ok"
        except (NotEnoughPoints, OutOfStock):
            result = "refused"
        except BaseException as exc:  # pragma: no cover
            result = repr(exc)
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    # Six different requests of one person (100 points: only three fit), one request submitted twice
    # by the other person (30 points: spent once).
    jobs = [(person, f"p{i}") for i in range(6)] + [(other, "same"), (other, "same")]
    threads = [threading.Thread(target=redeem, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(o in ("ok", "refused") for o in outcomes), outcomes
    assert balance_of(person) == ledger_balance(person) == 10
    assert balance_of(other) == ledger_balance(other) == 0
    with community_scope(community.pk):
        assert Redemption.objects.filter(person=person).count() == 3
        assert Redemption.objects.filter(person=other).count() == 1
        assert Reward.objects.get(pk=reward.pk).stock == 10 - 4


def test_the_portal_fee_discount_credits_billing(world: World) -> None:
    pytest.importorskip("anju.billing.models")
    from anju.billing.models import Credit

    person = world.a.people[0]
    services.award_points(person=person, amount=120, reason="志愿", source_ref="v:fee", actor=None)
    client = Client()
    client.force_login(world.user("resident_a"))
    assert "id_fee_home" in client.get("/portal/community/points/").content.decode()
    form = {"action": "fee", "home": world.a.homes[0].pk, "points": 100, "key": "once"}
    assert client.post("/portal/community/points/", form).status_code == 302
    client.post("/portal/community/points/", form)  # submitted twice: spent once
    assert balance_of(person) == ledger_balance(person) == 20
    with community_scope(world.a.community.pk):
        assert Credit.objects.filter(home=world.a.homes[0]).count() == 1
        assert Credit.objects.get(home=world.a.homes[0]).amount_fen == 100
    # Someone else's home is refused.
    other = {"action": "fee", "home": world.a.homes[3].pk, "points": 10, "key": "x"}
    assert client.post("/portal/community/points/", other).status_code == 404
    assert balance_of(person) == 20


def test_the_ledger_refuses_edits_in_the_database(world: World) -> None:
    from django.db import DatabaseError, transaction

    person = world.a.people[0]
    entry = services.award_points(person=person, amount=10, reason="签到", source_ref="db:1", actor=None)
    with community_scope(person.community_id):
        with pytest.raises(DatabaseError), transaction.atomic():
            PointsEntry.objects.filter(pk=entry.pk).update(amount=1000)
        if connection.vendor == "postgresql":
            with pytest.raises(DatabaseError), transaction.atomic():
                PointsEntry.objects.filter(pk=entry.pk).delete()
        assert PointsEntry.objects.get(pk=entry.pk).amount == 10
