"""The device registry and what devices send: telemetry, dead letters, per-device stream counters.

A :class:`Device` is placed in a community and optionally a building, unit or common part. It holds
its own credentials: an HTTP token (only a SHA-256 digest is stored) and an MQTT username with a
password hash in Mosquitto's own format, which :mod:`anju.devices.broker` writes into the broker's
password file together with an ACL allowing the device only its own topics.

Every accepted message becomes one :class:`Telemetry` row: (device, device time, sequence number)
is its key, so a message delivered twice (QoS 1 redelivery, a device retrying an HTTP POST) is
stored once. On PostgreSQL the table is range-partitioned by day (see :mod:`anju.devices.partitions`)
so that raw data can be dropped a day at a time after the retention period; :class:`TelemetryHourly`
keeps hourly aggregates of every numeric point for as long as the building stands.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager


class DeviceKind(models.TextChoices):
    LIFT = "lift", _("lift")
    ESCALATOR = "escalator", _("escalator")
    FIRE_PANEL = "fire_panel", _("fire alarm panel")
    SMOKE_DETECTOR = "smoke_detector", _("smoke detector")
    ELECTRICAL_FIRE_MONITOR = "electrical_fire_monitor", _("electrical fire monitor")
    PUMP = "pump", _("pump")
    TANK = "tank", _("water tank")
    LEAK_SENSOR = "leak_sensor", _("leak sensor")
    PRESSURE_SENSOR = "pressure_sensor", _("pressure sensor")
    WATER_METER = "water_meter", _("water meter")
    ELECTRICITY_METER = "electricity_meter", _("electricity meter")
    GAS_METER = "gas_meter", _("gas meter")
    HEAT_METER = "heat_meter", _("heat meter")
    DOOR_CONTROLLER = "door_controller", _("door controller")
    CAMERA = "camera", _("camera")
    GATEWAY = "gateway", _("gateway")
    OTHER = "other", _("other")


class ServiceMode(models.TextChoices):
    """Lift service modes (DOMAIN.md §5); other devices use normal, maintenance and out of service."""

    NORMAL = "normal", _("normal")
    MAINTENANCE = "maintenance", _("inspection / maintenance")
    FIRE_RETURN = "fire_return", _("fire return")
    FIREFIGHTER = "firefighter", _("firefighter service")
    EMERGENCY_POWER = "emergency_power", _("emergency power")
    EARTHQUAKE = "earthquake", _("earthquake")
    OUT_OF_SERVICE = "out_of_service", _("out of service")


class DeviceQuerySet(models.QuerySet["Device"]):
    def active(self) -> DeviceQuerySet:
        return self.filter(retired_at__isnull=True)

    def with_place(self) -> DeviceQuerySet:
        return self.select_related("building", "unit", "common_part")


class Device(models.Model):
    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(
        "estates.Building", null=True, blank=True, on_delete=models.PROTECT, related_name="devices"
    )
    unit = models.ForeignKey("estates.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="devices")
    common_part = models.ForeignKey(
        "estates.CommonPart", null=True, blank=True, on_delete=models.PROTECT, related_name="devices"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=DeviceKind.choices)
    code = models.SlugField(
        _("code"),
        max_length=40,
        help_text=_("Unique in the community; used in MQTT topics anju/<community>/<code>/…"),
    )
    name = models.CharField(_("name"), max_length=100)
    vendor = models.CharField(_("vendor"), max_length=100, blank=True)
    model_name = models.CharField(_("model"), max_length=100, blank=True)
    serial_number = models.CharField(_("serial number"), max_length=100, blank=True)
    installed_on = models.DateField(_("installed on"), null=True, blank=True)
    maintainer = models.CharField(_("maintenance contractor"), max_length=100, blank=True)
    maintenance_contract_ends_on = models.DateField(_("maintenance contract ends on"), null=True, blank=True)
    service_mode = models.CharField(
        _("service mode"), max_length=20, choices=ServiceMode.choices, default=ServiceMode.NORMAL
    )
    heartbeat_seconds = models.PositiveIntegerField(
        _("expected reporting interval (s)"),
        default=60,
        help_text=_("The device counts as offline after three intervals without any message."),
    )
    attrs = models.JSONField(_("attributes"), default=dict, blank=True)
    online = models.BooleanField(_("online"), default=False)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    # Credentials. The HTTP token's secret is shown once; only its digest is kept.
    token_prefix = models.CharField(max_length=14, blank=True, editable=False)
    token_digest = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    mqtt_username = models.CharField(_("MQTT user name"), max_length=100, unique=True, editable=False)
    mqtt_password_hash = models.CharField(max_length=200, blank=True, editable=False)
    credentials_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    objects = scoped_manager(DeviceQuerySet)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["kind", "code"]
        constraints = [models.UniqueConstraint(fields=["community", "code"], name="device_code_unique")]
        indexes = [models.Index(fields=["community", "kind"]), models.Index(fields=["community", "online"])]

    def __str__(self) -> str:
        return self.name or self.code

    @property
    def place(self) -> str:
        """Where the device is, as staff say it: ``3栋2单元`` or the common part's name."""
        if self.common_part_id:
            return str(self.common_part)
        parts = []
        if self.building_id:
            parts.append(f"{self.building.number}栋")  # type: ignore[union-attr]
        if self.unit_id:
            parts.append(f"{self.unit.number}单元")  # type: ignore[union-attr]
        return "".join(parts)

    @property
    def in_maintenance(self) -> bool:
        return self.service_mode == ServiceMode.MAINTENANCE


