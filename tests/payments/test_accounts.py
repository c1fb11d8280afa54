"""Published accounts: figures from the ledger, the verification that catches tampering with the
statement or with the ledger, and the ``anju verify_statement`` command's exit codes."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from anju.billing.payments.models import Statement
from anju.billing.payments.services import accounts, payments, refund_payouts, refunds
from anju.billing.payments.services.accounts import statement_digest
from anju.core.errors import Conflict, DomainError
from anju.core.tenancy import community_scope
from anju.estates.models import ServiceContract

from ..personas import World
from .helpers import issue_bill


def _quarter_with_money(world: World) -> Statement:
    """Q4 2026 (the tests run with today's postings, so publish the current quarter)."""
    clerk, manager = world.user("finance"), world.user("manager_x")
    community = world.a.community
    home = world.a.homes[0]
    issue_bill(home, 30_000, dt.date(2026, 10, 1))
    issue_bill(world.a.homes[1], 20_000, dt.date(2026, 10, 1), account="income:parking")
    paid = payments.take_counter_payment(home=home, amount_fen=35_000, method="cash", actor=clerk)
    refund = refunds.request_refund(order=paid, amount_fen=5_000, reason="overpaid", actor=clerk)
    refunds.approve_refund(refund, actor=manager)
    refund_payouts.record_counter_payout(refund, method="cash", actor=clerk)
    today = timezone.localdate()
    accounts.record_expense(
        community=community, category="cleaning", amount_fen=8_000, spent_on=today, description="保洁", actor=clerk
    )
    accounts.record_expense(
        community=community, category="staff", amount_fen=12_000, spent_on=today, description="工资", actor=clerk
    )
    accounts.record_common_income(
        community=community,
        kind="advertising",
        amount_fen=10_000,
        cost_fen=1_500,
        received_on=today,
        description="电梯广告",
        actor=clerk,
    )
    year, quarter = _this_quarter()
    return accounts.publish_statement(community=community, period="quarter", year=year, number=quarter, actor=clerk)


def _this_quarter() -> tuple[int, int]:
    today = timezone.localdate()
    return today.year, (today.month - 1) // 3 + 1


def test_statement_figures_come_from_the_ledger(world: World) -> None:
    with community_scope(world.a.community.pk):
        statement = _quarter_with_money(world)
        figures = statement.figures
        assert figures["fee_income"] == {"parking": 20_000, "property_fee": 30_000}
        assert figures["fee_income_total"] == 50_000
        assert figures["collected_fen"] == 30_000  # 35,000 paid less 5,000 refunded
        assert figures["expenses"] == {"cleaning": 8_000, "staff": 12_000}
        assert figures["common_income"] == {
            "owners_share_by_kind": {"advertising": 8_500},
            "owners_share": 8_500,
            "cost_kept": 1_500,
            "gross": 10_000,
        }
        assert figures["fee_model"] == "lump_sum" and figures["remuneration_fen"] == 0
        assert figures["result_fen"] == 50_000 + 8_500 - 20_000
        assert accounts.verify_statement(statement).ok
        with pytest.raises(Conflict):
            accounts.publish_statement(
                community=world.a.community,
                period="quarter",
                year=statement.starts_on.year,
                number=(statement.starts_on.month - 1) // 3 + 1,
                actor=world.user("finance"),
            )


def test_cost_plus_statement_shows_remuneration(world: World) -> None:
    with community_scope(world.a.community.pk):
        ServiceContract.objects.filter(community=world.a.community).update(fee_model="cost_plus")
        accounts.record_expense(
            community=world.a.community,
            category="remuneration",
            amount_fen=4_200,
            spent_on=timezone.localdate(),
            description="酬金",
            actor=world.user("finance"),
        )
        year, quarter = _this_quarter()
        statement = accounts.publish_statement(
            community=world.a.community, period="quarter", year=year, number=quarter, actor=world.user("finance")
        )
        assert statement.figures["fee_model"] == "cost_plus"
        assert statement.figures["remuneration_fen"] == 4_200 and statement.figures["expenses"] == {}
        assert statement.figures["result_fen"] == -4_200


def test_period_bounds() -> None:
    assert accounts.period_bounds("quarter", 2026, 4) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert accounts.period_bounds("month", 2024, 2) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    for bad in (("quarter", 2026, 5), ("month", 2026, 13), ("week", 2026, 1), ("month", 1800, 1)):
        with pytest.raises(DomainError):
            accounts.period_bounds(*bad)


def _without_ledger_guard(sql: str, params: list) -> None:
    """What a rogue operator with database access could do: bypass the append-only trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending trigger events before ALTER
            cursor.execute("ALTER TABLE billing_ledgerentryline DISABLE TRIGGER USER")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE billing_ledgerentryline ENABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER billing_ledgerentryline_append_only")
            cursor.execute(sql, params)


@pytest.mark.parametrize("tamper", ["statement_figures", "statement_and_digest", "ledger_line"])
def test_verification_detects_tampering(world: World, tamper: str) -> None:
    with community_scope(world.a.community.pk):
        statement = _quarter_with_money(world)
        out = io.StringIO()
        call_command("verify_statement", str(statement.pk), stdout=out)
        assert "statement verifies" in out.getvalue()
        figures = dict(statement.figures)
        figures["expenses"] = {**figures["expenses"], "staff": 2_000}
        if tamper == "statement_figures":
            Statement.objects.filter(pk=statement.pk).update(figures=figures)
            expect = {"digest_ok": False, "chain_ok": True, "figures_ok": False}
        elif tamper == "statement_and_digest":
            digest = statement_digest(figures, statement.ledger_seq, statement.ledger_hash)
            Statement.objects.filter(pk=statement.pk).update(figures=figures, digest=digest)
            expect = {"digest_ok": True, "chain_ok": True, "figures_ok": False}
        else:
            _without_ledger_guard(
                "UPDATE billing_ledgerentryline SET debit_fen = %s WHERE account = %s AND debit_fen = %s",
                [2_000, "expense:staff", 12_000],
            )
            expect = {"digest_ok": True, "chain_ok": False, "figures_ok": False}
        statement.refresh_from_db()
        result = accounts.verify_statement(statement)
        assert not result.ok
        assert {k: getattr(result, k) for k in expect} == expect
        with pytest.raises(CommandError) as failed:
            call_command("verify_statement", str(statement.pk), stdout=io.StringIO())
        assert failed.value.returncode == 2


def test_later_postings_do_not_break_an_earlier_statement(world: World) -> None:
    with community_scope(world.a.community.pk):
        statement = _quarter_with_money(world)
        issue_bill(world.a.homes[2], 9_900, dt.date(2026, 11, 1))
        accounts.record_expense(
            community=world.a.community,
            category="greenery",
            amount_fen=700,
            spent_on=timezone.localdate(),
            description="绿化",
            actor=world.user("finance"),
        )
        assert accounts.verify_statement(statement).ok


def test_verify_statement_command_unknown_id_exits_2(db) -> None:
    with pytest.raises(CommandError) as failed:
        call_command("verify_statement", "999999", stdout=io.StringIO())
    assert failed.value.returncode == 2


def test_expense_and_income_refusals(world: World) -> None:
    clerk = world.user("finance")
    with community_scope(world.a.community.pk):
        with pytest.raises(DomainError) as refused:
            accounts.record_expense(
                community=world.a.community,
                category="yachts",
                amount_fen=1,
                spent_on=timezone.localdate(),
                description="x",
                actor=clerk,
            )
        assert refused.value.field == "category"
        with pytest.raises(DomainError) as refused:
            accounts.record_common_income(
                community=world.a.community,
                kind="advertising",
                amount_fen=100,
                cost_fen=101,
                received_on=timezone.localdate(),
                description="x",
                actor=clerk,
            )
        assert refused.value.field == "cost_fen"


def test_a_future_period_cannot_be_published(world: World) -> None:
    with community_scope(world.a.community.pk), pytest.raises(DomainError) as refused:
        accounts.publish_statement(
            community=world.a.community, period="quarter", year=2199, number=1, actor=world.user("finance")
        )
    assert refused.value.field == "number"
