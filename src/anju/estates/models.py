"""The community register: community → building → unit (单元) → home (房屋), parking, common parts.

Every row below the community carries ``community_id`` (the tenancy and sharding key) and is read
through a manager that raises unless a community scope is active (see :mod:`anju.core.tenancy`).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager


class Community(models.Model):
    """A residential community (小区). Not itself scoped: who may see it is decided by permissions."""

    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    district = models.ForeignKey("core.District", on_delete=models.PROTECT, related_name="communities")
    address = models.CharField(_("address"), max_length=200, blank=True)
    built_year = models.PositiveSmallIntegerField(_("year built"), null=True, blank=True)
    parking_counts_toward_area = models.BooleanField(
        _("parking and storage count toward voting area"),
        default=False,
        help_text=_("Set by the community's rules of procedure (Civil Code Art. 278; some cities exclude them)."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ServiceContract(models.Model):
    """Which company manages a community, from when to when. Never overwritten: a change of company
    ends one contract and starts another, so forty years of management history stay explainable."""

    class FeeModel(models.TextChoices):
        LUMP_SUM = "lump_sum", _("lump-sum (包干制)")
        COST_PLUS = "cost_plus", _("cost-plus remuneration (酬金制)")

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="contracts")
    company = models.ForeignKey(
        "core.Organization",
        on_delete=models.PROTECT,
        related_name="contracts",
        limit_choices_to={"kind": "company"},
    )
    fee_model = models.CharField(_("fee model"), max_length=20, choices=FeeModel.choices)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)

    class Meta:
        verbose_name = _("service contract")
        verbose_name_plural = _("service contracts")
        ordering = ["community", "-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gt=models.F("starts_on")),
                name="contract_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.community} · {self.company} · {self.starts_on}–{self.ends_on or ''}"


class Building(models.Model):
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="buildings")
    number = models.CharField(_("building number"), max_length=20)
    name = models.CharField(_("name"), max_length=50, blank=True)
    floors_above = models.PositiveSmallIntegerField(_("floors above ground"), default=1)
    floors_below = models.PositiveSmallIntegerField(_("floors below ground"), default=0)
    has_lift = models.BooleanField(_("has lifts"), default=False)
    sort_key = models.PositiveIntegerField(default=0, editable=False)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["community", "sort_key", "number"]
        constraints = [models.UniqueConstraint(fields=["community", "number"], name="building_number_unique")]

    def __str__(self) -> str:
        return self.name or _("Building %(number)s") % {"number": self.number}


class Unit(models.Model):
    """A stairwell entrance (单元) inside a building."""

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="units")
    number = models.CharField(_("unit number"), max_length=20)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["building", "number"]
        constraints = [models.UniqueConstraint(fields=["building", "number"], name="unit_number_unique")]

    def __str__(self) -> str:
        return _("Unit %(number)s") % {"number": self.number}


class HomeQuerySet(models.QuerySet["Home"]):
    def with_location(self) -> HomeQuerySet:
        return self.select_related("building", "unit")


class Home(models.Model):
    """One exclusive part (房屋, 车位 or 储藏室 with its own title): the thing fees and votes attach to."""

    class Use(models.TextChoices):
        RESIDENTIAL = "residential", _("residential")
        COMMERCIAL = "commercial", _("commercial")
        PARKING = "parking", _("parking")
        STORAGE = "storage", _("storage")

    class Status(models.TextChoices):
        UNSOLD = "unsold", _("unsold")
        DELIVERED = "delivered", _("delivered, not moved in")
        OCCUPIED = "occupied", _("occupied")
        VACANT = "vacant", _("vacant")

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="homes")
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="homes")
    number = models.CharField(_("home number"), max_length=20)
    floor = models.SmallIntegerField(_("floor"))
    floor_area = models.DecimalField(
        _("floor area (m²)"), max_digits=9, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    use = models.CharField(_("use"), max_length=20, choices=Use.choices, default=Use.RESIDENTIAL)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DELIVERED)

    objects = scoped_manager(HomeQuerySet)

    class Meta:
        verbose_name = _("home")
        verbose_name_plural = _("homes")
        ordering = ["building__sort_key", "building__number", "unit__number", "floor", "number"]
        constraints = [
            models.UniqueConstraint(fields=["building", "unit", "number"], name="home_number_unique"),
            models.UniqueConstraint(
                fields=["building", "number"], condition=models.Q(unit__isnull=True), name="home_number_unique_no_unit"
            ),
            models.CheckConstraint(condition=models.Q(floor_area__gt=0), name="home_area_positive"),
        ]
        indexes = [models.Index(fields=["community", "status"])]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """``3栋2单元1102`` style address inside the community."""
        parts = [f"{self.building.number}栋"]
        if self.unit_id:
            parts.append(f"{self.unit.number}单元")  # type: ignore[union-attr]
        parts.append(self.number)
        return "".join(parts)


class ParkingSpace(models.Model):
    """A parking space. With its own title it is also registered as a :class:`Home` of use parking."""

    class Kind(models.TextChoices):
        OWNED = "owned", _("owned")
        RENTED = "rented", _("rented")
        PUBLIC = "public", _("public (common part)")

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("space number"), max_length=20)
    location = models.CharField(_("location"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.RENTED)
    home = models.OneToOneField(
        Home,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="parking_space",
        help_text=_("The titled home record, when the space is sold with its own title."),
    )

    objects = scoped_manager()

    class Meta:
        verbose_name = _("parking space")
        verbose_name_plural = _("parking spaces")
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["community", "number"], name="parking_number_unique")]

    def __str__(self) -> str:
        return self.number


class CommonPart(models.Model):
    """A part owned by all owners, or by the owners of one building or unit (a lift, a roof)."""

    class Kind(models.TextChoices):
        LIFT = "lift", _("lift")
        ROOF = "roof", _("roof")
        FACADE = "facade", _("facade")
        PUMP_ROOM = "pump_room", _("pump room")
        FIRE_SYSTEM = "fire_system", _("fire system")
        GREEN_SPACE = "green_space", _("green space")
        ROAD = "road", _("road")
        GATE = "gate", _("gate")
        CLUBHOUSE = "clubhouse", _("clubhouse")
        OTHER = "other", _("other")

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    building = models.ForeignKey(
        Building,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="common_parts",
        help_text=_("Empty when the whole community shares it."),
    )
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="common_parts")

    objects = scoped_manager()

    class Meta:
        verbose_name = _("common part")
        verbose_name_plural = _("common parts")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class ImportBatch(models.Model):
    """One uploaded register spreadsheet, kept between the preview and the commit.

    The file's bytes live in the row itself (at most ``ANJU_IMPORT_MAX_BYTES``) so that the preview
    and the commit, two requests possibly served by two machines, read exactly the same file, and
    so the history shows what was imported. The report is recomputed at commit time: the register
    may have changed since the preview.
    """

    class Kind(models.TextChoices):
        WORKBOOK = "workbook", _("workbook (.xlsx)")
        BUILDINGS = "buildings", _("buildings (.csv)")
        HOMES = "homes", _("homes (.csv)")
        PEOPLE = "people", _("people (.csv)")

    class Status(models.TextChoices):
        PREVIEW = "preview", _("previewed, not imported")
        COMMITTED = "committed", _("imported")
        FAILED = "failed", _("refused")

    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_batches"
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    original_name = models.CharField(_("file name"), max_length=255)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.WORKBOOK)
    content = models.BinaryField(default=b"", editable=False)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PREVIEW)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    committed_at = models.DateTimeField(_("imported at"), null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.original_name
