"""Visitor passes: invitations by residents, walk-ins confirmed by a resident, couriers, and the guard
desk's check.

A pass's QR token is signed with the community's active key (:mod:`anju.access.signing`), so any
controller verifies it offline. The guard desk verifies the same way — signature, window, revocation
list, uses — against the server's own copy of that state (:func:`verify_at_desk`), or by the short
typed code printed under the QR when the camera cannot read it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from anju.access import signing, sync, tokens
from anju.access.facts import door_facts, pass_facts
from anju.access.models import AccessEvent, Delivery, Door, VisitorPass
from anju.access.rules import grant_for
from anju.core import audit
from anju.core.crypto import seal_phone
from anju.core.errors import Conflict, DomainError, NotFound
from anju.core.models import User
from anju.core.notifications import notify
from anju.core.tenancy import community_scope
from anju.core.validators import validate_mobile
from anju.estates.models import Community, Home
from anju.residents.models import Occupancy, Person

MAX_PASS_DAYS = 7
MAX_USES = 20
WALK_IN_HOURS = 2
COURIER_MINUTES = 30
CODE_DIGITS = 8


def _household_users(home: Home) -> list[User]:
    """The accounts of everyone living in ``home`` now (who may confirm a walk-in or a delivery)."""
    rows = Occupancy.objects.current().filter(home=home, person__user__isnull=False).select_related("person__user")
    return [o.person.user for o in rows if o.person.user is not None]


def lives_in(user: User, home: Home) -> Person | None:
    """The caller's person record if they currently live in ``home``."""
    occupancy = Occupancy.objects.current().filter(home=home, person__user=user).select_related("person").first()
    return occupancy.person if occupancy else None


def _new_code(community_id: int) -> str:
    while True:
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        if not VisitorPass.objects.filter(community_id=community_id, code=code).exists():
            return code


@transaction.atomic
def create_visitor_pass(
    *,
    host_person: Person,
    host_home: Home,
    valid_from: dt.datetime,
    valid_until: dt.datetime,
    max_uses: int = 2,
    visitor_name: str = "",
    visitor_phone: str = "",
    plate: str = "",
    note: str = "",
    kind: str = VisitorPass.Kind.VISITOR,
    status: str = VisitorPass.Status.ACTIVE,
    actor: User | None,
) -> VisitorPass:
    """A pass for a visitor of ``host_home`` (the host must live there now), valid in the window for
    ``max_uses`` entries, signed with the community's active key."""
    community_id = host_home.community_id
    if host_person.community_id != community_id:
        raise NotFound(field="host_person")
    now = timezone.now()
    if valid_until <= valid_from:
        raise DomainError(_("The pass must end after it starts."), field="valid_until")
    if valid_until <= now:
        raise DomainError(_("The pass would already have expired."), field="valid_until")
    if valid_until - valid_from > dt.timedelta(days=MAX_PASS_DAYS):
        raise DomainError(_("A pass lasts at most %(days)d days.") % {"days": MAX_PASS_DAYS}, field="valid_until")
    if not 1 <= max_uses <= MAX_USES:
        raise DomainError(_("Allow from 1 to %(max)d entries.") % {"max": MAX_USES}, field="max_uses")
    with community_scope(community_id):
        if not Occupancy.objects.current().filter(home=host_home, person=host_person).exists():
            raise DomainError(_("Only someone living in the home can invite to it."), field="host_home")
        sync.access_settings(community_id)
        key = signing.active_key(community_id)
        if key is None:  # pragma: no cover - access_settings creates the first key
            raise Conflict()
        visitor_pass = VisitorPass(
            community_id=community_id,
            kind=kind,
            status=status,
            host_person=host_person,
            host_home=host_home,
            created_by=actor,
            visitor_name=visitor_name.strip()[:60],
            valid_from=valid_from,
            valid_until=valid_until,
            max_uses=max_uses,
            note=note.strip()[:200],
            key=key,
            code=_new_code(community_id),
        )
        if visitor_phone.strip():
            try:
                phone = validate_mobile(visitor_phone)
            except ValidationError as exc:
                raise DomainError(" ".join(str(m) for m in exc.messages), field="visitor_phone") from None
            sealed = seal_phone(phone)
            visitor_pass.visitor_phone_encrypted = sealed.encrypted
            visitor_pass.visitor_phone_index = sealed.index
            visitor_pass.visitor_phone_masked = sealed.masked
        if plate.strip():
            from anju.access.services import _checked_plate

            visitor_pass.plate = _checked_plate(plate)
        visitor_pass.save(force_insert=True)
    audit.record(actor=actor, action="access.pass.create", obj=visitor_pass, after=audit.snapshot(visitor_pass))
    return visitor_pass


