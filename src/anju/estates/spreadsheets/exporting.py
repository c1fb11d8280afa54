"""The register as spreadsheet rows, in exactly the format the importer reads.

People are written with their clear mobile and ID numbers (that is what makes the round trip
lossless), so building these rows is an unmasked read: only the audited service
:func:`anju.estates.spreadsheets.export_register` calls it, after checking ``Perm.IMPORT_EXPORT``.
"""

from __future__ import annotations

from typing import Any

from anju.core.crypto import decrypt
from anju.core.tenancy import community_scope
from anju.estates.models import Building, Home
from anju.estates.spreadsheets.formats import (
    BUILDINGS,
    HOMES,
    LIFT_LABELS,
    PEOPLE,
    PERSON_KIND_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    USE_LABELS,
    label_for,
)
from anju.residents.models import Occupancy, Person

HOME_ORDER = ("building__sort_key", "building__number", "unit__number", "floor", "number")


def building_rows(community_id: int) -> list[list[Any]]:
    with community_scope(community_id):
        buildings = Building.objects.order_by("sort_key", "number").values_list(
            "number", "name", "floors_above", "floors_below", "has_lift"
        )
        return [
            [number, name, above, below, label_for("yes" if lift else "no", LIFT_LABELS)]
            for number, name, above, below, lift in buildings
        ]


def home_rows(community_id: int) -> list[list[Any]]:
    with community_scope(community_id):
        homes = Home.objects.order_by(*HOME_ORDER).values_list(
            "building__number", "unit__number", "number", "floor", "floor_area", "use", "status"
        )
        return [
            [b, u or "", n, floor, area, label_for(use, USE_LABELS), label_for(status, STATUS_LABELS)]
            for b, u, n, floor, area, use, status in homes
        ]


def _person_kind(person: Person) -> str:
    if person.is_developer:
        return label_for("developer", PERSON_KIND_LABELS)
    return label_for("individual" if person.kind == Person.Kind.INDIVIDUAL else "organization", PERSON_KIND_LABELS)


def people_rows(community_id: int) -> list[list[Any]]:
    """One row per occupancy, current and past, in home order and then by date."""
    with community_scope(community_id):
        occupancies = (
            Occupancy.objects.select_related("person", "home__building", "home__unit")
            .order_by(*(f"home__{f}" for f in HOME_ORDER), "starts_on", "id")
            .only(
                "role",
                "share_percent",
                "starts_on",
                "ends_on",
                "relation",
                "home__number",
                "home__building__number",
                "home__unit__number",
                "person__name",
                "person__kind",
                "person__is_developer",
                "person__phone_encrypted",
                "person__id_number_encrypted",
            )
        )
        clear: dict[int, tuple[str, str]] = {}
        rows = []
        for o in occupancies:
            person = o.person
            if person.pk not in clear:
                clear[person.pk] = (decrypt(person.phone_encrypted), decrypt(person.id_number_encrypted))
            phone, id_number = clear[person.pk]
            home = o.home
            rows.append(
                [
                    home.building.number,
                    home.unit.number if home.unit else "",
                    home.number,
                    person.name,
                    phone,
                    id_number,
                    label_for(o.role, ROLE_LABELS),
                    o.share_percent,
                    o.starts_on,
                    o.ends_on,
                    o.relation,
                    _person_kind(person),
                ]
            )
        return rows


def register_tables(
    community_id: int, kinds: tuple[str, ...] = (BUILDINGS, HOMES, PEOPLE)
) -> dict[str, list[list[Any]]]:
    makers = {BUILDINGS: building_rows, HOMES: home_rows, PEOPLE: people_rows}
    return {kind: makers[kind](community_id) for kind in kinds}
