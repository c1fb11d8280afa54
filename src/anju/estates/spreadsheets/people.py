"""Deciding which rows of the people sheet are one person, and who that is in the register."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from anju.core.crypto import mask_id_number, mask_phone
from anju.estates.spreadsheets.formats import Sheet
from anju.estates.spreadsheets.plans import HomeKey, PersonPlan, RowError

if TYPE_CHECKING:
    from anju.estates.spreadsheets.planning import _Planner


class PersonGroups:
    """Rows that are one person: the same mobile number or ID number (compared by blind index),
    or, with neither, the same name in the same home. Each group is then matched to the register."""

    def __init__(self, planner: _Planner) -> None:
        self.planner = planner
        self.register = planner.register
        self.groups: dict[str, PersonPlan] = {}
        self.by_phone: dict[str, str] = {}
        self.by_id: dict[str, str] = {}
        self.by_name: dict[tuple[HomeKey, str], str] = {}
        self.homes: dict[str, HomeKey] = {}
        self.aliases: dict[str, str] = {}

    def join(self, row: PersonPlan, home: HomeKey) -> PersonPlan:
        by_phone = self.groups.get(self.by_phone.get(row.phone_index, "")) if row.phone_index else None
        by_id = self.groups.get(self.by_id.get(row.id_index, "")) if row.id_index else None
        if by_phone is not None and by_id is not None and by_phone is not by_id:
            raise RowError(
                "id_number",
                _(
                    "This mobile number is used on row %(phone_row)s and this ID number on row %(id_row)s, "
                    "for different people."
                )
                % {"phone_row": by_phone.row, "id_row": by_id.row},
            )
        group = by_phone or by_id
        if group is None and not row.phone_index and not row.id_index:
            group = self.groups.get(self.by_name.get((home, row.name), ""))
        if group is None:
            row.key = f"file:{len(self.groups) + 1}"
            self.groups[row.key] = row
            self.homes[row.key] = home
            group = row
        else:
            if group.name != row.name:
                raise RowError(
                    "name",
                    _("Row %(row)s has the same mobile or ID number under the name “%(name)s”.")
                    % {"row": group.row, "name": group.name},
                )
            if row.phone_index and group.phone_index and row.phone_index != group.phone_index:
                raise RowError(
                    "phone",
                    _("Row %(row)s has this person with mobile number %(masked)s.")
                    % {"row": group.row, "masked": mask_phone(group.phone)},
                )
            if row.id_index and group.id_index and row.id_index != group.id_index:
                raise RowError(
                    "id_number",
                    _("Row %(row)s has this person with ID number %(masked)s.")
                    % {"row": group.row, "masked": mask_id_number(group.id_number)},
                )
            if row.phone_index and not group.phone_index:
                group.phone, group.phone_index = row.phone, row.phone_index
            if row.id_index and not group.id_index:
                group.id_number, group.id_index = row.id_number, row.id_index
        if group.phone_index:
            self.by_phone[group.phone_index] = group.key
        if group.id_index:
            self.by_id[group.id_index] = group.key
        if not group.phone_index and not group.id_index:
            self.by_name[(home, group.name)] = group.key
        return group

    def resolve(self, sheet: Sheet) -> None:
        """Match each group to a person of the register and decide what to update."""
        resolved: dict[str, PersonPlan] = {}
        for key, group in self.groups.items():
            existing_id = self.match(group, sheet)
            if existing_id is None:
                resolved[key] = group
                continue
            final = f"db:{existing_id}"
            self.aliases[key] = final
            if final in resolved:
                earlier = resolved[final]
                if earlier.name != group.name:
                    self.planner.problem(
                        sheet,
                        group.row,
                        "name",
                        _("Row %(row)s names this registered person “%(name)s”.")
                        % {"row": earlier.row, "name": earlier.name},
                    )
                if group.phone_index and not earlier.phone_index:
                    earlier.phone, earlier.phone_index = group.phone, group.phone_index
                if group.id_index and not earlier.id_index:
                    earlier.id_number, earlier.id_index = group.id_number, group.id_index
                group = earlier
            group.key, group.existing_id = final, existing_id
            person = self.register.people[existing_id]
            changes: dict[str, Any] = {}
            if group.name != person["name"]:
                # Never rename on a number match: a reassigned or mistyped number would otherwise
                # silently turn one resident into another. Names are corrected in the console.
                self.planner.problem(
                    sheet,
                    group.row,
                    "name",
                    _("The register has this mobile or ID number for “%(name)s”; correct the name or the number.")
                    % {"name": person["name"]},
                )
            if group.phone_index and group.phone_index != person["phone_index"]:
                changes["phone"] = group.phone
            if group.id_index and group.id_index != person["id_number_index"]:
                changes["id_number"] = group.id_number
            group.changes = changes
            resolved[final] = group
        self.resolved = resolved

    def match(self, group: PersonPlan, sheet: Sheet) -> int | None:
        by_phone = self.register.by_phone.get(group.phone_index) if group.phone_index else None
        by_id = self.register.by_id.get(group.id_index) if group.id_index else None
        if by_phone is not None and by_id is not None and by_phone != by_id:
            self.planner.problem(
                sheet,
                group.row,
                "id_number",
                _("The register has this mobile number for %(phone_name)s but this ID number for %(id_name)s.")
                % {
                    "phone_name": self.register.people[by_phone]["name"],
                    "id_name": self.register.people[by_id]["name"],
                },
            )
            return None
        if by_phone is not None or by_id is not None:
            return by_phone or by_id
        if group.phone_index or group.id_index:
            return None
        home = self.register.homes.get(self.homes[group.key])
        if home is None:
            return None
        for occupancy in self.register.occupancies.get(home["id"], []):
            if self.register.people[occupancy["person_id"]]["name"] == group.name:
                candidate = self.register.people[occupancy["person_id"]]
                if not candidate["phone_index"] and not candidate["id_number_index"]:
                    return int(occupancy["person_id"])
        return None

    def final_key(self, group: PersonPlan) -> str:
        return self.aliases.get(group.key, group.key) if group.key.startswith("file:") else group.key

    def plans(self) -> dict[str, PersonPlan]:
        return self.resolved
