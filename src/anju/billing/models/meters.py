"""Meters and their readings.

A reading lower than the meter's last accepted one, or using implausibly more than usual, is *held*:
it is kept, shown in the review queue, and ignored by bill runs until someone accepts it (as it is,
or as a new baseline after a meter change) or rejects it. Nothing is billed silently.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager


class Meter(models.Model):
    class Kind(models.TextChoices):
        WATER = "water", _("water")
        ELECTRICITY = "electricity", _("electricity")
        GAS = "gas", _("gas")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    code = models.CharField(
        _("meter number"), max_length=60, help_text=_("Unique in the community; smart meters report under it.")
    )
    home = models.ForeignKey(
        "estates.Home",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="meters",
        help_text=_("Empty for a shared meter (公摊)."),
    )
    building = models.ForeignKey(
        "estates.Building",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("For a shared meter: the building whose homes share it; empty for the whole community."),
    )
    installed_on = models.DateField(_("installed on"), default=timezone.localdate)
    removed_on = models.DateField(_("removed on"), null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("meter")
        verbose_name_plural = _("meters")
        ordering = ["kind", "code"]
        constraints = [models.UniqueConstraint(fields=["community", "code"], name="meter_code_unique")]

    def __str__(self) -> str:
        return self.code

    @property
    def is_shared(self) -> bool:
        return self.home_id is None


class Reading(models.Model):
    class Source(models.TextChoices):
        MANUAL = "manual", _("entered by hand")
        IMPORT = "import", _("spreadsheet import")
        DEVICE = "device", _("smart meter")

    class Status(models.TextChoices):
        OK = "ok", _("accepted")
        HELD = "held", _("held for review")
        BASELINE = "baseline", _("new baseline (meter changed)")
        REJECTED = "rejected", _("rejected")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="readings")
    read_on = models.DateField(_("read on"))
    value = models.DecimalField(_("reading"), max_digits=12, decimal_places=2)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.MANUAL)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OK)
    flag = models.CharField(_("why held"), max_length=40, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entered_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("meter reading")
        verbose_name_plural = _("meter readings")
        ordering = ["meter", "read_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meter", "read_on"],
                condition=models.Q(status__in=["ok", "baseline"]),
                name="reading_one_accepted_per_meter_day",
            ),
            models.CheckConstraint(condition=models.Q(value__gte=0), name="reading_not_negative"),
        ]
        indexes = [models.Index(fields=["community", "status"]), models.Index(fields=["meter", "status", "read_on"])]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.read_on} {self.value}"