@transaction.atomic
def revoke_visitor_pass(visitor_pass: VisitorPass, *, actor: User | None) -> VisitorPass:
    """Withdraw a pass: it goes on the revocation list every controller syncs."""
    if visitor_pass.status == VisitorPass.Status.REVOKED:
        return visitor_pass
    with community_scope(visitor_pass.community_id):
        updated = VisitorPass.objects.filter(pk=visitor_pass.pk).exclude(status=VisitorPass.Status.REVOKED)
        if not updated.update(status=VisitorPass.Status.REVOKED, revoked_at=timezone.now()):
            return visitor_pass
        visitor_pass.refresh_from_db()
        sync.revoke(
            visitor_pass.community_id, "pass", visitor_pass.pk, reason="revoked", until=visitor_pass.valid_until
        )
    audit.record(actor=actor, action="access.pass.revoke", obj=visitor_pass)
    return visitor_pass


# --- Walk-ins and couriers ------------------------------------------------------------------------------


def _portal_url(name: str) -> str:
    return reverse(f"portal:{name}")


@transaction.atomic
def register_walk_in(
    *,
    community: Community,
    home: Home,
    visitor_name: str,
    visitor_phone: str = "",
    plate: str = "",
    note: str = "",
    actor: User | None,
) -> VisitorPass:
    """The guard registers a visitor who came without a pass; the household is asked to confirm,
    and the pass works only once someone living there has."""
    if home.community_id != community.pk:
        raise NotFound(field="home")
    if not visitor_name.strip():
        raise DomainError(_("Ask the visitor's name."), field="visitor_name")
    with community_scope(community.pk):
        household = _household_users(home)
        occupancy = Occupancy.objects.current().filter(home=home).select_related("person").first()
        if occupancy is None or not household:
            raise DomainError(_("Nobody living in this home can confirm in the app: call them instead."), field="home")
        now = timezone.now()
        visitor_pass = create_visitor_pass(
            host_person=occupancy.person,
            host_home=home,
            valid_from=now,
            valid_until=now + dt.timedelta(hours=WALK_IN_HOURS),
            max_uses=2,
            visitor_name=visitor_name,
            visitor_phone=visitor_phone,
            plate=plate,
            note=note,
            kind=VisitorPass.Kind.WALK_IN,
            status=VisitorPass.Status.PENDING,
            actor=actor,
        )
        with translation.override("zh-hans"):
            notify(
                household,
                kind="access.walk_in",
                title=gettext("A visitor is at the gate: %(name)s") % {"name": visitor_pass.visitor_name},
                body=gettext("Let them in, or decline, in the app."),
                url=_portal_url("access_visitors"),
                community_id=community.pk,
                sms=True,
            )
    return visitor_pass


