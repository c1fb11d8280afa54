"""Arrears: who owes what for how long, statements, collection rates and courteous reminders.

Aging buckets count days past a bill's due date: 1–30, 31–90, 91–180, 181–365 and over a year. The
collection rate of a set of bills is what was settled (paid or credited) over what was billed.
Reminders are written notices with a reasonable deadline (DOMAIN §3: the company reminds in writing,
then may sue or seek arbitration; it may never cut water, power, heating or gas to collect).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.billing.models import ArrearsReminder, Bill
from anju.billing.pricing import format_fen
from anju.core import audit
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Home

BUCKETS: tuple[tuple[str, int, int | None, object], ...] = (
    ("1_30", 1, 30, gettext_lazy("1–30 days")),
    ("31_90", 31, 90, gettext_lazy("31–90 days")),
    ("91_180", 91, 180, gettext_lazy("91–180 days")),
    ("181_365", 181, 365, gettext_lazy("181–365 days")),
    ("over_365", 366, None, gettext_lazy("over a year")),
)
PAY_BY_DAYS = 15  # the "reasonable deadline" a reminder gives


def bucket_of(days_overdue: int) -> str | None:
    for key, lo, hi, _label in BUCKETS:
        if days_overdue >= lo and (hi is None or days_overdue <= hi):
            return key
    return None


@dataclass
class HomeArrears:
    home_id: int
    label: str = ""
    building_id: int = 0
    outstanding_fen: int = 0
    oldest_due_on: dt.date | None = None
    buckets: dict[str, int] = field(default_factory=lambda: {key: 0 for key, *_ in BUCKETS})

    @property
    def days_overdue(self) -> int:
        if self.oldest_due_on is None:
            return 0
        return (timezone.localdate() - self.oldest_due_on).days


def overdue_bills(as_of: dt.date) -> QuerySet[Bill]:
    return Bill.objects.filter(status__in=[Bill.Status.UNPAID, Bill.Status.PARTIAL], due_on__lt=as_of)


def arrears_by_home(as_of: dt.date, *, home_ids: Iterable[int] | None = None) -> list[HomeArrears]:
    """Each home with overdue fees, largest first, with its aging. Inside a community scope."""
    bills = overdue_bills(as_of)
    if home_ids is not None:
        bills = bills.filter(home_id__in=list(home_ids))
    result: dict[int, HomeArrears] = {}
    for home_id, due_on, total, paid in bills.values_list("home_id", "due_on", "total_fen", "paid_fen"):
        row = result.setdefault(home_id, HomeArrears(home_id))
        owed = total - paid
        row.outstanding_fen += owed
        bucket = bucket_of((as_of - due_on).days)
        if bucket:
            row.buckets[bucket] += owed
        if row.oldest_due_on is None or due_on < row.oldest_due_on:
            row.oldest_due_on = due_on
    homes = Home.objects.filter(pk__in=list(result)).select_related("building", "unit")
    for home in homes:
        result[home.pk].label = home.label
        result[home.pk].building_id = home.building_id
    return sorted(result.values(), key=lambda row: (-row.outstanding_fen, row.home_id))


def aging_totals(rows: Iterable[HomeArrears]) -> dict[str, int]:
    totals = {key: 0 for key, *_ in BUCKETS}
    for row in rows:
        for key, value in row.buckets.items():
            totals[key] += value
    return totals


@dataclass
class CollectionRate:
    label: str
    billed_fen: int
    settled_fen: int

    @property
    def percent(self) -> str:
        if not self.billed_fen:
            return "—"
        return f"{self.settled_fen * 1000 // self.billed_fen / 10:.1f}%"


def collection_rates(period: dt.date | None = None) -> tuple[CollectionRate, list[CollectionRate]]:
    """The community's collection rate and each building's, for one period or all (in a scope)."""
    from anju.estates.models import Building

    bills = Bill.objects.all()
    if period is not None:
        bills = bills.filter(period=period)
    rows = bills.values("home__building_id").annotate(b=Sum("total_fen"), s=Sum("paid_fen")).order_by()
    by_building = {row["home__building_id"]: (row["b"] or 0, row["s"] or 0) for row in rows}
    buildings = Building.objects.filter(pk__in=list(by_building)).order_by("sort_key", "number")
    per_building = [CollectionRate(str(b), *by_building[b.pk]) for b in buildings]
    total = CollectionRate(
        _("Whole community"),
        sum(billed for billed, _s in by_building.values()),
        sum(settled for _b, settled in by_building.values()),
    )
    return total, per_building


def steward_home_ids(user: User) -> set[int]:
    """The homes currently assigned to ``user`` as steward (in the active scope)."""
    from anju.residents.models import StewardAssignment

    return set(StewardAssignment.objects.filter(steward=user, ends_on__isnull=True).values_list("home_id", flat=True))


@dataclass
class StatementLine:
    on: dt.date
    description: str
    charged_fen: int = 0
    settled_fen: int = 0
    balance_fen: int = 0


def statement(home: Home) -> list[StatementLine]:
    """A home's account: every bill charged and the amount settled on it, with a running balance of
    what is still owed."""
    lines: list[StatementLine] = []
    balance = 0
    for bill in Bill.objects.filter(home=home).prefetch_related("lines").order_by("period", "issued_at", "id"):
        names = "、".join(line.description for line in bill.lines.all())[:120]
        balance += bill.total_fen - bill.paid_fen
        lines.append(
            StatementLine(
                on=timezone.localtime(bill.issued_at).date(),
                description=f"{bill.period:%Y-%m} {names}",
                charged_fen=bill.total_fen,
                settled_fen=bill.paid_fen,
                balance_fen=balance,
            )
        )
    return lines


def letter_text(home: Home, outstanding_fen: int, oldest_due_on: dt.date, pay_by: dt.date, community_name: str) -> str:
    """The reminder's wording: courteous, factual, with a deadline and the routes to resolve it, and
    none of the threats the law forbids (no utility cut-off, Civil Code Art. 944)."""
    with translation.override("zh-hans"):
        return _(
            "Dear owner of %(home)s, according to our records the property service fees of your home, "
            "%(amount)s yuan in total, have been due since %(since)s. We kindly ask you to settle them by "
            "%(pay_by)s in the resident portal or at the service centre. If you have already paid, or "
            "have a question about the amount, please contact the service centre; we will check it with "
            "you. Thank you for your support. — %(community)s property service centre"
        ) % {
            "home": home.label,
            "amount": format_fen(outstanding_fen),
            "since": f"{oldest_due_on:%Y-%m-%d}",
            "pay_by": f"{pay_by:%Y-%m-%d}",
            "community": community_name,
        }


def _owner_users(home_ids: list[int]) -> dict[int, list[User]]:
    from anju.residents.models import Occupancy

    users: dict[int, list[User]] = defaultdict(list)
    rows = (
        Occupancy.objects.current()
        .filter(home_id__in=home_ids, role__in=[Occupancy.Role.OWNER, Occupancy.Role.CO_OWNER, Occupancy.Role.TENANT])
        .filter(person__user__isnull=False, person__user__is_active=True)
        .select_related("person__user")
    )
    for occupancy in rows:
        if occupancy.person.user not in users[occupancy.home_id]:
            users[occupancy.home_id].append(occupancy.person.user)
    return users


def send_reminders(*, community_id: int, as_of: dt.date | None = None, actor: User | None = None) -> int:
    """Remind every home whose oldest overdue bill passed the first-reminder threshold and that was
    not reminded within the repeat interval: in-app and by SMS to its owners and tenants with an
    account. One reminder row per home and day (a unique constraint) makes two workers running this
    at once send each reminder once. Returns the reminders sent."""
    from anju.billing.billruns import settings_for
    from anju.core.notifications import notify
    from anju.estates.models import Community

    as_of = as_of or timezone.localdate()
    sent = 0
    with community_scope(community_id):
        config = settings_for(community_id)
        community = Community.objects.get(pk=community_id)
        rows = [
            row
            for row in arrears_by_home(as_of - dt.timedelta(days=config.reminder_after_days - 1))
            if row.outstanding_fen > 0
        ]
        recent = set(
            ArrearsReminder.objects.filter(
                sent_on__gt=as_of - dt.timedelta(days=config.reminder_every_days)
            ).values_list("home_id", flat=True)
        )
        rows = [row for row in rows if row.home_id not in recent]
        recipients = _owner_users([row.home_id for row in rows])
        homes = {
            home.pk: home
            for home in Home.objects.filter(pk__in=[r.home_id for r in rows]).select_related("building", "unit")
        }
        for row in rows:
            users = recipients.get(row.home_id, [])
            pay_by = as_of + dt.timedelta(days=PAY_BY_DAYS)
            try:
                with transaction.atomic():
                    reminder = ArrearsReminder.objects.create(
                        community_id=community_id,
                        home_id=row.home_id,
                        sent_on=as_of,
                        outstanding_fen=row.outstanding_fen,
                        oldest_due_on=row.oldest_due_on or as_of,
                        pay_by=pay_by,
                        recipients=len(users),
                        sent_by=actor,
                    )
                    if users:
                        with translation.override("zh-hans"):
                            title = _("Reminder: property fees due")
                        notify(
                            users,
                            kind="billing.arrears",
                            title=title,
                            body=letter_text(
                                homes[row.home_id], row.outstanding_fen, reminder.oldest_due_on, pay_by, community.name
                            ),
                            url="/portal/billing/",
                            community_id=community_id,
                            sms=True,
                        )
                    audit.record(
                        actor=actor,
                        action="arrears.remind",
                        obj=reminder,
                        after={"outstanding_fen": row.outstanding_fen, "recipients": len(users)},
                    )
            except IntegrityError:
                continue  # another worker reminded this home today
            sent += 1
    return sent


def homes_in_arrears(as_of: dt.date) -> set[int]:
    return set(overdue_bills(as_of).values_list("home_id", flat=True).distinct())


def overdue_filter(as_of: dt.date) -> Q:
    return Q(status__in=[Bill.Status.UNPAID, Bill.Status.PARTIAL], due_on__lt=as_of)
