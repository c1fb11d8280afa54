"""Who may do what where: the one place that answers it.

A request's :class:`Access` is computed once from the user's memberships (staff, regulators,
committee members) and current occupancies (residents):

* company staff reach a community only while their company holds a service contract covering it
  today (optionally narrowed by the membership's community list), so when a community changes
  company the old company's staff lose it the day the contract ends, while the history stays;
* a regulator reaches every community in its districts (and their sub-districts), read-only;
* a committee member reaches their own community, read-only;
* a resident reaches, in the portal, the homes they currently occupy.

Views and API endpoints call :meth:`Access.require` (or the decorators in ``anju.web`` and
``anju.api``) and then work inside :func:`anju.core.tenancy.community_scope`.

Computing an Access takes 2–6 queries, on every request. When a shared cache is configured
(``settings.ANJU_ACCESS_CACHE``, i.e. Redis) the result is cached per user and day under a
*generation* token. Any change to what an Access is built from (memberships, organisations and
their districts, service contracts, communities, occupancies, a person's linked account) replaces
the token after its transaction commits (:func:`invalidate_access`, wired to model signals in
:mod:`anju.core.signals` and called by the bulk writers, which send no signals), so the next request
of every user recomputes. The day in the key makes date-bounded contracts and occupancies lapse at
midnight; the TTL bounds anything written behind the application's back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from anju.core.errors import NotFound, PermissionDenied
from anju.core.models import Membership, Organization, Role, User
from anju.core.tenancy import scopes_disabled


class Perm(StrEnum):
    VIEW_REGISTER = "view_register"
    EDIT_REGISTER = "edit_register"
    VIEW_PEOPLE = "view_people"
    EDIT_PEOPLE = "edit_people"
    REVEAL_PERSONAL_DATA = "reveal_personal_data"
    IMPORT_EXPORT = "import_export"
    ASSIGN_STEWARDS = "assign_stewards"
    VIEW_AUDIT = "view_audit"
    # Work orders: see them; file one on a resident's behalf; dispatch; work jobs; configure
    # categories, SLAs, routes and maintenance plans.
    VIEW_WORKORDERS = "view_workorders"
    FILE_WORKORDERS = "file_workorders"
    DISPATCH_WORKORDERS = "dispatch_workorders"
    WORK_WORKORDERS = "work_workorders"
    MANAGE_WORKORDERS = "manage_workorders"
    # Billing: see bills, arrears and the ledger; set tariffs; enter meter readings; run bills;
    # take counter payments; approve refunds, discounts and waivers; publish the accounts.
    VIEW_BILLING = "view_billing"
    MANAGE_TARIFFS = "manage_tariffs"
    ENTER_READINGS = "enter_readings"
    RUN_BILLS = "run_bills"
    TAKE_PAYMENTS = "take_payments"
    APPROVE_REFUNDS = "approve_refunds"
    PUBLISH_ACCOUNTS = "publish_accounts"
    # Devices: see devices, telemetry and alarms; register devices and edit rules; act on alarms.
    VIEW_DEVICES = "view_devices"
    MANAGE_DEVICES = "manage_devices"
    HANDLE_ALARMS = "handle_alarms"
    # Access control: see doors and passes; manage doors and credentials; the guard desk; the log.
    VIEW_ACCESS = "view_access"
    MANAGE_ACCESS = "manage_access"
    GUARD_DESK = "guard_desk"
    VIEW_ACCESS_LOG = "view_access_log"
    # Community life.
    PUBLISH_ANNOUNCEMENTS = "publish_announcements"
    MODERATE_BOARD = "moderate_board"
    MANAGE_ACTIVITIES = "manage_activities"
    MANAGE_POINTS = "manage_points"
    MANAGE_SURVEYS = "manage_surveys"


_ALL = frozenset(Perm)
# Read-only oversight: what a regulator or an owners' committee member may look at.
_OVERSIGHT = frozenset({Perm.VIEW_REGISTER, Perm.VIEW_WORKORDERS, Perm.VIEW_BILLING, Perm.VIEW_DEVICES})
ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.COMPANY_ADMIN: _ALL,
    Role.MANAGER: _ALL,
    Role.STEWARD: frozenset(
        {
            Perm.VIEW_REGISTER,
            Perm.VIEW_PEOPLE,
            Perm.EDIT_PEOPLE,
            Perm.REVEAL_PERSONAL_DATA,
            Perm.VIEW_WORKORDERS,
            Perm.FILE_WORKORDERS,
            Perm.DISPATCH_WORKORDERS,
            Perm.VIEW_BILLING,
            Perm.VIEW_DEVICES,
            Perm.VIEW_ACCESS,
            Perm.PUBLISH_ANNOUNCEMENTS,
            Perm.MODERATE_BOARD,
            Perm.MANAGE_ACTIVITIES,
        }
    ),
    Role.CUSTOMER_SERVICE: frozenset(
        {
            Perm.VIEW_REGISTER,
            Perm.VIEW_PEOPLE,
            Perm.EDIT_PEOPLE,
            Perm.REVEAL_PERSONAL_DATA,
            Perm.VIEW_WORKORDERS,
            Perm.FILE_WORKORDERS,
            Perm.DISPATCH_WORKORDERS,
            Perm.VIEW_BILLING,
            Perm.VIEW_DEVICES,
            Perm.PUBLISH_ANNOUNCEMENTS,
            Perm.MODERATE_BOARD,
        }
    ),
    Role.FINANCE_CLERK: frozenset(
        {
            Perm.VIEW_REGISTER,
            Perm.VIEW_PEOPLE,
            Perm.VIEW_BILLING,
            Perm.MANAGE_TARIFFS,
            Perm.ENTER_READINGS,
            Perm.RUN_BILLS,
            Perm.TAKE_PAYMENTS,
            Perm.PUBLISH_ACCOUNTS,
        }
    ),
    Role.TECHNICIAN: frozenset(
        {
            Perm.VIEW_REGISTER,
            Perm.VIEW_WORKORDERS,
            Perm.WORK_WORKORDERS,
            Perm.ENTER_READINGS,
            Perm.VIEW_DEVICES,
            Perm.HANDLE_ALARMS,
            Perm.VIEW_ACCESS,
        }
    ),
    Role.GUARD: frozenset(
        {
            Perm.VIEW_REGISTER,
            Perm.VIEW_PEOPLE,
            Perm.VIEW_WORKORDERS,
            Perm.FILE_WORKORDERS,
            Perm.VIEW_DEVICES,
            Perm.HANDLE_ALARMS,
            Perm.VIEW_ACCESS,
            Perm.GUARD_DESK,
            Perm.VIEW_ACCESS_LOG,
        }
    ),
    Role.REGULATOR: _OVERSIGHT,
    Role.COMMITTEE_MEMBER: _OVERSIGHT,
}
STAFF_ROLES = frozenset(
    {
        Role.COMPANY_ADMIN,
        Role.MANAGER,
        Role.STEWARD,
        Role.TECHNICIAN,
        Role.FINANCE_CLERK,
        Role.GUARD,
        Role.CUSTOMER_SERVICE,
    }
)


@dataclass
class Access:
    """What one user may do, per community id. Build it with :func:`access_for`."""

    user: User | None
    grants: dict[int, set[Perm]] = field(default_factory=dict)
    roles: dict[int, set[str]] = field(default_factory=dict)
    resident_community_ids: set[int] = field(default_factory=set)
    # The shared cache's generation token this Access was read or stored under ("" when uncached),
    # so that values cached alongside it (cached_with_access) need no second look-up of the token.
    cache_generation: str = field(default="", compare=False)

    @property
    def is_staff_user(self) -> bool:
        return bool(self.grants)

    @property
    def is_resident(self) -> bool:
        return bool(self.resident_community_ids)

    def community_ids(self, perm: Perm = Perm.VIEW_REGISTER) -> list[int]:
        return sorted(cid for cid, perms in self.grants.items() if perm in perms)

    def has(self, perm: Perm, community_id: int) -> bool:
        return perm in self.grants.get(community_id, ())

    def has_role(self, role: str, community_id: int) -> bool:
        return role in self.roles.get(community_id, ())

    def require(self, perm: Perm, community_id: int) -> None:
        """Refuse loudly: NotFound when the community is not this user's at all (its existence is
        not confirmed), PermissionDenied when it is but this role may not do ``perm``."""
        perms = self.grants.get(community_id)
        if perms is None:
            raise NotFound()
        if perm not in perms:
            raise PermissionDenied()


def _active_memberships(user: User) -> list[Membership]:
    today = timezone.localdate()
    return list(
        Membership.objects.filter(user=user, starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .select_related("organization")
        .prefetch_related("communities", "organization__districts")
    )


def _communities_for_membership(membership: Membership) -> set[int]:
    from anju.estates.models import Community, ServiceContract

    org = membership.organization
    today = timezone.localdate()
    if org.kind == Organization.Kind.COMPANY:
        reach = set(
            ServiceContract.objects.filter(company=org, starts_on__lte=today)
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gt=today))
            .values_list("community_id", flat=True)
        )
    elif org.kind == Organization.Kind.REGULATOR:
        district_ids = [d.pk for d in org.districts.all()]
        reach = set(
            Community.objects.filter(
                Q(district_id__in=district_ids) | Q(district__parent_id__in=district_ids)
            ).values_list("pk", flat=True)
        )
    elif org.kind == Organization.Kind.COMMITTEE and org.community_id:
        reach = {org.community_id}
    else:
        reach = set()
    limited = {c.pk for c in membership.communities.all()}
    return reach & limited if limited else reach


ACCESS_CACHE_SECONDS = 300
_GENERATION_KEY = "access:generation"


def shared_cache() -> BaseCache | None:
    """The cache every web process shares (Redis), or None when there is none: then nothing about
    permissions or accounts is cached, since a per-process copy could outlive a change."""
    return caches["default"] if getattr(settings, "ANJU_ACCESS_CACHE", False) else None


def _replace_generation() -> None:
    cache = shared_cache()
    if cache is not None:
        cache.set(_GENERATION_KEY, uuid.uuid4().hex, timeout=None)


def invalidate_access() -> None:
    """Make every cached :class:`Access` stale once the current transaction commits.

    After the commit, not before: a request that read the old token and the old rows may still store
    its Access, but under the old token, which nobody reads any more."""
    if shared_cache() is not None:
        transaction.on_commit(_replace_generation)


def _generation(cache: BaseCache) -> str:
    token = cache.get(_GENERATION_KEY)
    if token is None:
        cache.add(_GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        token = cache.get(_GENERATION_KEY)
    return str(token)


T = TypeVar("T")


def cached_with_access(access: Access, name: str, compute: Callable[[], T], *, per_user: bool = True) -> T:
    """A value derived only from the rows an :class:`Access` is built from (e.g. the names of the
    user's communities for the switcher, or a community's row), cached exactly as long as the Access
    is; computed every time without a shared cache. ``compute`` must return something picklable;
    ``per_user=False`` for a value that is the same for every user who may see it."""
    cache = shared_cache()
    if cache is None or access.user is None:
        return compute()
    generation = access.cache_generation or _generation(cache)
    owner = access.user.pk if per_user else "all"
    key = f"access:{generation}:{owner}:{timezone.localdate().isoformat()}:{name}"
    value: Any = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, timeout=ACCESS_CACHE_SECONDS)
    return value


def access_for(user: User | None) -> Access:
    """The user's :class:`Access`: from the shared cache when there is one, else computed."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Access(user=None)
    cache = shared_cache()
    if cache is None:
        return _compute_access(user)
    generation = _generation(cache)
    key = f"access:{generation}:{user.pk}:{timezone.localdate().isoformat()}"
    stored: Any = cache.get(key)
    if stored is not None:
        grants, roles, resident_ids = stored
        return Access(
            user=user,
            grants={cid: {Perm(p) for p in perms} for cid, perms in grants.items()},
            roles={cid: set(names) for cid, names in roles.items()},
            resident_community_ids=set(resident_ids),
            cache_generation=generation,
        )
    access = _compute_access(user)
    access.cache_generation = generation
    stored = (
        {cid: sorted(perms) for cid, perms in access.grants.items()},
        {cid: sorted(names) for cid, names in access.roles.items()},
        sorted(access.resident_community_ids),
    )
    cache.set(key, stored, timeout=ACCESS_CACHE_SECONDS)
    return access


def _compute_access(user: User) -> Access:
    access = Access(user=user)
    for membership in _active_memberships(user):
        perms = ROLE_PERMISSIONS.get(membership.role, frozenset())
        for community_id in _communities_for_membership(membership):
            access.grants.setdefault(community_id, set()).update(perms)
            access.roles.setdefault(community_id, set()).add(membership.role)
    from anju.residents.models import Occupancy

    with scopes_disabled():
        access.resident_community_ids = set(
            Occupancy.objects.current().filter(person__user=user).values_list("community_id", flat=True)
        )
    return access


def staff_with_role(community_id: int, *roles: str) -> list[User]:
    """The active users who hold one of ``roles`` in ``community_id`` today, through a current
    membership of the company whose service contract covers it (or a regulator / committee that
    reaches it): the targets of escalations and duty notifications."""
    candidates = (
        User.objects.filter(is_active=True, memberships__role__in=roles).distinct().order_by("pk")
        if roles
        else User.objects.none()
    )
    return [user for user in candidates if any(access_for(user).has_role(role, community_id) for role in roles)]
