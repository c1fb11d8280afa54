"""Doors, controllers, credentials, staff shifts, the deny list, visitor passes, deliveries, the sync
state controllers catch up from, and the access log.

Personal data follows :mod:`anju.core.crypto`: a card number is stored encrypted and masked, and is
looked up only through its keyed hash (the allow-list key); a visitor's mobile is sealed like a
resident's; a face credential holds only the reference of a template kept on the edge device.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.models import Role
from anju.core.tenancy import scoped_manager

# A controller that has not called in for this long shows as offline.
CONTROLLER_OFFLINE_AFTER_SECONDS = 300


class AccessSettings(models.Model):
    """Per-community settings and the head of the controllers' sync version.

    ``version`` grows by one with every change a controller must learn (allow-list entries,
    revocations, keys, doors); ``compacted_version`` is the newest version whose tombstones have been
    purged: a controller behind it gets a full snapshot instead of a delta.
    """

    community = models.OneToOneField("estates.Community", on_delete=models.PROTECT, related_name="+")
    version = models.PositiveBigIntegerField(default=0, editable=False)
    compacted_version = models.PositiveBigIntegerField(default=0, editable=False)
    card_secret_encrypted = models.TextField(editable=False)
    log_retention_days = models.PositiveSmallIntegerField(
        _("keep the access log for (days)"),
        default=180,
        help_text=_("PIPL: the shortest retention the purpose needs; entries older than this are deleted."),
    )
    qr_lifetime_seconds = models.PositiveIntegerField(_("resident QR lifetime (seconds)"), default=60)
    denial_alarm_threshold = models.PositiveSmallIntegerField(_("denials at one door that raise an alarm"), default=5)
    denial_alarm_window_minutes = models.PositiveSmallIntegerField(_("within (minutes)"), default=10)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("access settings")
        verbose_name_plural = _("access settings")

    def __str__(self) -> str:
        return f"access settings #{self.community_id}"


class SigningKey(models.Model):
    """A community's Ed25519 key for visitor passes and resident QR codes. The newest active key
    signs; a retired key stays published to controllers until the last pass it signed expires
    (``publish_until``), so rotating never invalidates a pass already handed out."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    kid = models.PositiveIntegerField(_("key id"))
    public_key = models.CharField(max_length=64, editable=False)
    private_key_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    publish_until = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["community", "kid"], name="access_key_kid_unique"),
            models.UniqueConstraint(
                fields=["community"], condition=models.Q(retired_at__isnull=True), name="access_key_one_active"
            ),
        ]

    def __str__(self) -> str:
        return f"key {self.kid}"


