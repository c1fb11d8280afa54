"""Writes on organizations, memberships, users and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.crypto import seal_phone
from anju.core.errors import Conflict, DomainError, NotFound
from anju.core.models import ApiToken, District, Membership, Organization, Role, User
from anju.core.validators import validate_mobile

TOKEN_PREFIX = "anju_"


@transaction.atomic
def create_district(*, name: str, code: str, parent: District | None = None, actor: User | None) -> District:
    district = District.objects.create(name=name, code=code, parent=parent)
    audit.record(actor=actor, action="district.create", obj=district, after=audit.snapshot(district))
    return district


@transaction.atomic
def create_organization(
    *,
    kind: str,
    name: str,
    credit_code: str = "",
    districts: list[District] | None = None,
    community_id: int | None = None,
    actor: User | None,
) -> Organization:
    if kind not in Organization.Kind.values:
        raise DomainError(_("Unknown organization kind."), field="kind")
    org = Organization.objects.create(kind=kind, name=name, credit_code=credit_code, community_id=community_id)
    if districts:
        org.districts.set(districts)
    audit.record(actor=actor, action="organization.create", obj=org, organization_id=org.pk, after=audit.snapshot(org))
    return org


@transaction.atomic
def create_user(
    *,
    username: str,
    password: str | None,
    display_name: str = "",
    phone: str = "",
    email: str = "",
    actor: User | None,
) -> User:
    if User.objects.filter(username=username).exists():
        raise Conflict(_("The user name “%(name)s” is taken.") % {"name": username}, field="username")
    user = User(username=username, display_name=display_name, email=email)
    if phone:
        set_user_phone(user, phone)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit.record(actor=actor, action="user.create", obj=user, after=audit.snapshot(user))
    return user


def set_user_phone(user: User, phone: str) -> None:
    """Attach a login mobile to ``user`` (not saved). Refuses a number another user logs in with."""
    phone = validate_mobile(phone)
    sealed = seal_phone(phone)
    if User.objects.filter(phone_index=sealed.index).exclude(pk=user.pk).exists():
        raise Conflict(_("This mobile number already belongs to another account."), field="phone")
    user.phone_encrypted, user.phone_index, user.phone_masked = sealed.encrypted, sealed.index, sealed.masked


@transaction.atomic
def add_membership(
    *,
    user: User,
    organization: Organization,
    role: str,
    community_ids: list[int] | None = None,
    starts_on: dt.date | None = None,
    actor: User | None,
) -> Membership:
    if role not in Role.values:
        raise DomainError(_("Unknown role."), field="role")
    membership = Membership.objects.create(
        user=user, organization=organization, role=role, starts_on=starts_on or timezone.localdate()
    )
    if community_ids:
        membership.communities.set(community_ids)
    audit.record(
        actor=actor,
        action="membership.create",
        obj=membership,
        organization_id=organization.pk,
        after={**audit.snapshot(membership), "communities": sorted(community_ids or [])},
    )
    return membership


@transaction.atomic
def end_membership(membership: Membership, *, ends_on: dt.date | None = None, actor: User | None) -> Membership:
    before = audit.snapshot(membership)
    membership.ends_on = ends_on or timezone.localdate()
    if membership.ends_on < membership.starts_on:
        raise DomainError(_("A membership cannot end before it starts."), field="ends_on")
    membership.save(update_fields=["ends_on"])
    audit.record(
        actor=actor,
        action="membership.end",
        obj=membership,
        organization_id=membership.organization_id,
        before=before,
        after=audit.snapshot(membership),
    )
    return membership


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def issue_api_token(
    *,
    user: User,
    name: str,
    kind: str = ApiToken.Kind.PERSONAL,
    expires_at: dt.datetime | None = None,
    actor: User,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never stored and shown only now."""
    if not name.strip():
        raise DomainError(_("Give the token a name so you can recognise it later."), field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip(), kind=kind, prefix=secret[:12], digest=_digest(secret), expires_at=expires_at
    )
    audit.record(actor=actor, action="api_token.issue", obj=token, after=audit.snapshot(token))
    return token, secret


@transaction.atomic
def revoke_api_token(token: ApiToken, *, actor: User) -> ApiToken:
    if token.user_id != actor.pk and not actor.is_superuser:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            actor=actor, action="api_token.revoke", obj=token, after={"revoked_at": token.revoked_at.isoformat()}
        )
    return token


def authenticate_token(secret: str) -> User | None:
    """The active user behind a bearer token, or None. Touches ``last_used_at`` at most once a minute."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(digest=_digest(secret), revoked_at__isnull=True).first()
    now = timezone.now()
    if token is None or (token.expires_at and token.expires_at <= now) or not token.user.is_active:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
