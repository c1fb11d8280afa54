"""Bills for the payments tests, issued the way billing issues them: a bill row and its ledger
entry (receivable debited, fee income credited) in one transaction, through the real ledger writer."""

from __future__ import annotations

import datetime as dt
import itertools

from django.db import transaction

from anju.billing import ledger
from anju.billing.models import Account, Bill
from anju.core.tenancy import community_scope
from anju.estates.models import Home

_serial = itertools.count(1)


@transaction.atomic
def issue_bill(home: Home, amount_fen: int, period: dt.date, *, account: str = Account.INCOME_PROPERTY_FEE) -> Bill:
    ref = f"test-bill:{next(_serial)}"
    with community_scope(home.community_id):
        entry = ledger.post_entry(
            community_id=home.community_id,
            lines=[
                ledger.LedgerLine(Account.RECEIVABLE, debit_fen=amount_fen, home_id=home.pk),
                ledger.LedgerLine(account, credit_fen=amount_fen),
            ],
            key=ref,
            memo=f"bill {period:%Y-%m}",
            source_type="bill",
            source_id=ref,
            actor=None,
        )
        return Bill.objects.create(
            community_id=home.community_id,
            home=home,
            period=period,
            kind=Bill.Kind.ONE_OFF,
            total_fen=amount_fen,
            due_on=period + dt.timedelta(days=30),
            source_ref=ref,
            ledger_entry=entry,
        )
