"""Billing's periodic work: arrears reminders and capped late fees, once a day per community.

Both are safe when two workers run them at once: a reminder is one row per home and day (a unique
constraint), a late fee a one-off charge idempotent by ``late_fee:<bill id>``.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from anju.core.periodic import periodic
from anju.estates.models import Community


@periodic("billing.arrears_reminders", every=timedelta(hours=24))
def arrears_reminders() -> int:
    from anju.billing.arrears import send_reminders

    return sum(send_reminders(community_id=pk) for pk in Community.objects.values_list("pk", flat=True))


@periodic("billing.late_fees", every=timedelta(hours=24))
def late_fees() -> int:
    from anju.billing.services import charge_late_fees

    today = timezone.localdate()
    return sum(
        charge_late_fees(community_id=pk, as_of=today, actor=None)
        for pk in Community.objects.values_list("pk", flat=True)
    )
