"""People, who lives where (with history), vehicles, consent, stewards and building leaders."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager


class Person(models.Model):
    """A resident or owner as the community knows them. Phone and ID number exist only encrypted,
    as a blind index and masked (see :mod:`anju.core.crypto`); the developer, owning unsold homes, is a
    person of kind ``organization``."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("individual")
        ORGANIZATION = "organization", _("organization")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.INDIVIDUAL)
    name = models.CharField(_("name"), max_length=100)
    phone_encrypted = models.TextField(blank=True, editable=False)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_masked = models.CharField(_("mobile"), max_length=20, blank=True, editable=False)
    id_number_encrypted = models.TextField(blank=True, editable=False)
    id_number_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=24, blank=True, editable=False)
    is_developer = models.BooleanField(_("developer"), default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="persons"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "phone_index"],
                condition=~models.Q(phone_index=""),
                name="person_phone_unique_in_community",
            ),
            models.UniqueConstraint(
                fields=["community", "id_number_index"],
                condition=~models.Q(id_number_index=""),
                name="person_id_number_unique_in_community",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OccupancyQuerySet(models.QuerySet["Occupancy"]):
    def current(self, on: dt.date | None = None) -> OccupancyQuerySet:
        day = on or timezone.localdate()
        return self.filter(starts_on__lte=day).filter(models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=day))


class Occupancy(models.Model):
    """A person's relation to a home over a period. Ending one sets ``ends_on``; rows are never
    deleted, so who owned or lived where on any past date can be answered."""

    class Role(models.TextChoices):
        OWNER = "owner", _("owner")
        CO_OWNER = "co_owner", _("co-owner")
        TENANT = "tenant", _("tenant")
        FAMILY = "family", _("family member")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    home = models.ForeignKey("estates.Home", on_delete=models.PROTECT, related_name="occupancies")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="occupancies")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    share_percent = models.DecimalField(
        _("ownership share (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("For co-owners: their share of the home."),
    )
    relation = models.CharField(_("relation to owner"), max_length=30, blank=True)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager(OccupancyQuerySet)

    class Meta:
        verbose_name = _("occupancy")
        verbose_name_plural = _("occupancies")
        ordering = ["home", "-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="occupancy_dates_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(share_percent__isnull=True)
                | (models.Q(share_percent__gt=0) & models.Q(share_percent__lte=100)),
                name="occupancy_share_range",
            ),
        ]
        indexes = [models.Index(fields=["person", "ends_on"]), models.Index(fields=["home", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_role_display()} · {self.home}"

    @property
    def is_current(self) -> bool:
        today = timezone.localdate()
        return self.starts_on <= today and (self.ends_on is None or self.ends_on >= today)


class Vehicle(models.Model):
    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="vehicles")
    plate = models.CharField(_("plate"), max_length=10)
    description = models.CharField(_("description"), max_length=60, blank=True)
    parking_space = models.ForeignKey(
        "estates.ParkingSpace", null=True, blank=True, on_delete=models.SET_NULL, related_name="vehicles"
    )
    registered_on = models.DateField(_("registered on"), default=timezone.localdate)
    removed_on = models.DateField(_("removed on"), null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["plate"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "plate"],
                condition=models.Q(removed_on__isnull=True),
                name="vehicle_plate_unique_active",
            )
        ]

    def __str__(self) -> str:
        return self.plate


class Consent(models.Model):
    """What a person agreed to, under which text version, when, and when they withdrew."""

    class Purpose(models.TextChoices):
        PERSONAL_DATA = "personal_data", _("processing of personal information for property services")
        FACE_RECOGNITION = "face_recognition", _("face recognition at doors (template on the device only)")
        HEALTH_DATA = "health_data", _("health station records")
        NOTIFICATIONS = "notifications", _("SMS and app notifications")
        PUBLIC_LISTING = "public_listing", _("name shown on public notices")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    text_version = models.CharField(_("text version"), max_length=20, default="1")
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "purpose"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_purpose",
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_purpose_display()}"


class StewardAssignment(models.Model):
    """Which steward (管家) looks after a home, over time. One current assignment per home."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    home = models.ForeignKey("estates.Home", on_delete=models.PROTECT, related_name="steward_assignments")
    steward = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="steward_homes")
    starts_on = models.DateField(default=timezone.localdate)
    ends_on = models.DateField(null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("steward assignment")
        verbose_name_plural = _("steward assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["home"], condition=models.Q(ends_on__isnull=True), name="steward_one_current_per_home"
            )
        ]
        indexes = [models.Index(fields=["steward", "ends_on"])]

    def __str__(self) -> str:
        return f"{self.steward} · {self.home}"


class BuildingLeader(models.Model):
    """A resident volunteer (楼栋长) who speaks for a building. One current leader per building."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey("estates.Building", on_delete=models.PROTECT, related_name="leaders")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="led_buildings")
    starts_on = models.DateField(default=timezone.localdate)
    ends_on = models.DateField(null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("building leader")
        verbose_name_plural = _("building leaders")
        constraints = [
            models.UniqueConstraint(
                fields=["building"], condition=models.Q(ends_on__isnull=True), name="leader_one_current_per_building"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.building}"