@transaction.atomic
def answer_walk_in(visitor_pass: VisitorPass, *, accept: bool, actor: User) -> VisitorPass:
    """A resident of the host home lets the walk-in visitor in, or declines (once; later answers conflict)."""
    with community_scope(visitor_pass.community_id):
        if lives_in(actor, visitor_pass.host_home) is None:
            raise NotFound()
        status = VisitorPass.Status.ACTIVE if accept else VisitorPass.Status.DECLINED
        claimed = VisitorPass.objects.filter(pk=visitor_pass.pk, status=VisitorPass.Status.PENDING).update(
            status=status, confirmed_at=timezone.now()
        )
        if not claimed:
            raise Conflict(_("This visitor has already been answered."))
        visitor_pass.refresh_from_db()
        if visitor_pass.created_by is not None:
            with translation.override("zh-hans"):
                title = (
                    gettext("%(name)s may come in") if accept else gettext("%(name)s was declined by the resident")
                ) % {"name": visitor_pass.visitor_name}
            notify(
                [visitor_pass.created_by],
                kind="access.walk_in_answer",
                title=title,
                community_id=visitor_pass.community_id,
            )
    audit.record(actor=actor, action="access.pass.answer", obj=visitor_pass, after={"accepted": accept})
    return visitor_pass


@transaction.atomic
def register_delivery(
    *, community: Community, home: Home, carrier: str, note: str = "", actor: User | None
) -> Delivery:
    if home.community_id != community.pk:
        raise NotFound(field="home")
    if not carrier.strip():
        raise DomainError(_("Which carrier is it?"), field="carrier")
    with community_scope(community.pk):
        delivery = Delivery.objects.create(
            community=community, home=home, carrier=carrier.strip()[:60], note=note.strip()[:200], registered_by=actor
        )
        with translation.override("zh-hans"):
            notify(
                _household_users(home),
                kind="access.delivery",
                title=gettext("A parcel from %(carrier)s is at the gate") % {"carrier": delivery.carrier},
                body=gettext("Let the courier in, or have it kept at the guard desk."),
                url=_portal_url("access_visitors"),
                community_id=community.pk,
            )
    audit.record(actor=actor, action="access.delivery.register", obj=delivery, after=audit.snapshot(delivery))
    return delivery


@transaction.atomic
def answer_delivery(delivery: Delivery, *, let_in: bool, actor: User) -> Delivery:
    """Let the courier in (a one-entry courier pass for half an hour) or keep the parcel at the desk."""
    with community_scope(delivery.community_id):
        host = lives_in(actor, delivery.home)
        if host is None:
            raise NotFound()
        status = Delivery.Status.COURIER_ADMITTED if let_in else Delivery.Status.AT_DESK
        if not Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.WAITING).update(
            status=status, decided_at=timezone.now()
        ):
            raise Conflict(_("This delivery has already been answered."))
        delivery.refresh_from_db()
        if let_in:
            now = timezone.now()
            delivery.visitor_pass = create_visitor_pass(
                host_person=host,
                host_home=delivery.home,
                valid_from=now,
                valid_until=now + dt.timedelta(minutes=COURIER_MINUTES),
                max_uses=1,
                visitor_name=delivery.carrier,
                kind=VisitorPass.Kind.COURIER,
                actor=actor,
            )
            delivery.save(update_fields=["visitor_pass"])
    audit.record(actor=actor, action="access.delivery.answer", obj=delivery, after={"let_in": let_in})
    return delivery


@transaction.atomic
def collect_delivery(delivery: Delivery, *, actor: User | None) -> Delivery:
    with community_scope(delivery.community_id):
        if (
            not Delivery.objects.filter(pk=delivery.pk)
            .exclude(status=Delivery.Status.COLLECTED)
            .update(status=Delivery.Status.COLLECTED, collected_at=timezone.now())
        ):
            raise Conflict(_("This parcel has already been collected."))
        delivery.refresh_from_db()
    audit.record(actor=actor, action="access.delivery.collect", obj=delivery)
    return delivery


# --- The guard desk -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeskVerdict:
    allowed: bool
    reason: str
    visitor_pass: VisitorPass | None = None

    @property
    def uses_left(self) -> int | None:
        if self.visitor_pass is None:
            return None
        return max(self.visitor_pass.max_uses - self.visitor_pass.uses, 0)


def _looks_like_token(text: str) -> bool:
    return text.upper().startswith(tokens.PREFIX) and len(text) > 40


