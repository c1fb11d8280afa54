"""Staff shifts: which kinds of door a staff role opens, on which weekdays, between which local times.

Shifts are effective-dated: a change ends the role's shifts in force (``ends_at``) and adds a new
row, so the history says who could open what when. Both writes refresh every staff credential's
allow-list entries inside their transaction, so online decisions see the change at once and the
controllers at their next sync. Re-exported from :mod:`anju.access.services`.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.access import sync
from anju.access.models import Credential, StaffShift
from anju.access.rules import DoorKind
from anju.core import audit
from anju.core.errors import Conflict, DomainError
from anju.core.models import Role, User
from anju.core.permissions import STAFF_ROLES
from anju.core.tenancy import community_scope
from anju.estates.models import Community

ALL_WEEKDAYS = 0b1111111


def _refresh_staff_allow_lists(community_id: int) -> None:
    staff_keys = Credential.objects.filter(user__isnull=False, ended_at__isnull=True).values_list(
        "lookup_key", flat=True
    )
    sync.refresh_allow_list(community_id, keys=list(staff_keys))


@transaction.atomic
def set_staff_shift(
    *,
    community: Community,
    role: str,
    door_kinds: list[str],
    start_time: dt.time,
    end_time: dt.time,
    weekdays: int = ALL_WEEKDAYS,
    actor: User | None,
) -> StaffShift:
    """Replace the door rights of a staff role (the old shifts end now and stay as history)."""
    if role not in Role.values or role not in {str(r) for r in STAFF_ROLES}:
        raise DomainError(_("Choose a staff role."), field="role")
    kinds = sorted(set(door_kinds))
    if not kinds or any(kind not in DoorKind.__members__.values() for kind in kinds):
        raise DomainError(_("Choose at least one kind of door."), field="door_kinds")
    if not 0 < weekdays < 128:
        raise DomainError(_("Choose at least one weekday."), field="weekdays")
    now = timezone.now()
    with community_scope(community.pk):
        sync.access_settings(community.pk)
        StaffShift.objects.filter(community=community, role=role, ends_at__isnull=True).update(ends_at=now)
        shift = StaffShift.objects.create(
            community=community,
            role=role,
            door_kinds=kinds,
            weekdays=weekdays,
            start_time=start_time,
            end_time=end_time,
            starts_at=now,
        )
        _refresh_staff_allow_lists(community.pk)
    audit.record(actor=actor, action="access.shift.set", obj=shift, after=audit.snapshot(shift))
    return shift


@transaction.atomic
def end_staff_shift(shift: StaffShift, *, actor: User | None) -> StaffShift:
    """End a shift now: the role's staff no longer open those doors (a role without any shift in
    force opens nothing). The row stays as history."""
    now = timezone.now()
    with community_scope(shift.community_id):
        # Claimed with a conditional UPDATE: of two managers ending one shift, one wins, one is told.
        ended = StaffShift.objects.filter(pk=shift.pk, ends_at__isnull=True).update(ends_at=now)
        if not ended:
            raise Conflict(_("This shift has already ended."))
        shift.ends_at = now
        _refresh_staff_allow_lists(shift.community_id)
    audit.record(
        actor=actor,
        action="access.shift.end",
        obj=shift,
        before={"ends_at": None},
        after={"ends_at": now.isoformat()},
    )
    return shift
