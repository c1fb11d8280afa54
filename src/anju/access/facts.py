"""Reading the facts :mod:`anju.access.rules` decides on, from the database, in bulk.

The online decision (one credential) and the allow-list builder (every credential of a community)
both go through :class:`FactsLoader`, so they read the same occupancies, shifts, consents and deny
entries the same way. Everything here runs inside the caller's community scope.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db.models import Q
from django.utils import timezone

from anju.access.models import Credential, DenyEntry, Door, StaffShift, VisitorPass
from anju.access.rules import (
    ALWAYS,
    DoorFacts,
    HolderFacts,
    HolderKind,
    Method,
    Place,
    Shift,
    Window,
    day_window,
    timestamp,
)
from anju.core.permissions import access_for
from anju.residents.models import Consent, Occupancy

# Occupancies that ended longer ago than this no longer matter to any current decision or list.
HISTORY_DAYS = 2


def door_facts(door: Door) -> DoorFacts:
    return DoorFacts(door.pk, door.kind, door.building_id, door.unit_id, door.floor)


def active_doors(community_id: int) -> list[Door]:
    return list(Door.objects.filter(community_id=community_id, retired_at__isnull=True).order_by("pk"))


def _window(start: dt.datetime | None, end: dt.datetime | None) -> Window:
    return Window(timestamp(start) if start else None, timestamp(end) if end else None)


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def current_shifts(community_id: int) -> dict[str, list[Shift]]:
    """The shifts in force, by staff role."""
    now = timezone.now()
    by_role: dict[str, list[Shift]] = defaultdict(list)
    rows = StaffShift.objects.filter(community_id=community_id, starts_at__lte=now).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    )
    for row in rows.order_by("pk"):
        by_role[row.role].append(
            Shift(row.weekdays, _minutes(row.start_time), _minutes(row.end_time), frozenset(row.door_kinds))
        )
    return by_role


def pass_facts(visitor_pass: VisitorPass) -> HolderFacts:
    """The rule's view of a stored visitor pass — the same facts its token carries to a controller."""
    home = visitor_pass.host_home
    return HolderFacts(
        kind=HolderKind.VISITOR,
        method=Method.PASS,
        places=(
            Place(
                home.building_id, home.unit_id, home.floor, _window(visitor_pass.valid_from, visitor_pass.valid_until)
            ),
        ),
        has_plate=bool(visitor_pass.plate),
    )


class FactsLoader:
    """Loads, in a fixed number of queries, the holder facts of any set of credentials."""

    def __init__(self, community_id: int) -> None:
        self.community_id = community_id
        self._shifts: dict[str, list[Shift]] | None = None
        self._staff_roles: dict[int, set[str]] = {}

    @property
    def shifts(self) -> dict[str, list[Shift]]:
        """Read only when a staff credential needs them (residents' decisions skip the query)."""
        if self._shifts is None:
            self._shifts = current_shifts(self.community_id)
        return self._shifts

    def _roles_of(self, user_id: int, credential: Credential) -> set[str]:
        if user_id not in self._staff_roles:
            access = access_for(credential.user)
            self._staff_roles[user_id] = set(access.roles.get(self.community_id, ()))
        return self._staff_roles[user_id]

    def holders(self, credentials: Sequence[Credential]) -> dict[int, HolderFacts]:
        """``{credential id: HolderFacts}``; credentials must have ``user`` selected (staff)."""
        person_ids = {c.person_id for c in credentials if c.person_id}
        since = timezone.localdate() - dt.timedelta(days=HISTORY_DAYS)
        places: dict[int, list[Place]] = defaultdict(list)
        if person_ids:
            occupancies = (
                Occupancy.objects.filter(person_id__in=person_ids)
                .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=since))
                .order_by("starts_on", "pk")
                .values_list("person_id", "home__building_id", "home__unit_id", "home__floor", "starts_on", "ends_on")
            )
            for person_id, building_id, unit_id, floor, starts_on, ends_on in occupancies:
                places[person_id].append(Place(building_id, unit_id, floor, day_window(starts_on, ends_on)))
        consenting = set()
        face_people = {c.person_id for c in credentials if c.kind == Credential.Kind.FACE and c.person_id}
        if face_people:
            consenting = set(
                Consent.objects.filter(
                    person_id__in=face_people, purpose=Consent.Purpose.FACE_RECOGNITION, withdrawn_at__isnull=True
                ).values_list("person_id", flat=True)
            )
        blocked = self._blocked(credentials)
        result: dict[int, HolderFacts] = {}
        for credential in credentials:
            validity = _window(credential.valid_from, credential.valid_until)
            method = Method(credential.kind)
            deny = tuple(blocked.get(("credential", credential.pk), ()))
            if credential.person_id:
                deny += tuple(blocked.get(("person", credential.person_id), ()))
                result[credential.pk] = HolderFacts(
                    kind=HolderKind.RESIDENT,
                    method=method,
                    validity=validity,
                    places=tuple(places.get(credential.person_id, ())),
                    blocked=deny,
                    consent=credential.person_id in consenting if method == Method.FACE else True,
                )
            else:
                assert credential.user_id is not None
                deny += tuple(blocked.get(("user", credential.user_id), ()))
                roles = self._roles_of(credential.user_id, credential)
                shifts = tuple(shift for role in sorted(roles) for shift in self.shifts.get(role, ()))
                result[credential.pk] = HolderFacts(
                    kind=HolderKind.STAFF,
                    method=method,
                    validity=validity,
                    shifts=shifts,
                    blocked=deny,
                )
        return result

    def _blocked(self, credentials: Iterable[Credential]) -> dict[tuple[str, int], list[Window]]:
        now = timezone.now()
        rows = DenyEntry.objects.filter(community_id=self.community_id, lifted_at__isnull=True).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now)
        )
        blocked: dict[tuple[str, int], list[Window]] = defaultdict(list)
        for row in rows.order_by("starts_at", "pk"):
            window = _window(row.starts_at, row.ends_at)
            if row.credential_id:
                blocked[("credential", row.credential_id)].append(window)
            if row.person_id:
                blocked[("person", row.person_id)].append(window)
            if row.user_id:
                blocked[("user", row.user_id)].append(window)
        return blocked


__all__ = ["ALWAYS", "FactsLoader", "active_doors", "current_shifts", "door_facts", "pass_facts"]