def verify_at_desk(
    community_id: int, text: str, *, door: Door | None = None, at: dt.datetime | None = None
) -> DeskVerdict:
    """Check a scanned token or a typed pass code, as a controller would, against the server's state:
    the signature with the published keys, the window, revocation, the uses recorded so far, and (with
    a ``door``) the pass's door scope. Reads only; :func:`admit_at_desk` records the entry."""
    moment = at or timezone.now()
    text = "".join(text.split())
    if _looks_like_token(text):
        try:
            claims = tokens.verify(text, signing.public_keys(community_id))
        except tokens.TokenError as exc:
            return DeskVerdict(False, exc.code)
        if claims.community_id != community_id:
            return DeskVerdict(False, "wrong_community")
        if claims.kind != tokens.KIND_PASS:
            return DeskVerdict(False, "not_a_pass")
        visitor_pass = VisitorPass.objects.filter(pk=claims.subject_id).select_related("host_home", "key").first()
    elif text.isdigit() and len(text) == CODE_DIGITS:
        visitor_pass = VisitorPass.objects.filter(code=text).select_related("host_home", "key").first()
    else:
        return DeskVerdict(False, "malformed")
    if visitor_pass is None:
        return DeskVerdict(False, "unknown_pass")
    allowed, reason = _pass_state(visitor_pass, door, moment)
    return DeskVerdict(allowed, reason, visitor_pass)


def _pass_state(visitor_pass: VisitorPass, door: Door | None, moment: dt.datetime) -> tuple[bool, str]:
    if visitor_pass.status == VisitorPass.Status.PENDING:
        return False, "awaiting_confirmation"
    if visitor_pass.status in (VisitorPass.Status.REVOKED, VisitorPass.Status.DECLINED):
        return False, "revoked"
    if moment < visitor_pass.valid_from:
        return False, "not_yet_valid"
    if moment >= visitor_pass.valid_until:
        return False, "expired"
    if visitor_pass.uses >= visitor_pass.max_uses:
        return False, "used_up"
    if door is not None:
        grant = grant_for(pass_facts(visitor_pass), door_facts(door))
        if grant is None:
            return False, "no_right"
        reason = grant.check(int(moment.timestamp()))
        if reason != "ok":
            return False, str(reason)
    return True, "ok"


def recount_uses(visitor_pass: VisitorPass) -> int:
    """Set the pass's uses to the granted entries recorded for it (from every controller and the
    desk): recounting, not incrementing, so a re-sent batch cannot count twice. A pass used up goes
    on the revocation list, so controllers that have not seen those entries refuse it too."""
    uses = AccessEvent.objects.filter(visitor_pass=visitor_pass, result=AccessEvent.Result.GRANTED).aggregate(
        n=Count("pk", filter=Q(result=AccessEvent.Result.GRANTED))
    )["n"]
    VisitorPass.objects.filter(pk=visitor_pass.pk).update(uses=min(uses, 32767))
    visitor_pass.uses = uses
    if uses >= visitor_pass.max_uses:
        sync.revoke(
            visitor_pass.community_id, "pass", visitor_pass.pk, reason="used_up", until=visitor_pass.valid_until
        )
    return uses


@transaction.atomic
def admit_at_desk(visitor_pass: VisitorPass, *, door: Door | None = None, actor: User | None) -> AccessEvent:
    """The guard lets the pass holder in: one entry in the log, one use counted."""
    with community_scope(visitor_pass.community_id):
        locked = VisitorPass.objects.select_for_update().select_related("host_home", "key").get(pk=visitor_pass.pk)
        allowed, reason = _pass_state(locked, door, timezone.now())
        if not allowed:
            raise Conflict(_("This pass cannot be used now (%(reason)s).") % {"reason": reason}, code=f"pass_{reason}")
        event = AccessEvent.objects.create(
            community_id=locked.community_id,
            door=door,
            occurred_at=timezone.now(),
            result=AccessEvent.Result.GRANTED,
            method="desk",
            reason="ok",
            visitor_pass=locked,
            home=locked.host_home,
            user=actor,
        )
        recount_uses(locked)
        visitor_pass.uses = locked.uses
    audit.record(actor=actor, action="access.pass.admit", obj=locked, after={"uses": locked.uses})
    return event
