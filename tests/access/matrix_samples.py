"""Ids of access objects of one estate's community, for the tenancy matrix."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from anju.access import services, sync
from anju.access.models import StaffShift
from anju.core.tenancy import community_scope
from tests.personas import World


def samples(world: World, estate_name: str) -> dict[str, int]:
    estate = getattr(world, estate_name)
    now = timezone.now()
    visitor_pass = services.create_visitor_pass(
        host_person=estate.people[0],
        host_home=estate.homes[0],
        valid_from=now,
        valid_until=now + dt.timedelta(hours=2),
        visitor_name="访客",
        actor=None,
    )
    credential = services.ensure_qr_credential(estate.people[0], actor=None)
    delivery = services.register_delivery(community=estate.community, home=estate.homes[0], carrier="邮政", actor=None)
    deny = services.add_deny_entry(community=estate.community, person=estate.people[0], reason="样例", actor=None)
    with community_scope(estate.community.pk):
        sync.access_settings(estate.community.pk)  # creates the default shifts
        shift = StaffShift.objects.filter(ends_at__isnull=True).order_by("pk").first()
    assert shift is not None
    return {
        "staff_shift_id": shift.pk,
        "visitor_pass_id": visitor_pass.pk,
        "credential_id": credential.pk,
        "delivery_id": delivery.pk,
        "deny_id": deny.pk,
    }
