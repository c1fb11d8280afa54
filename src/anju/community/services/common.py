"""Helpers the community-life services share: who a user is in a community, settings, clocks."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from anju.core.errors import DomainError, NotFound
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.residents.models import BuildingLeader, Occupancy, Person


class NotAResident(DomainError):
    status = 403
    code = "not_a_resident"
    default_message = _("Only current residents of this community can do this.")


def resident_person(user: User, community_id: int) -> Person:
    """The person ``user`` is in ``community_id`` while they currently live there, or NotAResident."""
    with community_scope(community_id):
        occupancy = (
            Occupancy.objects.current()
            .filter(person__user=user, community_id=community_id)
            .select_related("person")
            .order_by("starts_on", "pk")
            .first()
        )
    if occupancy is None:
        raise NotAResident()
    return occupancy.person


def current_occupancies(user: User, community_ids: list[int] | set[int]) -> list[Occupancy]:
    """The user's current occupancies in those communities, with each home's building and unit."""
    with community_scope(sorted(community_ids)):
        return list(
            Occupancy.objects.current()
            .filter(person__user=user)
            .select_related("home", "person")
            .order_by("community_id", "starts_on", "pk")
        )


def led_building_ids(person: Person) -> list[int]:
    """The buildings ``person`` currently leads (楼栋长)."""
    with community_scope(person.community_id):
        return list(
            BuildingLeader.objects.filter(person=person, ends_on__isnull=True).values_list("building_id", flat=True)
        )


def is_building_leader(person: Person) -> bool:
    return bool(led_building_ids(person))


def require_text(value: str, field: str, *, max_length: int, message: object) -> str:
    text = (value or "").strip()
    if not text:
        raise DomainError(message, field=field)
    if len(text) > max_length:
        raise DomainError(_("This text is too long (at most %(n)d characters).") % {"n": max_length}, field=field)
    if any(ord(char) < 32 and char not in "\n\r\t" for char in text):
        raise DomainError(_("This text contains characters that cannot be stored."), field=field)
    return text


def get_in_community(model: type, community_id: int, pk: object) -> object:
    """``model`` row ``pk`` of ``community_id`` or NotFound (never another tenant's)."""
    try:
        key = int(pk)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise NotFound() from None
    with community_scope(community_id):
        obj = model.objects.filter(Q(pk=key)).first()  # type: ignore[attr-defined]
    if obj is None:
        raise NotFound()
    return obj


def snapshot(obj: object) -> dict[str, object]:
    """:func:`anju.core.audit.snapshot`, with stored files recorded by their storage name."""
    from django.db.models.fields.files import FieldFile

    from anju.core import audit

    data = audit.snapshot(obj)  # type: ignore[arg-type]
    return {key: (value.name if isinstance(value, FieldFile) else value) for key, value in data.items()}
