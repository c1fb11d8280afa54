"""Publishing announcements, reading them, read receipts, attachments.

Who an announcement reaches (its *audience*) is decided in one place, :func:`audience_occupancies`:
the community's current occupancies, narrowed to the targeted buildings and units (if any), then to
the targeted groups (owners and co-owners, tenants, family members). The resident's view
(:func:`visible_to`) applies the same rule from the other side, one occupancy at a time, so what a
resident can open and what the read receipts count as "should have read" cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from anju.community.models import Announcement, AnnouncementAttachment, AnnouncementRead, AnnouncementTarget
from anju.community.models.announcements import AnnouncementQuerySet
from anju.community.services.common import require_text, snapshot
from anju.core import audit
from anju.core.errors import Conflict, DomainError, NotFound
from anju.core.models import User
from anju.core.notifications import notify
from anju.core.permissions import STAFF_ROLES, Perm, access_for, staff_with_role
from anju.core.tenancy import community_scope
from anju.estates.models import Building, Community, Home, Unit
from anju.residents.models import Occupancy, Person, StewardAssignment

#: The groups an announcement can be addressed to, and the occupancy roles each covers.
ROLE_GROUPS: dict[str, tuple[str, ...]] = {
    "owners": (Occupancy.Role.OWNER, Occupancy.Role.CO_OWNER),
    "tenants": (Occupancy.Role.TENANT,),
    "family": (Occupancy.Role.FAMILY,),
    "staff": (),
}
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
# Extension -> (content type, the bytes such a file starts with). Checked against the content, not
# the name alone, so a renamed executable is refused.
ATTACHMENT_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
}


def _roles_of(groups: Iterable[str]) -> list[str]:
    return [role for group in groups for role in ROLE_GROUPS[group]]


def _groups(announcement: Announcement) -> list[str]:
    flags = {
        "owners": announcement.to_owners,
        "tenants": announcement.to_tenants,
        "family": announcement.to_family,
        "staff": announcement.to_staff,
    }
    return [group for group, on in flags.items() if on]


def audience_occupancies(announcement: Announcement) -> QuerySet[Occupancy]:
    """The current occupancies an announcement is addressed to (call inside its community scope)."""
    occupancies = Occupancy.objects.current().filter(
        community_id=announcement.community_id, role__in=_roles_of(_groups(announcement))
    )
    if announcement.targeted:
        targets = list(announcement.targets.values_list("building_id", "unit_id"))
        building_ids = [b for b, _u in targets if b]
        unit_ids = [u for _b, u in targets if u]
        occupancies = occupancies.filter(Q(home__building_id__in=building_ids) | Q(home__unit_id__in=unit_ids))
    return occupancies


def _occupancy_clause(occupancy: Occupancy) -> Q:
    group = next((g for g, roles in ROLE_GROUPS.items() if occupancy.role in roles), "")
    role_clause = Q(**{f"to_{group}": True}) if group else Q(pk__in=[])
    place = (
        Q(targeted=False)
        | Q(targets__building_id=occupancy.home.building_id)
        | (Q(targets__unit_id=occupancy.home.unit_id) if occupancy.home.unit_id else Q(pk__in=[]))
    )
    return Q(community_id=occupancy.community_id) & role_clause & place


def visible_to(occupancies: Sequence[Occupancy], *, include_expired: bool = False) -> AnnouncementQuerySet:
    """The live announcements addressed to any of these occupancies (a resident's current ones);
    staff-only notices are read in the console. Call inside a scope covering their communities."""
    clause = Q(pk__in=[])
    for occupancy in occupancies:
        clause |= _occupancy_clause(occupancy)
    base = Announcement.objects.all() if include_expired else Announcement.objects.live()
    ids = base.filter(clause).values_list("pk", flat=True)
    live: AnnouncementQuerySet = Announcement.objects.filter(
        pk__in=ids, withdrawn_at__isnull=True, publish_at__lte=timezone.now()
    )
    return live


def _validated_targets(
    community: Community, building_ids: Iterable[int], unit_ids: Iterable[int]
) -> list[AnnouncementTarget]:
    wanted_buildings = {int(pk) for pk in building_ids}
    wanted_units = {int(pk) for pk in unit_ids}
    with community_scope(community.pk):
        buildings = set(Building.objects.filter(pk__in=wanted_buildings).values_list("pk", flat=True))
        units = set(Unit.objects.filter(pk__in=wanted_units).values_list("pk", flat=True))
    if buildings != wanted_buildings:
        raise DomainError(
            _("A chosen building is not part of this community."), code="unknown_building", field="buildings"
        )
    if units != wanted_units:
        raise DomainError(_("A chosen unit is not part of this community."), code="unknown_unit", field="units")
    return [AnnouncementTarget(community=community, building_id=pk) for pk in sorted(buildings)] + [
        AnnouncementTarget(community=community, unit_id=pk) for pk in sorted(units)
    ]


@transaction.atomic
def publish_announcement(
    *,
    community: Community,
    title: str,
    body: str,
    category: str = Announcement.Category.NOTICE,
    building_ids: Iterable[int] = (),
    unit_ids: Iterable[int] = (),
    roles: Iterable[str] = (),
    urgent: bool = False,
    source_ref: str = "",
    expires_at: dt.datetime | None = None,
    publish_at: dt.datetime | None = None,
    pinned: bool = False,
    actor: User | None,
) -> Announcement:
    """Publish (or schedule, with a future ``publish_at``) an announcement and notify its audience.

    ``roles`` picks groups among ``owners``, ``tenants``, ``family`` and ``staff``; empty means every
    resident. ``building_ids`` / ``unit_ids`` narrow it to those places; empty means the whole
    community. Idempotent by ``source_ref``: publishing again with a reference already used in the
    community returns the existing announcement unchanged (alarms and billing retry safely).
    In-app notifications go to every targeted account at publication; urgent ones also by SMS.
    """
    source_ref = (source_ref or "").strip()[:100]
    if source_ref:
        with community_scope(community.pk):
            existing = Announcement.objects.filter(community=community, source_ref=source_ref).first()
        if existing is not None:
            return existing
    title = require_text(title, "title", max_length=120, message=_("A title is required."))
    body = require_text(body, "body", max_length=20000, message=_("The text of the announcement is required."))
    if category not in Announcement.Category.values:
        raise DomainError(_("Unknown category."), code="unknown_category", field="category")
    groups = set(roles) or {"owners", "tenants", "family"}
    unknown = groups - set(ROLE_GROUPS)
    if unknown:
        raise DomainError(_("Unknown audience group."), code="unknown_role", field="roles")
    now = timezone.now()
    publish_at = publish_at or now
    if expires_at is not None and expires_at <= publish_at:
        raise DomainError(_("The expiry must be after publication."), code="expires_before_publish", field="expires_at")
    targets = _validated_targets(community, building_ids, unit_ids)
    announcement = Announcement(
        community=community,
        title=title,
        body=body,
        category=category,
        urgent=urgent,
        pinned=pinned,
        to_owners="owners" in groups,
        to_tenants="tenants" in groups,
        to_family="family" in groups,
        to_staff="staff" in groups,
        targeted=bool(targets),
        publish_at=publish_at,
        expires_at=expires_at,
        source_ref=source_ref,
        created_by=actor,
        created_at=now,
    )
    with community_scope(community.pk):
        try:
            with transaction.atomic():
                announcement.save(force_insert=True)
        except IntegrityError:
            # Another process published the same source_ref between our look-up and insert.
            existing = Announcement.objects.filter(community=community, source_ref=source_ref).first()
            if source_ref and existing is not None:
                return existing
            raise
        for target in targets:
            target.announcement = announcement
        AnnouncementTarget.objects.bulk_create(targets)
        audit.record(
            actor=actor,
            action="announcement.publish",
            obj=announcement,
            after={
                **audit.snapshot(announcement),
                "buildings": [t.building_id for t in targets if t.building_id],
                "units": [t.unit_id for t in targets if t.unit_id],
            },
        )
        if publish_at <= now:
            _notify_audience(announcement)
    return announcement


def _notify_audience(announcement: Announcement) -> int:
    """Send the in-app (and, when urgent, SMS) notification to everyone addressed; mark it sent."""
    users: list[User] = list(
        User.objects.filter(
            is_active=True,
            persons__in=Person.objects.filter(pk__in=audience_occupancies(announcement).values("person_id")),
        ).distinct()
    )
    staff: list[User] = staff_with_role(announcement.community_id, *STAFF_ROLES) if announcement.to_staff else []
    with translation.override("zh-hans"):
        prefix = gettext("[Urgent] ") if announcement.urgent else ""
        title = f"{prefix}{announcement.title}"
    body = announcement.body[:140]
    resident_url = reverse("portal:community_notice", args=[announcement.pk])
    notify(
        users,
        kind="community.announcement",
        title=title,
        body=body,
        url=resident_url,
        community_id=announcement.community_id,
        sms=announcement.urgent,
    )
    if staff:
        # Staff who manage announcements get the console page; the others (technicians, guards)
        # cannot open it, so they get the whole text in the notification itself.
        staff_url = reverse("console:community_announcement", args=[announcement.community_id, announcement.pk])
        managing = {
            user.pk for user in staff if access_for(user).has(Perm.PUBLISH_ANNOUNCEMENTS, announcement.community_id)
        }
        for group, url, text in (
            ([u for u in staff if u.pk in managing], staff_url, body),
            ([u for u in staff if u.pk not in managing], "", announcement.body),
        ):
            if group:
                notify(
                    group,
                    kind="community.announcement",
                    title=title,
                    body=text,
                    url=url,
                    community_id=announcement.community_id,
                    sms=announcement.urgent,
                )
    Announcement.objects.filter(pk=announcement.pk).update(notified_at=timezone.now())
    return len(users) + len(staff)


def notify_due_announcements(now: dt.datetime | None = None) -> int:
    """Notify the audiences of scheduled announcements whose time has come. Each is claimed with a
    conditional UPDATE (``notified_at`` from NULL), so two sweeps never notify one twice."""
    from anju.core.tenancy import scopes_disabled

    moment = now or timezone.now()
    with scopes_disabled():
        due = list(
            Announcement.objects.filter(
                notified_at__isnull=True, withdrawn_at__isnull=True, publish_at__lte=moment
            ).values_list("pk", "community_id")[:500]
        )
    handled = 0
    for pk, community_id in due:
        with transaction.atomic(), community_scope(community_id):
            claimed = Announcement.objects.filter(pk=pk, notified_at__isnull=True).update(notified_at=moment)
            if claimed != 1:
                continue
            announcement = Announcement.objects.get(pk=pk)
            if announcement.expires_at is not None and announcement.expires_at <= moment:
                continue
            _notify_audience(announcement)
            handled += 1
    return handled


@transaction.atomic
def withdraw_announcement(*, community: Community, source_ref: str, actor: User | None) -> Announcement:
    """Withdraw the announcement published with ``source_ref`` (e.g. an outage notice when the lift
    is back). Withdrawing one already withdrawn changes nothing; an unknown reference is NotFound."""
    with community_scope(community.pk):
        announcement = Announcement.objects.filter(community=community, source_ref=source_ref).first()
    if announcement is None or not source_ref:
        raise NotFound()
    return withdraw(announcement, actor=actor)


@transaction.atomic
def withdraw(announcement: Announcement, *, actor: User | None) -> Announcement:
    if announcement.withdrawn_at is not None:
        return announcement
    with community_scope(announcement.community_id):
        now = timezone.now()
        Announcement.objects.filter(pk=announcement.pk, withdrawn_at__isnull=True).update(withdrawn_at=now)
        announcement.withdrawn_at = now
        audit.record(
            actor=actor, action="announcement.withdraw", obj=announcement, after={"withdrawn_at": now.isoformat()}
        )
    return announcement


@transaction.atomic
def set_pinned(announcement: Announcement, *, pinned: bool, actor: User | None) -> Announcement:
    with community_scope(announcement.community_id):
        before = announcement.pinned
        announcement.pinned = pinned
        announcement.save(update_fields=["pinned"])
        audit.record(
            actor=actor,
            action="announcement.pin",
            obj=announcement,
            before={"pinned": before},
            after={"pinned": pinned},
        )
    return announcement


@transaction.atomic
def mark_read(announcement: Announcement, *, user: User, person: Person | None) -> bool:
    """Record that ``user`` (as ``person``) opened the announcement; only the first read counts.
    Returns True when this was the first read. The caller has checked the user may see it."""
    with community_scope(announcement.community_id):
        if AnnouncementRead.objects.filter(announcement=announcement, user=user).exists():
            return False
        try:
            with transaction.atomic():
                receipt = AnnouncementRead.objects.create(
                    community_id=announcement.community_id, announcement=announcement, user=user, person=person
                )
        except IntegrityError:
            return False
        audit.record(
            actor=user,
            action="announcement.read",
            obj=receipt,
            object_label=announcement.title[:200],
            after={"announcement": announcement.pk},
        )
    return True


def _check_attachment(upload: UploadedFile) -> tuple[str, str]:
    name = PurePath(upload.name or "").name[:200]
    suffix = PurePath(name).suffix.lower()
    if suffix not in ATTACHMENT_TYPES:
        raise DomainError(
            _("Only PDF, JPEG, PNG, Word (.docx) and Excel (.xlsx) files can be attached."),
            code="attachment_type",
            field="file",
        )
    if upload.size is None or upload.size > ATTACHMENT_MAX_BYTES:
        raise DomainError(_("An attachment may be at most 10 MB."), code="attachment_size", field="file")
    if upload.size == 0:
        raise DomainError(_("The file is empty."), code="attachment_empty", field="file")
    content_type, magics = ATTACHMENT_TYPES[suffix]
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(magic) for magic in magics):
        raise DomainError(_("The file's content does not match its type."), code="attachment_content", field="file")
    return name, content_type


@transaction.atomic
def attach_file(announcement: Announcement, *, upload: UploadedFile, actor: User | None) -> AnnouncementAttachment:
    """Store ``upload`` (type and size checked) under a random name and attach it."""
    name, content_type = _check_attachment(upload)
    if announcement.withdrawn_at is not None:
        raise Conflict(_("This announcement has been withdrawn."), code="withdrawn")
    with community_scope(announcement.community_id):
        attachment = AnnouncementAttachment(
            community_id=announcement.community_id,
            announcement=announcement,
            name=name,
            content_type=content_type,
            size=upload.size or 0,
            uploaded_by=actor,
        )
        attachment.file.save(f"{uuid.uuid4().hex}{PurePath(name).suffix.lower()}", upload, save=False)
        attachment.save(force_insert=True)
        audit.record(actor=actor, action="announcement.attach", obj=attachment, after=snapshot(attachment))
    return attachment


# --- Read receipts -------------------------------------------------------------------------------


@dataclass
class Recipient:
    person: Person
    role: str
    has_account: bool
    read_at: dt.datetime | None


@dataclass
class HomeReceipts:
    home: Home
    steward: User | None
    recipients: list[Recipient] = field(default_factory=list)

    @property
    def unread(self) -> list[Recipient]:
        return [r for r in self.recipients if r.read_at is None]

    @property
    def anyone_read(self) -> bool:
        return any(r.read_at is not None for r in self.recipients)


@dataclass
class Receipts:
    homes: list[HomeReceipts]

    @property
    def people(self) -> int:
        return len({r.person.pk for home in self.homes for r in home.recipients})

    @property
    def read(self) -> int:
        return len({r.person.pk for home in self.homes for r in home.recipients if r.read_at is not None})

    @property
    def homes_unread(self) -> list[HomeReceipts]:
        """Homes where nobody addressed has read it: the ones a steward should call."""
        return [home for home in self.homes if not home.anyone_read]


def read_receipts(announcement: Announcement, *, steward: User | None = None) -> Receipts:
    """Who was addressed, home by home, and who has read it (exact: every current occupant in the
    audience counts, with or without an account). ``steward`` narrows it to the homes they look
    after now. Call inside the announcement's community scope."""
    occupancies = audience_occupancies(announcement).select_related("person", "home__building", "home__unit")
    stewards = {
        a.home_id: a.steward for a in StewardAssignment.objects.filter(ends_on__isnull=True).select_related("steward")
    }
    if steward is not None:
        occupancies = occupancies.filter(home_id__in=[hid for hid, s in stewards.items() if s.pk == steward.pk])
    reads = dict(
        AnnouncementRead.objects.filter(announcement=announcement, person__isnull=False).values_list(
            "person_id", "read_at"
        )
    )
    by_home: dict[int, HomeReceipts] = {}
    seen: set[tuple[int, int]] = set()
    for occupancy in occupancies.order_by(
        "home__building__number", "home__unit__number", "home__floor", "home__number", "pk"
    ):
        if (occupancy.home_id, occupancy.person_id) in seen:
            continue
        seen.add((occupancy.home_id, occupancy.person_id))
        row = by_home.setdefault(occupancy.home_id, HomeReceipts(occupancy.home, stewards.get(occupancy.home_id)))
        row.recipients.append(
            Recipient(
                person=occupancy.person,
                role=occupancy.get_role_display(),
                has_account=occupancy.person.user_id is not None,
                read_at=reads.get(occupancy.person_id),
            )
        )
    return Receipts(list(by_home.values()))
