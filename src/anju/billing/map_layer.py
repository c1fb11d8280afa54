"""The property map's "arrears" layer: each home coloured by how long its oldest overdue bill has
been due. One query over the building's bills, never one per home."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.billing.arrears import bucket_of
from anju.billing.models import Bill
from anju.estates.models import Building, Home
from anju.estates.property_map import Layer, LegendItem, register_layer


def _arrears_values(building: Building, homes: list[Home]) -> dict[int, str]:
    today = timezone.localdate()
    oldest: dict[int, dt.date] = {}
    rows = Bill.objects.filter(
        home__building=building, status__in=[Bill.Status.UNPAID, Bill.Status.PARTIAL], due_on__lt=today
    ).values_list("home_id", "due_on")
    for home_id, due_on in rows:
        if home_id not in oldest or due_on < oldest[home_id]:
            oldest[home_id] = due_on
    result: dict[int, str] = {}
    for home in homes:
        since = oldest.get(home.pk)
        if since is None:
            result[home.pk] = "paid_up"
            continue
        bucket = bucket_of((today - since).days) or "1_30"
        result[home.pk] = {"1_30": "under_30", "31_90": "under_90"}.get(bucket, "over_90")
    return result


register_layer(
    Layer(
        name="arrears",
        label=_("Arrears"),
        legend=(
            LegendItem("paid_up", _("Nothing overdue"), "#8fd19e"),
            LegendItem("under_30", _("Overdue up to 30 days"), "#ffe69c"),
            LegendItem("under_90", _("Overdue 31–90 days"), "#ffb870"),
            LegendItem("over_90", _("Overdue over 90 days"), "#f1aeb5"),
        ),
        values=_arrears_values,
    )
)
