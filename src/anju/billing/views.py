"""Console pages for billing: overview, tariffs, meter readings (phone entry, review, import), bill
runs (preview, issue, progress), arrears with aging, a home's statement and reminder letter, and
discount approvals.

Every view runs inside ``@community_view``; writes go through :mod:`anju.billing.services`, whose
refusals are shown next to the field they concern.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from anju.billing import arrears, services
from anju.billing.models import Bill, BillRun, Credit, FeeItem, Meter, Reading, Tariff
from anju.billing.pricing import format_fen
from anju.core.errors import DomainError
from anju.core.permissions import Perm
from anju.estates.models import Building, Home
from anju.web.console import render_console, require_permission
from anju.web.decorators import community_view, request_access
from anju.web.forms import add_domain_error

# --- Overview --------------------------------------------------------------------------------------


@community_view(Perm.VIEW_BILLING)
def overview(request: HttpRequest, community_id: int) -> HttpResponse:
    today = timezone.localdate()
    total, _per_building = arrears.collection_rates()
    rows = arrears.arrears_by_home(today, home_ids=_steward_limit(request, community_id))
    return render_console(
        request,
        "billing/overview.html",
        community_id,
        runs=BillRun.objects.order_by("-period")[:6],
        rate=total,
        aging=_aging_rows(arrears.aging_totals(rows)),
        arrears_total=format_fen(sum(row.outstanding_fen for row in rows)),
        homes_in_arrears=len(rows),
        held=Reading.objects.filter(status=Reading.Status.HELD).count(),
        pending_credits=Credit.objects.filter(status=Credit.Status.REQUESTED).count(),
    )


def _aging_rows(totals: dict[str, int]) -> list[tuple[Any, str]]:
    return [(label, format_fen(totals[key])) for key, _lo, _hi, label in arrears.BUCKETS]


def _steward_limit(request: HttpRequest, community_id: int) -> set[int] | None:
    """Stewards see arrears among their own homes; finance and managers see all."""
    access = request_access(request)
    if access.has(Perm.RUN_BILLS, community_id) or access.has(Perm.TAKE_PAYMENTS, community_id):
        return None
    if access.has_role("steward", community_id):
        return arrears.steward_home_ids(request.user)  # type: ignore[arg-type]
    return None


# --- Tariffs ---------------------------------------------------------------------------------------


class FeeItemForm(forms.Form):
    code = forms.SlugField(label=gettext_lazy("Code"), max_length=40)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=60)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=FeeItem.Kind.choices)
    basis = forms.ChoiceField(label=gettext_lazy("Basis"), choices=FeeItem.Basis.choices)
    meter_kind = forms.ChoiceField(
        label=gettext_lazy("Meter kind"), choices=[("", "—"), *Meter.Kind.choices], required=False
    )
    while_occupied = forms.BooleanField(label=gettext_lazy("Only while occupied"), required=False)


class TariffForm(forms.Form):
    fee_item: forms.ModelChoiceField[FeeItem] = forms.ModelChoiceField(
        label=gettext_lazy("Fee item"), queryset=FeeItem.objects.none()
    )
    valid_from = forms.DateField(label=gettext_lazy("Valid from"))
    price = forms.CharField(label=gettext_lazy("Price (yuan)"), max_length=20)
    building: forms.ModelChoiceField[Building] = forms.ModelChoiceField(
        label=gettext_lazy("Building (optional)"), queryset=Building.objects.none(), required=False
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fee_item"].queryset = FeeItem.objects.all()  # type: ignore[attr-defined]
        self.fields["building"].queryset = Building.objects.all()  # type: ignore[attr-defined]


@community_view(Perm.VIEW_BILLING)
def tariffs(request: HttpRequest, community_id: int) -> HttpResponse:
    item_form = FeeItemForm(prefix="item")
    tariff_form = TariffForm(prefix="tariff")
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_TARIFFS, community_id)
        if "item-code" in request.POST:
            item_form = FeeItemForm(request.POST, prefix="item")
            if item_form.is_valid():
                data = item_form.cleaned_data
                try:
                    services.create_fee_item(
                        community_id=community_id,
                        code=data["code"],
                        name=data["name"],
                        kind=data["kind"],
                        basis=data["basis"],
                        meter_kind=data["meter_kind"],
                        while_occupied=data["while_occupied"],
                        actor=request.user,  # type: ignore[arg-type]
                    )
                except DomainError as exc:
                    add_domain_error(item_form, exc)
                else:
                    messages.success(request, _("Fee item added."))
                    return redirect("console:billing_tariffs", community_id=community_id)
        else:
            tariff_form = TariffForm(request.POST, prefix="tariff")
            if tariff_form.is_valid():
                data = tariff_form.cleaned_data
                try:
                    services.set_tariff(
                        community_id=community_id,
                        fee_item_id=data["fee_item"].pk,
                        valid_from=data["valid_from"],
                        price=data["price"],
                        building_id=data["building"].pk if data["building"] else None,
                        note=data["note"],
                        actor=request.user,  # type: ignore[arg-type]
                    )
                except DomainError as exc:
                    add_domain_error(tariff_form, exc)
                else:
                    messages.success(request, _("New price saved."))
                    return redirect("console:billing_tariffs", community_id=community_id)
    items = list(FeeItem.objects.order_by("kind", "code"))
    prices = Tariff.objects.select_related("fee_item", "building").order_by("fee_item__code", "building", "-valid_from")
    return render_console(
        request,
        "billing/tariffs.html",
        community_id,
        items=items,
        prices=prices,
        item_form=item_form,
        tariff_form=tariff_form,
        settings=services.settings_for(community_id),
    )


# --- Meter readings --------------------------------------------------------------------------------


class ReadingForm(forms.Form):
    meter = forms.CharField(label=gettext_lazy("Meter number"), max_length=60)
    value = forms.CharField(label=gettext_lazy("Reading"), max_length=20)
    read_on = forms.DateField(label=gettext_lazy("Read on"), required=False)


@community_view(Perm.ENTER_READINGS)
def readings(request: HttpRequest, community_id: int) -> HttpResponse:
    """The phone page: type the meter number and the reading; see what was just entered. Open to
    whoever enters readings (technicians on their rounds), not only to finance."""
    form = ReadingForm(request.POST or None)
    if request.method == "POST":
        require_permission(request, Perm.ENTER_READINGS, community_id)
        if form.is_valid():
            data = form.cleaned_data
            meter = Meter.objects.filter(code=data["meter"].strip()).first()
            if meter is None:
                form.add_error("meter", _("No meter with this number in the community."))
            else:
                try:
                    reading = services.record_reading(
                        community_id=community_id,
                        meter_id=meter.pk,
                        read_on=data["read_on"] or timezone.localdate(),
                        value=data["value"],
                        actor=request.user,  # type: ignore[arg-type]
                    )
                except DomainError as exc:
                    add_domain_error(form, exc)
                else:
                    if reading.status == Reading.Status.HELD:
                        messages.warning(
                            request, _("Saved, but held for review: %(why)s") % {"why": flag_label(reading.flag)}
                        )
                    else:
                        messages.success(request, _("Reading saved."))
                    return redirect("console:billing_readings", community_id=community_id)
    recent = Reading.objects.select_related("meter").order_by("-entered_at", "-id")[:20]
    return render_console(request, "billing/readings.html", community_id, form=form, recent=recent)


FLAG_LABELS = {
    "lower_than_last": gettext_lazy("lower than the last reading"),
    "implausible_jump": gettext_lazy("an implausible jump in use"),
    "superseded": gettext_lazy("replaced by a later reading"),
}


def flag_label(flag: str) -> str:
    return str(FLAG_LABELS.get(flag, flag))


@community_view(Perm.VIEW_BILLING)
def review(request: HttpRequest, community_id: int) -> HttpResponse:
    if request.method == "POST":
        require_permission(request, Perm.RUN_BILLS, community_id)
        try:
            reading_id = int(request.POST.get("reading", ""))
        except ValueError:
            raise Http404 from None
        try:
            services.review_reading(
                community_id=community_id,
                reading_id=reading_id,
                decision=request.POST.get("decision", ""),
                actor=request.user,  # type: ignore[arg-type]
            )
        except DomainError as exc:
            if exc.status == 404:
                raise Http404 from None
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Decision saved."))
        return redirect("console:billing_review", community_id=community_id)
    held = list(
        Reading.objects.filter(status=Reading.Status.HELD).select_related("meter").order_by("read_on", "id")[:200]
    )
    last_ok = {}
    for reading in held:
        previous = (
            Reading.objects.filter(
                meter_id=reading.meter_id, status__in=["ok", "baseline"], read_on__lt=reading.read_on
            )
            .order_by("-read_on")
            .first()
        )
        last_ok[reading.pk] = previous
    rows = [(reading, last_ok[reading.pk], flag_label(reading.flag)) for reading in held]
    return render_console(request, "billing/review.html", community_id, rows=rows)


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Workbook (.xlsx)"))


@community_view(Perm.VIEW_BILLING)
def import_view(request: HttpRequest, community_id: int) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST":
        require_permission(request, Perm.ENTER_READINGS, community_id)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > 5 * 1024 * 1024:
                form.add_error("file", _("The file is larger than 5 MB."))
            else:
                try:
                    report = services.import_readings(
                        community_id=community_id,
                        content=upload.read(),
                        actor=request.user,  # type: ignore[arg-type]
                    )
                except DomainError as exc:
                    add_domain_error(form, exc)
    return render_console(request, "billing/import.html", community_id, form=form, report=report)


# --- Bill runs -------------------------------------------------------------------------------------


class PeriodForm(forms.Form):
    period = forms.CharField(label=gettext_lazy("Period (year-month)"), max_length=7)


@community_view(Perm.VIEW_BILLING)
def runs(request: HttpRequest, community_id: int) -> HttpResponse:
    today = timezone.localdate()
    form = PeriodForm(request.POST or None, initial={"period": f"{today:%Y-%m}"})
    if request.method == "POST":
        require_permission(request, Perm.RUN_BILLS, community_id)
        if form.is_valid():
            try:
                run = services.preview_bill_run(
                    community=request.community,  # type: ignore[attr-defined]
                    period=services.parse_period(form.cleaned_data["period"]),
                    actor=request.user,  # type: ignore[arg-type]
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                return redirect("console:billing_run", community_id=community_id, run_id=run.pk)
    return render_console(
        request, "billing/runs.html", community_id, form=form, runs=BillRun.objects.order_by("-period")[:36]
    )


@community_view(Perm.VIEW_BILLING)
def run_detail(request: HttpRequest, community_id: int, run_id: int) -> HttpResponse:
    run = BillRun.objects.filter(pk=run_id).first()
    if run is None:
        raise Http404
    if request.method == "POST":
        require_permission(request, Perm.RUN_BILLS, community_id)
        try:
            services.issue_bill_run(
                community=request.community,  # type: ignore[attr-defined]
                period=run.period,
                actor=request.user,  # type: ignore[arg-type]
            )
        except DomainError as exc:
            messages.error(request, str(exc.message))
        return redirect("console:billing_run", community_id=community_id, run_id=run.pk)
    items = [{**row, "amount": format_fen(row["fen"])} for row in (run.preview or {}).get("by_item", [])]
    homes = {
        h.pk: h
        for h in Home.objects.filter(pk__in=[s["home_id"] for s in run.preview.get("sample", [])]).select_related(
            "building", "unit"
        )
    }
    sample = [
        (homes.get(row["home_id"]), format_fen(row["total_fen"])) for row in (run.preview or {}).get("sample", [])
    ]
    issued_total = format_fen(sum(Bill.objects.filter(run=run).values_list("total_fen", flat=True)))
    return render_console(
        request,
        "billing/run.html",
        community_id,
        run=run,
        items=items,
        sample=[(home, amount) for home, amount in sample if home is not None],
        total=format_fen(run.total_fen),
        issued_total=issued_total,
        refresh=run.status == BillRun.Status.ISSUING,
    )


# --- Arrears, statements, letters ------------------------------------------------------------------


@community_view(Perm.VIEW_BILLING)
def arrears_view(request: HttpRequest, community_id: int) -> HttpResponse:
    today = timezone.localdate()
    limit = _steward_limit(request, community_id)
    rows = arrears.arrears_by_home(today, home_ids=limit)
    bucket = request.GET.get("bucket", "")
    if bucket in {key for key, *_rest in arrears.BUCKETS}:
        rows = [row for row in rows if row.buckets.get(bucket)]
    try:
        rate_period = services.parse_period(request.GET["period"]) if request.GET.get("period") else None
    except DomainError:
        rate_period = None
    total, per_building = arrears.collection_rates(rate_period)
    table = [
        (row, format_fen(row.outstanding_fen), [format_fen(row.buckets[key]) for key, *_r in arrears.BUCKETS])
        for row in rows[:500]
    ]
    return render_console(
        request,
        "billing/arrears.html",
        community_id,
        table=table,
        buckets=arrears.BUCKETS,
        aging=_aging_rows(arrears.aging_totals(rows)),
        rate=total,
        per_building=per_building,
        limited=limit is not None,
        count=len(rows),
        rate_period=rate_period,
        periods=BillRun.objects.order_by("-period").values_list("period", flat=True)[:12],
    )


def _home_or_404(home_id: int) -> Home:
    home = Home.objects.filter(pk=home_id).select_related("building", "unit").first()
    if home is None:
        raise Http404
    return home


@community_view(Perm.VIEW_BILLING)
def statement_view(request: HttpRequest, community_id: int, home_id: int) -> HttpResponse:
    home = _home_or_404(home_id)
    limit = _steward_limit(request, community_id)
    if limit is not None and home.pk not in limit:
        raise Http404
    if request.method == "POST":
        require_permission(request, Perm.RUN_BILLS, community_id)
        form = DiscountForm(request.POST)
        if form.is_valid():
            try:
                services.request_discount(
                    community_id=community_id,
                    home_id=home.pk,
                    amount_fen=form.amount_fen(),
                    reason=form.cleaned_data["reason"],
                    actor=request.user,  # type: ignore[arg-type]
                )
            except DomainError as exc:
                messages.error(request, str(exc.message))
            else:
                messages.success(request, _("The discount waits for approval."))
        else:
            messages.error(request, _("Give an amount and a reason."))
        return redirect("console:billing_statement", community_id=community_id, home_id=home.pk)
    lines = arrears.statement(home)
    rows = [
        (line, format_fen(line.charged_fen), format_fen(line.settled_fen), format_fen(line.balance_fen))
        for line in lines
    ]
    owed = lines[-1].balance_fen if lines else 0
    return render_console(
        request,
        "billing/statement.html",
        community_id,
        home=home,
        rows=rows,
        owed=format_fen(owed),
        discount_form=DiscountForm(),
        credits=Credit.objects.filter(home=home).order_by("-created_at")[:20],
    )


@community_view(Perm.VIEW_BILLING)
def letter_view(request: HttpRequest, community_id: int, home_id: int) -> HttpResponse:
    """A printable reminder letter for one home (browser print to paper or PDF)."""
    home = _home_or_404(home_id)
    limit = _steward_limit(request, community_id)
    if limit is not None and home.pk not in limit:
        raise Http404
    today = timezone.localdate()
    rows = arrears.arrears_by_home(today, home_ids=[home.pk])
    row = rows[0] if rows else None
    text = ""
    if row is not None and row.oldest_due_on is not None:
        text = arrears.letter_text(
            home,
            row.outstanding_fen,
            row.oldest_due_on,
            today + dt.timedelta(days=arrears.PAY_BY_DAYS),
            request.community.name,  # type: ignore[attr-defined]
        )
    return render_console(request, "billing/letter.html", community_id, home=home, text=text, today=today)


# --- Discounts and waivers -------------------------------------------------------------------------


class DiscountForm(forms.Form):
    amount = forms.DecimalField(label=gettext_lazy("Amount (yuan)"), min_value=0.01, max_digits=10, decimal_places=2)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200)

    def amount_fen(self) -> int:
        return int(self.cleaned_data["amount"] * 100)


@community_view(Perm.VIEW_BILLING)
def discounts(request: HttpRequest, community_id: int) -> HttpResponse:
    if request.method == "POST":
        require_permission(request, Perm.APPROVE_REFUNDS, community_id)
        try:
            credit_id = int(request.POST.get("credit", ""))
        except ValueError:
            raise Http404 from None
        try:
            services.decide_discount(
                community_id=community_id,
                credit_id=credit_id,
                approve=request.POST.get("decision") == "approve",
                actor=request.user,  # type: ignore[arg-type]
            )
        except DomainError as exc:
            if exc.status == 404:
                raise Http404 from None
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Decision saved."))
        return redirect("console:billing_discounts", community_id=community_id)
    credits = Credit.objects.select_related("home__building", "home__unit", "requested_by", "decided_by").order_by(
        "status", "-created_at"
    )[:200]
    return render_console(
        request,
        "billing/discounts.html",
        community_id,
        credits=[(credit, format_fen(credit.amount_fen)) for credit in credits],
    )


@require_POST
@community_view(Perm.VIEW_BILLING)
def send_reminders_view(request: HttpRequest, community_id: int) -> HttpResponse:
    require_permission(request, Perm.RUN_BILLS, community_id)
    sent = services.send_reminders(community_id=community_id, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, _("Reminders sent: %(count)d") % {"count": sent})
    return redirect("console:billing_arrears", community_id=community_id)
