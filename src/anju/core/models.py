"""Organizations, districts, people who log in, their roles, API tokens and the audit log."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class District(models.Model):
    """An administrative area: a district (区) or a sub-district street office (街道) inside one."""

    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("division code"), max_length=12, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Organization(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", _("property company")
        REGULATOR = "regulator", _("district regulator")
        COMMITTEE = "committee", _("owners' committee")
        DEVELOPER = "developer", _("developer")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    # A regulator oversees every community in its districts; a committee belongs to one community.
    districts = models.ManyToManyField(District, blank=True, related_name="regulators")
    community = models.ForeignKey(
        "estates.Community", null=True, blank=True, on_delete=models.PROTECT, related_name="committees"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    COMPANY_ADMIN = "company_admin", _("company administrator")
    MANAGER = "manager", _("manager")
    STEWARD = "steward", _("steward")
    TECHNICIAN = "technician", _("technician")
    FINANCE_CLERK = "finance_clerk", _("finance clerk")
    GUARD = "guard", _("guard")
    CUSTOMER_SERVICE = "customer_service", _("customer service")
    REGULATOR = "regulator", _("regulator")
    COMMITTEE_MEMBER = "committee_member", _("committee member")


class User(AbstractUser):
    """Anyone who logs in: staff by username, residents by mobile number (kept only as ciphertext)."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone_encrypted = models.TextField(blank=True, editable=False)
    phone_index = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    phone_masked = models.CharField(_("mobile"), max_length=20, blank=True, editable=False)
    language = models.CharField(_("language"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                fields=["phone_index"], condition=~models.Q(phone_index=""), name="user_phone_unique"
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.username


class Membership(models.Model):
    """A user's role in an organization, optionally limited to some of its communities.

    Company staff reach a community only while their company has a service contract covering it
    today; a regulator reaches the communities in its districts; a committee member their own one.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    communities = models.ManyToManyField(
        "estates.Community",
        blank=True,
        related_name="+",
        verbose_name=_("limited to communities"),
        help_text=_("Leave empty for every community the organization serves."),
    )
    starts_on = models.DateField(_("starts on"), default=timezone.localdate)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="membership_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organization}"


class ApiToken(models.Model):
    """A bearer token for the API. Only a SHA-256 digest is stored; the secret is shown once."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", _("personal")
        APP = "app", _("application")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERSONAL)
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class PasswordResetCode(models.Model):
    """A short-lived numeric code sent by SMS so a resident can choose a new password."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    code_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"reset code for user {self.user_id}"


class AuditEntry(models.Model):
    """One row per write (and per unmasked read of personal data). Append-only.

    The actor and the object are stored by value (id plus a label), not by foreign key, so that no
    later delete can cascade into or null out the history. Database triggers refuse UPDATE (both
    engines) and DELETE (PostgreSQL) on this table.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    organization_id = models.BigIntegerField(null=True, blank=True)
    community_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=40, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_label}"


class Notification(models.Model):
    """An in-app message to one user (see :mod:`anju.core.notifications`). Written in the same
    transaction as the change it reports; SMS and e-mail copies are sent after commit."""

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    # Plain integer, not a foreign key: core must not depend on estates, and a notification is
    # only ever read by its recipient.
    community_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(fields=["recipient"], condition=models.Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.title


class PeriodicJob(models.Model):
    """When each periodic job (:mod:`anju.core.periodic`) is next due and how its last run went.
    ``next_due_at`` is advanced by compare-and-set, which is what lets several schedulers coexist."""

    name = models.CharField(max_length=100, unique=True)
    next_due_at = models.DateTimeField()
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_handled = models.IntegerField(null=True, blank=True)
    last_seconds = models.FloatField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name