class Controller(models.Model):
    """A door controller (edge device). It authenticates with a token shown once at creation."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    code = models.SlugField(_("code"), max_length=40)
    device = models.ForeignKey(
        "devices.Device",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("device"),
        help_text=_("The controller in the device registry: its alarms (forced door, repeated denials) go there."),
    )
    token_prefix = models.CharField(max_length=16, editable=False)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    synced_version = models.PositiveBigIntegerField(default=0, editable=False)
    last_sync_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("door controller")
        verbose_name_plural = _("door controllers")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["community", "code"], name="access_controller_code_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_online(self) -> bool:
        if self.last_seen_at is None:
            return False
        return (timezone.now() - self.last_seen_at).total_seconds() < CONTROLLER_OFFLINE_AFTER_SECONDS


class Door(models.Model):
    class Kind(models.TextChoices):
        GATE = "gate", _("community gate")
        BUILDING = "building", _("building entrance")
        UNIT = "unit", _("unit door")
        GARAGE = "garage", _("garage barrier")
        LIFT_FLOOR = "lift_floor", _("lift floor access")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    building = models.ForeignKey("estates.Building", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("estates.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    floor = models.SmallIntegerField(_("floor"), null=True, blank=True)
    controller = models.ForeignKey(
        Controller, null=True, blank=True, on_delete=models.PROTECT, related_name="doors", verbose_name=_("controller")
    )
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_result = models.CharField(max_length=20, blank=True, editable=False)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("door")
        verbose_name_plural = _("doors")
        ordering = ["kind", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind__in=["building", "unit", "lift_floor"]) | models.Q(building__isnull=False),
                name="access_door_building_required",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="unit") | models.Q(unit__isnull=False),
                name="access_door_unit_required",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="lift_floor") | models.Q(floor__isnull=False),
                name="access_door_floor_required",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StaffShift(models.Model):
    """Which kinds of door a staff role opens, on which weekdays, between which local times.
    Effective-dated: a change ends the old row (``ends_at``) and adds a new one."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    door_kinds = models.JSONField(_("door kinds"), default=list)
    weekdays = models.PositiveSmallIntegerField(_("weekdays"), default=0b1111111, help_text=_("Monday is bit 0."))
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("staff shift")
        verbose_name_plural = _("staff shifts")
        ordering = ["role", "start_time", "pk"]

    def __str__(self) -> str:
        return f"{self.role} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class Credential(models.Model):
    """A way in held by a resident (``person``) or a staff member (``user``).

    A resident's rights come from their occupancies, checked by date at every decision; the credential
    itself may add its own ``valid_until``. ``lookup_key`` is what the allow-lists are keyed by."""

    class Kind(models.TextChoices):
        CARD = "card", _("IC card")
        QR = "qr", _("portal QR code")
        FACE = "face", _("face (template on the device)")
        PLATE = "plate", _("car plate")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    person = models.ForeignKey(
        "residents.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="access_credentials"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="access_credentials"
    )
    lookup_key = models.CharField(max_length=80, editable=False)
    card_encrypted = models.TextField(blank=True, editable=False)
    card_masked = models.CharField(_("card number"), max_length=40, blank=True, editable=False)
    plate = models.CharField(_("plate"), max_length=12, blank=True)
    face_template_ref = models.CharField(_("template reference"), max_length=80, blank=True)
    valid_from = models.DateTimeField(_("valid from"), default=timezone.now)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    issued_at = models.DateTimeField(default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_reason = models.CharField(_("reason"), max_length=40, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("credential")
        verbose_name_plural = _("credentials")
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "lookup_key"],
                condition=models.Q(ended_at__isnull=True),
                name="access_credential_key_unique_active",
            ),
            models.CheckConstraint(
                condition=models.Q(person__isnull=False, user__isnull=True)
                | models.Q(person__isnull=True, user__isnull=False),
                name="access_credential_one_holder",
            ),
        ]
        indexes = [models.Index(fields=["community", "lookup_key"]), models.Index(fields=["person", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.display}"

    @property
    def display(self) -> str:
        if self.kind == self.Kind.CARD:
            return self.card_masked
        if self.kind == self.Kind.PLATE:
            return self.plate
        if self.kind == self.Kind.FACE:
            return self.face_template_ref
        return f"#{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class DenyEntry(models.Model):
    """Someone or something refused at every door for a period, whatever else they hold."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("residents.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    credential = models.ForeignKey(Credential, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=200)
    starts_at = models.DateTimeField(_("from"), default=timezone.now)
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("deny-list entry")
        verbose_name_plural = _("deny list")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.reason


class VisitorPass(models.Model):
    class Kind(models.TextChoices):
        VISITOR = "visitor", _("invited visitor")
        WALK_IN = "walk_in", _("walk-in visitor")
        COURIER = "courier", _("courier")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for the resident")
        ACTIVE = "active", _("active")
        DECLINED = "declined", _("declined")
        REVOKED = "revoked", _("revoked")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.VISITOR)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    host_person = models.ForeignKey("residents.Person", on_delete=models.PROTECT, related_name="+")
    host_home = models.ForeignKey("estates.Home", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    visitor_name = models.CharField(_("visitor's name"), max_length=60, blank=True)
    visitor_phone_encrypted = models.TextField(blank=True, editable=False)
    visitor_phone_index = models.CharField(max_length=64, blank=True, editable=False)
    visitor_phone_masked = models.CharField(_("visitor's mobile"), max_length=20, blank=True, editable=False)
    plate = models.CharField(_("plate"), max_length=12, blank=True)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    max_uses = models.PositiveSmallIntegerField(_("number of uses"), default=2)
    uses = models.PositiveSmallIntegerField(_("used"), default=0, editable=False)
    code = models.CharField(_("pass code"), max_length=12, editable=False)
    key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("visitor pass")
        verbose_name_plural = _("visitor passes")
        ordering = ["-valid_from", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["community", "code"], name="access_pass_code_unique"),
            models.CheckConstraint(
                condition=models.Q(valid_until__gt=models.F("valid_from")), name="access_pass_window"
            ),
            models.CheckConstraint(condition=models.Q(max_uses__gte=1), name="access_pass_uses_positive"),
        ]
        indexes = [models.Index(fields=["host_home", "valid_until"])]

    def __str__(self) -> str:
        return self.visitor_name or self.code

    def is_current(self, now: object = None) -> bool:
        moment = now or timezone.now()
        return self.status == self.Status.ACTIVE and self.valid_from <= moment < self.valid_until  # type: ignore[operator]


class Delivery(models.Model):
    """A parcel brought to the gate: the resident lets the courier in (a one-use courier pass) or
    has it left at the guard desk."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting for the resident")
        COURIER_ADMITTED = "admitted", _("courier let in")
        AT_DESK = "at_desk", _("kept at the guard desk")
        COLLECTED = "collected", _("collected")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    home = models.ForeignKey("estates.Home", on_delete=models.PROTECT, related_name="+")
    carrier = models.CharField(_("carrier"), max_length=60)
    note = models.CharField(_("note"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.WAITING)
    visitor_pass = models.ForeignKey(VisitorPass, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.carrier} · {self.home_id}"


class Revocation(models.Model):
    """A pass or resident QR credential controllers must refuse even though its signature is valid.
    Kept until ``until`` (the pass's own expiry), after which the signature check refuses it anyway."""

    class Subject(models.TextChoices):
        PASS = "pass", _("visitor pass")
        QR = "qr", _("resident QR")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=10, choices=Subject.choices)
    subject_id = models.PositiveBigIntegerField()
    reason = models.CharField(max_length=40)
    until = models.DateTimeField()
    version = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "subject", "subject_id"], name="access_revocation_unique")
        ]
        indexes = [models.Index(fields=["community", "version"])]

    def __str__(self) -> str:
        return f"{self.subject} {self.subject_id}"


