"""Migration 0002: refunds approved before pay-outs existed ("approved and refunded", their single
ledger entry crediting the money account) become ``succeeded``, and the ledger checks accept them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from anju.billing import ledger
from anju.billing.models import Account
from anju.billing.payments.models import Refund
from anju.billing.payments.verifiers import verify_payments_posted
from anju.core.tenancy import community_scope

from ..personas import World

BEFORE = [("payments", "0001_initial")]


@pytest.mark.django_db(transaction=True)
def test_legacy_approved_refunds_become_paid_out(world: World) -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("payments")
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    order_model, refund_model = old.get_model("payments", "PaymentOrder"), old.get_model("payments", "Refund")
    community, home = world.a.community, world.a.homes[0]
    order = order_model.objects.create(
        community_id=community.pk,
        home_id=home.pk,
        trade_no="PLEGACY0001",
        method="cash",
        amount_fen=10_000,
        status="paid",
        paid_at=timezone.now(),
        prepaid_fen=10_000,
    )
    decided_at = timezone.now() - dt.timedelta(days=30)
    refund = refund_model.objects.create(
        community_id=community.pk,
        order_id=order.pk,
        amount_fen=4_000,
        reason="legacy",
        status="approved",
        requested_by_id=world.user("finance").pk,
        decided_by_id=world.user("manager_x").pk,
        decided_at=decided_at,
        lines=[{"kind": "prepaid", "amount_fen": 4_000}],
    )
    with community_scope(community.pk):
        # What the old code posted: the payment, and the refund straight out of the cash drawer.
        for key, lines, source in (
            (
                "payment:PLEGACY0001",
                [
                    ledger.LedgerLine(Account.CASH, debit_fen=10_000),
                    ledger.LedgerLine(Account.PREPAID, credit_fen=10_000, home_id=home.pk),
                ],
                "payment",
            ),
            (
                f"refund:{refund.pk}",
                [
                    ledger.LedgerLine(Account.PREPAID, debit_fen=4_000, home_id=home.pk),
                    ledger.LedgerLine(Account.CASH, credit_fen=4_000),
                ],
                "refund",
            ),
        ):
            ledger.post_entry(
                community_id=community.pk,
                lines=lines,
                key=key,
                memo=key,
                source_type=source,
                source_id=str(order.pk if source == "payment" else refund.pk),
                actor=None,
            )
    executor = MigrationExecutor(connection)
    executor.migrate(latest)
    with community_scope(community.pk):
        migrated = Refund.objects.get(pk=refund.pk)
        assert migrated.status == "succeeded" and migrated.payout_method == "cash"
        assert migrated.paid_out_at == decided_at
        assert verify_payments_posted(community.pk) == []
        assert ledger.verify_ledger(community.pk) == []
