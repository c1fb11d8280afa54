"""Activities: creating them, signing up, the waitlist, check-in, volunteer hours, photos.

Capacity is enforced under the activity's row lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
serialises writers with its IMMEDIATE transactions). Signing up and cancelling both take the lock
first, so the count of confirmed places read inside the transaction is the count at commit:
a cancellation frees exactly one place and promotes exactly the first person on the waitlist,
however many cancellations arrive at once.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import PurePath

from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from anju.community.models import Activity, ActivityPhoto, PointsRule, Signup
from anju.community.services.common import is_building_leader, require_text, snapshot
from anju.community.services.points import award_points, reverse_entry, rule_points
from anju.core import audit
from anju.core.errors import Conflict, DomainError, NotFound
from anju.core.models import User
from anju.core.notifications import notify
from anju.core.tenancy import community_scope
from anju.estates.models import Community
from anju.residents.models import Person

#: Check-in opens this long before the start and closes at the end.
CHECKIN_OPENS_BEFORE = dt.timedelta(hours=1)
IMAGE_MAX_BYTES = 8 * 1024 * 1024
_SIGNUP_SALT = "anju.community.signup-qr"


class ActivityFull(Conflict):
    code = "activity_full"


class CheckInClosed(Conflict):
    code = "checkin_closed"
    default_message = _("Check-in is open from one hour before the start until the end of the activity.")


def clean_image(upload: UploadedFile, field: str = "image") -> ContentFile[bytes]:
    """A JPEG, PNG or WebP picture of at most 8 MB, re-encoded by Pillow without its metadata.

    Anything Pillow cannot open as one of those is refused. Re-encoding drops EXIF (a phone photo's
    GPS position, the camera's serial number) before the picture is shown to neighbours; the
    orientation recorded in EXIF is applied to the pixels first so the picture stays upright."""
    if upload.size is None or upload.size > IMAGE_MAX_BYTES:
        raise DomainError(_("A picture may be at most 8 MB."), code="image_size", field=field)
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            kind = probe.format
            probe.verify()
        if kind not in {"JPEG", "PNG", "WEBP"}:
            raise DomainError(_("Only JPEG, PNG and WebP pictures are accepted."), code="image_type", field=field)
        upload.seek(0)
        with Image.open(upload) as opened:
            picture = ImageOps.exif_transpose(opened)
            if kind == "JPEG" and picture.mode not in ("RGB", "L"):
                picture = picture.convert("RGB")
            buffer = io.BytesIO()
            picture.save(buffer, format=kind)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        raise DomainError(_("This file is not a picture."), code="image_type", field=field) from None
    finally:
        upload.seek(0)
    suffix = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}[kind]
    return ContentFile(buffer.getvalue(), name=f"{PurePath(upload.name or 'image').stem[:40]}{suffix}")


@transaction.atomic
def create_activity(
    *,
    community: Community,
    title: str,
    place: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    capacity: int,
    description: str = "",
    kind: str = Activity.Kind.EVENT,
    volunteer_work: str = "",
    organizer: Person | None = None,
    actor: User | None,
) -> Activity:
    """Create an activity. ``organizer`` is the building leader who runs it (they must lead a
    building of the community now); staff create them with ``organizer=None``."""
    title = require_text(title, "title", max_length=120, message=_("A title is required."))
    place = require_text(place, "place", max_length=120, message=_("Say where it takes place."))
    if kind not in Activity.Kind.values:
        raise DomainError(_("Unknown kind of activity."), field="kind")
    if kind == Activity.Kind.VOLUNTEER:
        if volunteer_work not in Activity.VolunteerWork.values or not volunteer_work:
            volunteer_work = Activity.VolunteerWork.OTHER
    else:
        volunteer_work = ""
    if ends_at <= starts_at:
        raise DomainError(_("The end must be after the start."), code="ends_before_start", field="ends_at")
    if not isinstance(capacity, int) or capacity < 1 or capacity > 10000:
        raise DomainError(_("Places must be a whole number from 1 to 10000."), field="capacity")
    if organizer is not None and (organizer.community_id != community.pk or not is_building_leader(organizer)):
        raise DomainError(_("Only building leaders may organise activities."), code="not_a_leader")
    with community_scope(community.pk):
        activity = Activity.objects.create(
            community=community,
            title=title,
            place=place,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
            description=(description or "").strip()[:5000],
            kind=kind,
            volunteer_work=volunteer_work,
            organizer=organizer,
            created_by=actor,
        )
        audit.record(actor=actor, action="activity.create", obj=activity, after=audit.snapshot(activity))
    return activity


@transaction.atomic
def cancel_activity(activity: Activity, *, actor: User | None) -> Activity:
    """Call the activity off and tell everyone signed up."""
    with community_scope(activity.community_id):
        locked = Activity.objects.select_for_update().get(pk=activity.pk)
        if locked.cancelled_at is not None:
            return locked
        locked.cancelled_at = timezone.now()
        locked.save(update_fields=["cancelled_at"])
        users = [s.user for s in Signup.objects.active().filter(activity=locked).select_related("user") if s.user]
        with translation.override("zh-hans"):
            title = gettext("Activity cancelled: %(title)s") % {"title": locked.title}
        notify(
            users,
            kind="community.activity",
            title=title,
            url=reverse("portal:community_activity", args=[locked.pk]),
            community_id=locked.community_id,
        )
        audit.record(
            actor=actor, action="activity.cancel", obj=locked, after={"cancelled_at": locked.cancelled_at.isoformat()}
        )
    return locked


def _locked(activity: Activity) -> Activity:
    return Activity.objects.select_for_update().get(pk=activity.pk)


@transaction.atomic
def sign_up(*, activity: Activity, person: Person, actor: User | None, at: dt.datetime | None = None) -> Signup:
    """Take a place, or a place on the waitlist when the activity is full. Signing up again while
    already signed up returns the existing sign-up. ``at`` records a paper sign-up sheet entered
    afterwards (the activity must not have ended at that moment)."""
    moment = at or timezone.now()
    if person.community_id != activity.community_id:
        raise NotFound()
    with community_scope(activity.community_id):
        locked = _locked(activity)
        if locked.cancelled_at is not None:
            raise Conflict(_("This activity has been cancelled."), code="activity_cancelled")
        if locked.ends_at <= moment:
            raise Conflict(_("This activity is over."), code="activity_over")
        existing = Signup.objects.active().filter(activity=locked, person=person).first()
        if existing is not None:
            return existing
        confirmed = Signup.objects.filter(activity=locked, status=Signup.Status.CONFIRMED).count()
        status = Signup.Status.CONFIRMED if confirmed < locked.capacity else Signup.Status.WAITLISTED
        signup = Signup.objects.create(
            community_id=locked.community_id,
            activity=locked,
            person=person,
            user=actor,
            status=status,
            queued_at=moment,
        )
        audit.record(actor=actor, action="activity.sign_up", obj=signup, after=audit.snapshot(signup))
    return signup


@transaction.atomic
def cancel_signup(signup: Signup, *, actor: User | None) -> Signup | None:
    """Give up a place (or a waitlist place). When a confirmed place is freed, the first person on
    the waitlist is promoted in the same transaction and told so. Returns the promoted sign-up."""
    with community_scope(signup.community_id):
        activity = _locked(signup.activity)
        current = Signup.objects.get(pk=signup.pk)
        if current.status == Signup.Status.CANCELLED:
            return None
        if current.checked_in_at is not None:
            raise Conflict(_("You have already checked in."), code="checked_in")
        was_confirmed = current.status == Signup.Status.CONFIRMED
        current.status = Signup.Status.CANCELLED
        current.cancelled_at = timezone.now()
        current.save(update_fields=["status", "cancelled_at"])
        signup.status, signup.cancelled_at = current.status, current.cancelled_at
        audit.record(actor=actor, action="activity.cancel_signup", obj=current, after={"status": current.status})
        promoted = None
        if was_confirmed and activity.cancelled_at is None:
            promoted = _promote_next(activity, actor=actor)
    return promoted


def _promote_next(activity: Activity, *, actor: User | None) -> Signup | None:
    confirmed = Signup.objects.filter(activity=activity, status=Signup.Status.CONFIRMED).count()
    if confirmed >= activity.capacity:
        return None
    nxt = (
        Signup.objects.filter(activity=activity, status=Signup.Status.WAITLISTED)
        .order_by("queued_at", "pk")
        .select_related("user")
        .first()
    )
    if nxt is None:
        return None
    nxt.status = Signup.Status.CONFIRMED
    nxt.promoted_at = timezone.now()
    nxt.save(update_fields=["status", "promoted_at"])
    audit.record(actor=actor, action="activity.promote", obj=nxt, after={"status": nxt.status})
    if nxt.user is not None:
        with translation.override("zh-hans"):
            title = gettext("You have a place: %(title)s") % {"title": activity.title}
            body = gettext("A place became free and you were next on the waitlist.")
        notify(
            [nxt.user],
            kind="community.activity",
            title=title,
            body=body,
            url=reverse("portal:community_activity", args=[activity.pk]),
            community_id=activity.community_id,
            sms=True,
        )
    return nxt


def signup_code(signup: Signup) -> str:
    """The text in a resident's personal check-in QR code: the sign-up id, signed."""
    return signing.Signer(salt=_SIGNUP_SALT).sign(f"{signup.activity_id}.{signup.pk}")


def signup_from_code(activity: Activity, code: str) -> Signup:
    """The sign-up a scanned personal code stands for, if it is for this activity; else NotFound."""
    try:
        value = signing.Signer(salt=_SIGNUP_SALT).unsign((code or "").strip())
        activity_id, signup_id = (int(part) for part in value.split("."))
    except (signing.BadSignature, ValueError):
        raise DomainError(_("This code is not a valid check-in code."), code="bad_code", field="code") from None
    if activity_id != activity.pk:
        raise DomainError(_("This code is for another activity."), code="other_activity", field="code")
    with community_scope(activity.community_id):
        signup = Signup.objects.filter(pk=signup_id, activity=activity).select_related("person").first()
    if signup is None:
        raise NotFound()
    return signup


@transaction.atomic
def check_in(signup: Signup, *, actor: User | None, at: dt.datetime | None = None) -> Signup:
    """Check a confirmed sign-up in at the door (by the staff scanner or the resident's own scan of
    the door QR). Earns the check-in points under the rule in force; checking in twice changes
    nothing. Volunteer work also records the planned hours (staff can correct them)."""
    moment = at or timezone.now()
    with community_scope(signup.community_id):
        activity = Activity.objects.get(pk=signup.activity_id)
        if activity.cancelled_at is not None:
            raise Conflict(_("This activity has been cancelled."), code="activity_cancelled")
        if not (activity.starts_at - CHECKIN_OPENS_BEFORE <= moment <= activity.ends_at):
            raise CheckInClosed()
        current = Signup.objects.select_for_update().get(pk=signup.pk)
        if current.status != Signup.Status.CONFIRMED:
            raise Conflict(_("Only people with a confirmed place can check in."), code="not_confirmed")
        if current.checked_in_at is not None:
            return current
        current.checked_in_at = moment
        current.save(update_fields=["checked_in_at"])
        audit.record(actor=actor, action="activity.check_in", obj=current, after={"checked_in_at": moment.isoformat()})
        person = Person.objects.get(pk=current.person_id)
        points = rule_points(activity.community_id, PointsRule.Action.CHECK_IN, moment)
        if points > 0:
            award_points(
                person=person,
                amount=points,
                reason=gettext("Checked in: %(title)s") % {"title": activity.title},
                source_ref=f"checkin:{current.pk}",
                actor=actor,
            )
        if activity.is_volunteer:
            _record_hours(current, activity, activity.planned_minutes, actor=actor)
    return current


def _hours_points(community_id: int, minutes: int, at: dt.datetime) -> int:
    """Points for volunteer time: the hourly rule × minutes / 60, rounded down to a whole point."""
    return rule_points(community_id, PointsRule.Action.VOLUNTEER_HOUR, at) * minutes // 60


def _record_hours(signup: Signup, activity: Activity, minutes: int, *, actor: User | None) -> None:
    from anju.community.models import PointsEntry

    signup.volunteer_minutes = minutes
    signup.save(update_fields=["volunteer_minutes"])
    person = Person.objects.get(pk=signup.person_id)
    # A change of hours reverses the previous award and posts a new one (the ledger is never edited).
    previous = (
        PointsEntry.objects.filter(person=person, source_ref__startswith=f"hours:{signup.pk}:", kind="earn")
        .filter(reversed_by__isnull=True)
        .first()
    )
    if previous is not None:
        reverse_entry(previous, reason=gettext("Volunteer hours corrected"), actor=actor)
    points = _hours_points(activity.community_id, minutes, activity.starts_at)
    if points > 0:
        version = PointsEntry.objects.filter(source_ref__startswith=f"hours:{signup.pk}:").count() + 1
        award_points(
            person=person,
            amount=points,
            reason=gettext("Volunteer work: %(title)s, %(minutes)d minutes")
            % {"title": activity.title, "minutes": minutes},
            source_ref=f"hours:{signup.pk}:{version}",
            actor=actor,
        )


@transaction.atomic
def record_volunteer_hours(signup: Signup, *, minutes: int, actor: User | None) -> Signup:
    """Set the volunteer time of a checked-in sign-up (correcting the planned time)."""
    if not isinstance(minutes, int) or minutes < 0 or minutes > 24 * 60:
        raise DomainError(_("Give the minutes worked, from 0 to 1440."), field="minutes")
    with community_scope(signup.community_id):
        current = Signup.objects.select_for_update().get(pk=signup.pk)
        activity = Activity.objects.get(pk=current.activity_id)
        if not activity.is_volunteer:
            raise DomainError(_("Only volunteer work records hours."), code="not_volunteer")
        if current.checked_in_at is None:
            raise Conflict(_("Hours are recorded for people who checked in."), code="not_checked_in")
        before = current.volunteer_minutes
        _record_hours(current, activity, minutes, actor=actor)
        audit.record(
            actor=actor, action="activity.hours", obj=current, before={"minutes": before}, after={"minutes": minutes}
        )
    return current


@transaction.atomic
def add_photo(activity: Activity, *, upload: UploadedFile, caption: str = "", actor: User | None) -> ActivityPhoto:
    picture = clean_image(upload)
    with community_scope(activity.community_id):
        photo = ActivityPhoto(
            community_id=activity.community_id,
            activity=activity,
            caption=(caption or "").strip()[:120],
            uploaded_by=actor,
        )
        photo.image.save(picture.name or "photo.jpg", picture, save=False)
        photo.save(force_insert=True)
        audit.record(actor=actor, action="activity.photo", obj=photo, after=snapshot(photo))
    return photo