class AllowEntry(models.Model):
    """One credential's grants on one controller's doors, as last sent: the allow-list is the set of
    live rows, and each row's ``version`` is when it last changed, so a controller at version ``v``
    catches up with the rows newer than ``v`` (``removed`` rows are tombstones)."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    controller = models.ForeignKey(Controller, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=80)
    grants = models.JSONField(default=dict)
    version = models.PositiveBigIntegerField()
    removed = models.BooleanField(default=False)
    changed_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["controller", "key"], name="access_allow_entry_unique")]
        indexes = [models.Index(fields=["controller", "version"])]

    def __str__(self) -> str:
        return self.key


class AccessEvent(models.Model):
    """One entry of the access log: a decision at a door (uploaded by its controller, or taken at
    the guard desk) or a forced door. ``(controller, event_id)`` is unique, so re-sent batches are
    stored once."""

    class Result(models.TextChoices):
        GRANTED = "granted", _("granted")
        DENIED = "denied", _("denied")
        FORCED = "forced", _("door forced")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    controller = models.ForeignKey(Controller, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_id = models.BigIntegerField(null=True, blank=True)
    door = models.ForeignKey(Door, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    received_at = models.DateTimeField(default=timezone.now)
    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    method = models.CharField(_("method"), max_length=10, blank=True)
    reason = models.CharField(_("reason"), max_length=30, blank=True)
    credential = models.ForeignKey(Credential, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    visitor_pass = models.ForeignKey(VisitorPass, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    person = models.ForeignKey("residents.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    home = models.ForeignKey("estates.Home", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = scoped_manager()

    class Meta:
        verbose_name = _("access event")
        verbose_name_plural = _("access log")
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["controller", "event_id"],
                condition=models.Q(controller__isnull=False),
                name="access_event_once_per_controller",
            )
        ]
        indexes = [
            models.Index(fields=["community", "occurred_at"]),
            models.Index(fields=["door", "occurred_at"]),
            models.Index(fields=["person", "occurred_at"]),
            models.Index(fields=["home", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.result} {self.occurred_at:%Y-%m-%d %H:%M}"