class DeviceStream(models.Model):
    """Per-device counters of what the ingest pipeline saw, kept apart from :class:`Device` so the
    hot path updates a narrow row and never contends with edits of the register.

    Loss is counted from sequence numbers, independent of arrival order (shared subscriptions let
    two workers commit one device's messages out of order): within one counting epoch a device sent
    ``high_seq - first_seq + 1`` messages, ``received`` of them arrived, the rest are lost. A
    device restarting its counter opens a new epoch; earlier epochs' losses stay in ``lost_before``.
    """

    device = models.OneToOneField(Device, primary_key=True, on_delete=models.CASCADE, related_name="stream")
    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    received = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0)
    first_seq = models.BigIntegerField(null=True)
    high_seq = models.BigIntegerField(null=True)
    lost_before = models.BigIntegerField(default=0)
    epoch_received = models.BigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("device message counters")
        verbose_name_plural = _("device message counters")

    def __str__(self) -> str:
        return str(self.device_id)

    @property
    def lost(self) -> int:
        if self.first_seq is None or self.high_seq is None:
            return self.lost_before
        return self.lost_before + max(0, self.high_seq - self.first_seq + 1 - self.epoch_received)


class MessageKind(models.TextChoices):
    TELEMETRY = "telemetry", _("telemetry")
    EVENT = "event", _("event")
    STATUS = "status", _("status")


class Telemetry(models.Model):
    """One accepted device message. Partitioned by day on PostgreSQL (created by migration 0001)."""

    pk = models.CompositePrimaryKey("device", "ts", "seq")
    community = models.ForeignKey(
        "estates.Community", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    device = models.ForeignKey(Device, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    ts = models.DateTimeField(_("device time"))
    seq = models.BigIntegerField(_("sequence number"))
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    received_at = models.DateTimeField(_("received"))
    data = models.JSONField(default=dict)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("telemetry")
        verbose_name_plural = _("telemetry")

    def __str__(self) -> str:
        return f"{self.device_id}@{self.ts.isoformat()}#{self.seq}"


class TelemetryHourly(models.Model):
    """Hourly aggregate of one numeric point of one device: kept for decades after raw data goes."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=40)
    hour = models.DateTimeField()
    count = models.IntegerField()
    total = models.FloatField()
    minimum = models.FloatField()
    maximum = models.FloatField()

    objects = scoped_manager()

    class Meta:
        verbose_name = _("hourly telemetry")
        verbose_name_plural = _("hourly telemetry")
        constraints = [models.UniqueConstraint(fields=["device", "metric", "hour"], name="telemetry_hourly_unique")]
        indexes = [models.Index(fields=["hour"])]

    def __str__(self) -> str:
        return f"{self.device_id} {self.metric} {self.hour.isoformat()}"

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


class DeadLetter(models.Model):
    """A message the pipeline refused, kept with the reason. ``community`` is empty when the message
    named no community anju knows; such rows are visible only to operators (admin, CLI)."""

    class Source(models.TextChoices):
        MQTT = "mqtt", "MQTT"
        HTTP = "http", "HTTP"
        CAMERA = "camera", _("camera push")

    community = models.ForeignKey(
        "estates.Community", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=10, choices=Source.choices)
    topic = models.CharField(_("topic or path"), max_length=300)
    payload = models.TextField(_("payload"), blank=True)
    reason = models.CharField(_("reason"), max_length=40)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("dead letter")
        verbose_name_plural = _("dead letters")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["community", "received_at"])]

    def __str__(self) -> str:
        return f"{self.reason}: {self.topic}"
