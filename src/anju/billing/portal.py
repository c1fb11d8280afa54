"""The resident portal's bills: what I owe for each of my homes, and each bill's lines.

Runs inside ``@resident_view``'s scope and is narrowed to the homes the user occupies today: any
other bill id is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from anju.billing.models import Bill
from anju.billing.pricing import format_fen
from anju.estates.models import Home
from anju.residents.models import Occupancy
from anju.web.decorators import resident_view


def my_home_ids(request: HttpRequest) -> list[int]:
    return list(
        Occupancy.objects.current().filter(person__user=request.user).values_list("home_id", flat=True).distinct()
    )


@dataclass
class HomeBills:
    home: Home
    bills: list[tuple[Bill, str, str]] = field(default_factory=list)
    owed: int = 0

    @property
    def owed_text(self) -> str:
        return format_fen(self.owed)


@resident_view
def my_bills(request: HttpRequest) -> HttpResponse:
    bills = (
        Bill.objects.filter(home_id__in=my_home_ids(request))
        .select_related("home__building", "home__unit")
        .order_by("home_id", "-period", "-id")[:200]
    )
    homes: dict[int, HomeBills] = {}
    for bill in bills:
        entry = homes.setdefault(bill.home_id, HomeBills(bill.home))
        entry.bills.append((bill, format_fen(bill.total_fen), format_fen(bill.outstanding_fen)))
        entry.owed += bill.outstanding_fen
    return render(request, "billing/portal_bills.html", {"homes": list(homes.values())})


@resident_view
def bill_detail(request: HttpRequest, bill_id: int) -> HttpResponse:
    bill = (
        Bill.objects.filter(pk=bill_id, home_id__in=my_home_ids(request))
        .select_related("home__building", "home__unit")
        .first()
    )
    if bill is None:
        raise Http404
    lines = [(line, format_fen(line.amount_fen)) for line in bill.lines.order_by("id")]
    return render(
        request,
        "billing/portal_bill.html",
        {
            "bill": bill,
            "lines": lines,
            "total": format_fen(bill.total_fen),
            "paid": format_fen(bill.paid_fen),
            "owed": format_fen(bill.outstanding_fen),
        },
    )
