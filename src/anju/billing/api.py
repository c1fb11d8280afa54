"""The billing API: bills, bill runs, meter readings and arrears for staff; my bills for residents.

Amounts are integer fen (``total_fen``), never floats. Handlers are thin: they scope, validate and
call :mod:`anju.billing.services`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from anju.api.auth import community_auth, current_user
from anju.api.errors import COMMUNITY_WRITE, RESIDENT_READ, SIGNED_IN, responses
from anju.api.pagination import Page, PageQuery, paginate
from anju.api.schemas import Input, ObjectId, text
from anju.api.tenancy import get_or_404, resident_scope, scoped
from anju.billing import arrears, services
from anju.billing.models import Bill, BillRun, Meter, Reading
from anju.core.errors import NotFound
from anju.core.permissions import Perm
from anju.residents.models import Occupancy

router = Router(tags=["billing"])


# --- Bills -----------------------------------------------------------------------------------------


class BillLineOut(Schema):
    item: str
    description: str
    quantity: str
    unit_price: str
    amount_fen: int


class BillOut(Schema):
    id: int
    home_id: int
    period: str = Field(description="YYYY-MM")
    kind: str
    status: str
    total_fen: int
    paid_fen: int
    outstanding_fen: int
    due_on: dt.date
    lines: list[BillLineOut] | None = None

    @classmethod
    def of(cls, bill: Bill, *, lines: bool = False) -> BillOut:
        return cls(
            id=bill.pk,
            home_id=bill.home_id,
            period=f"{bill.period:%Y-%m}",
            kind=bill.kind,
            status=bill.status,
            total_fen=bill.total_fen,
            paid_fen=bill.paid_fen,
            outstanding_fen=bill.outstanding_fen,
            due_on=bill.due_on,
            lines=[
                BillLineOut(
                    item=line.item,
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    amount_fen=line.amount_fen,
                )
                for line in bill.lines.order_by("id")
            ]
            if lines
            else None,
        )


class BillFilter(Schema):
    home_id: ObjectId | None = None
    period: Annotated[str, text(7)] = Field("", description="YYYY-MM")
    status: Bill.Status | None = None


@router.get(
    "/communities/{community_id}/bills",
    response=responses(Page[BillOut]),
    auth=community_auth(Perm.VIEW_BILLING),
)
def list_bills(
    request: HttpRequest, community_id: int, filters: Query[BillFilter], page: Query[PageQuery]
) -> Page[BillOut]:
    with scoped(request, community_id, Perm.VIEW_BILLING):
        bills = Bill.objects.order_by("-period", "id")
        if filters.home_id:
            bills = bills.filter(home_id=filters.home_id)
        if filters.period:
            bills = bills.filter(period=services.parse_period(filters.period))
        if filters.status:
            bills = bills.filter(status=filters.status)
        return paginate(bills, page, BillOut.of)


@router.get(
    "/communities/{community_id}/bills/{bill_id}",
    response=responses(BillOut),
    auth=community_auth(Perm.VIEW_BILLING),
)
def get_bill(request: HttpRequest, community_id: int, bill_id: int) -> BillOut:
    with scoped(request, community_id, Perm.VIEW_BILLING):
        return BillOut.of(get_or_404(Bill, bill_id), lines=True)


@router.get("/me/bills", response=responses(list[BillOut], errors=SIGNED_IN))
def my_bills(request: HttpRequest) -> list[BillOut]:
    """The bills of the homes the caller lives in now, newest first (at most 200)."""
    with resident_scope(request):
        home_ids = Occupancy.objects.current().filter(person__user=request.user).values_list("home_id", flat=True)
        bills = Bill.objects.filter(home_id__in=list(home_ids)).order_by("-period", "-id")[:200]
        return [BillOut.of(bill) for bill in bills]


@router.get("/me/bills/{bill_id}", response=responses(BillOut, errors=RESIDENT_READ))
def my_bill(request: HttpRequest, bill_id: int) -> BillOut:
    with resident_scope(request):
        home_ids = Occupancy.objects.current().filter(person__user=request.user).values_list("home_id", flat=True)
        bill = Bill.objects.filter(pk=bill_id, home_id__in=list(home_ids)).first()
        if bill is None:
            raise NotFound()
        return BillOut.of(bill, lines=True)


# --- Bill runs -------------------------------------------------------------------------------------


class BillRunOut(Schema):
    id: int
    period: str
    status: str
    home_count: int
    homes_done: int
    bill_count: int
    total_fen: int
    progress_percent: int
    preview: dict[str, object]

    @classmethod
    def of(cls, run: BillRun) -> BillRunOut:
        return cls(
            id=run.pk,
            period=f"{run.period:%Y-%m}",
            status=run.status,
            home_count=run.home_count,
            homes_done=run.homes_done,
            bill_count=run.bill_count,
            total_fen=run.total_fen,
            progress_percent=run.progress_percent,
            preview=run.preview or {},
        )


class BillRunIn(Input):
    period: Annotated[str, text(7, min_length=7)] = Field(description="YYYY-MM")
    issue: bool = Field(False, description="Issue at once; otherwise only preview.")


@router.post(
    "/communities/{community_id}/bill-runs",
    response=responses(BillRunOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.RUN_BILLS),
)
def run_bills(request: HttpRequest, community_id: int, payload: BillRunIn) -> Status[BillRunOut]:
    """Preview a period (and issue it with ``issue: true``). Issuing is idempotent: homes already
    billed for the period are skipped. Poll the run for progress."""
    period = services.parse_period(payload.period)
    with scoped(request, community_id, Perm.RUN_BILLS) as community:
        if payload.issue:
            run = services.issue_bill_run(community=community, period=period, actor=current_user(request))
        else:
            run = services.preview_bill_run(community=community, period=period, actor=current_user(request))
        run.refresh_from_db()
        return Status(201, BillRunOut.of(run))


@router.get(
    "/communities/{community_id}/bill-runs/{run_id}",
    response=responses(BillRunOut),
    auth=community_auth(Perm.VIEW_BILLING),
)
def get_bill_run(request: HttpRequest, community_id: int, run_id: int) -> BillRunOut:
    with scoped(request, community_id, Perm.VIEW_BILLING):
        return BillRunOut.of(get_or_404(BillRun, run_id))


# --- Readings --------------------------------------------------------------------------------------


class ReadingOut(Schema):
    id: int
    meter_id: int
    meter_code: str
    read_on: dt.date
    value: str
    source: str
    status: str
    flag: str

    @classmethod
    def of(cls, reading: Reading) -> ReadingOut:
        return cls(
            id=reading.pk,
            meter_id=reading.meter_id,
            meter_code=reading.meter.code,
            read_on=reading.read_on,
            value=f"{reading.value}",
            source=reading.source,
            status=reading.status,
            flag=reading.flag,
        )


class ReadingFilter(Schema):
    status: Reading.Status | None = None
    meter_code: Annotated[str, text(60)] = ""


class ReadingIn(Input):
    meter_code: Annotated[str, text(60, min_length=1)]
    value: Annotated[str, text(20, min_length=1)] = Field(description="Up to two decimals, e.g. 1234.56")
    read_on: dt.date | None = Field(None, description="Today when omitted.")


class ReviewIn(Input):
    decision: Annotated[str, Field(pattern="^(accept|baseline|reject)$")]


@router.get(
    "/communities/{community_id}/readings",
    response=responses(Page[ReadingOut]),
    auth=community_auth(Perm.VIEW_BILLING),
)
def list_readings(
    request: HttpRequest, community_id: int, filters: Query[ReadingFilter], page: Query[PageQuery]
) -> Page[ReadingOut]:
    with scoped(request, community_id, Perm.VIEW_BILLING):
        readings = Reading.objects.select_related("meter").order_by("-read_on", "-id")
        if filters.status:
            readings = readings.filter(status=filters.status)
        if filters.meter_code:
            readings = readings.filter(meter__code=filters.meter_code)
        return paginate(readings, page, ReadingOut.of)


@router.post(
    "/communities/{community_id}/readings",
    response=responses(ReadingOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.ENTER_READINGS),
)
def create_reading(request: HttpRequest, community_id: int, payload: ReadingIn) -> Status[ReadingOut]:
    """Enter a reading. A reading lower than the last or an implausible jump is stored but held
    for review (``status: held`` and ``flag``), not billed."""
    with scoped(request, community_id, Perm.ENTER_READINGS):
        meter = Meter.objects.filter(code=payload.meter_code).first()
        if meter is None:
            raise NotFound(field="meter_code")
        reading = services.record_reading(
            community_id=community_id,
            meter_id=meter.pk,
            read_on=payload.read_on or timezone.localdate(),
            value=payload.value,
            actor=current_user(request),
        )
        return Status(201, ReadingOut.of(reading))


@router.post(
    "/communities/{community_id}/readings/{reading_id}/review",
    response=responses(ReadingOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.RUN_BILLS),
)
def review_reading(request: HttpRequest, community_id: int, reading_id: int, payload: ReviewIn) -> ReadingOut:
    with scoped(request, community_id, Perm.RUN_BILLS):
        reading = services.review_reading(
            community_id=community_id, reading_id=reading_id, decision=payload.decision, actor=current_user(request)
        )
        return ReadingOut.of(reading)


# --- Arrears ---------------------------------------------------------------------------------------


class ArrearsOut(Schema):
    home_id: int
    home: str
    outstanding_fen: int
    oldest_due_on: dt.date | None
    buckets: dict[str, int] = Field(description="Overdue fen by days past due: 1_30, 31_90, 91_180, 181_365, over_365")


class ArrearsPage(Schema):
    items: list[ArrearsOut]
    count: int
    total_fen: int
    aging: dict[str, int]
    collection_rate: str


@router.get(
    "/communities/{community_id}/arrears",
    response=responses(ArrearsPage),
    auth=community_auth(Perm.VIEW_BILLING),
)
def list_arrears(request: HttpRequest, community_id: int, page: Query[PageQuery]) -> ArrearsPage:
    """Homes with overdue fees, largest first. A steward sees only the homes they look after."""
    with scoped(request, community_id, Perm.VIEW_BILLING):
        from anju.api.auth import request_access

        access = request_access(request)
        limit = None
        if not access.has(Perm.RUN_BILLS, community_id) and access.has_role("steward", community_id):
            limit = arrears.steward_home_ids(current_user(request))
        rows = arrears.arrears_by_home(timezone.localdate(), home_ids=limit)
        rate, _buildings = arrears.collection_rates()
        window = rows[page.offset : page.offset + page.limit]
        return ArrearsPage(
            items=[
                ArrearsOut(
                    home_id=row.home_id,
                    home=row.label,
                    outstanding_fen=row.outstanding_fen,
                    oldest_due_on=row.oldest_due_on,
                    buckets=row.buckets,
                )
                for row in window
            ],
            count=len(rows),
            total_fen=sum(row.outstanding_fen for row in rows),
            aging=arrears.aging_totals(rows),
            collection_rate=rate.percent,
        )
