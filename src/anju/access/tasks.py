"""Periodic work of access control (see :mod:`anju.core.periodic`).

* ``access.end_lapsed_credentials`` (every 5 minutes): ends the credentials of residents who moved
  out and staff who left, and brings every allow-list in line with the occupancy dates — so a tenant
  whose lease ended is locked out the next morning without anyone remembering to do it (the rule
  itself already refuses them from the local midnight after their end date).
* ``access.purge_log`` (daily): deletes access events older than each community's retention.
* ``access.compact`` (daily): drops week-old allow-list tombstones and expired revocations.
"""

from __future__ import annotations

from datetime import timedelta

from anju.access import events, services, sync
from anju.access.models import AccessSettings
from anju.core.periodic import periodic
from anju.core.tenancy import community_scope, scopes_disabled


def _communities() -> list[int]:
    with scopes_disabled():
        return list(AccessSettings.objects.order_by("community_id").values_list("community_id", flat=True))


@periodic("access.end_lapsed_credentials", every=timedelta(minutes=5))
def end_lapsed_credentials() -> int:
    return sum(services.end_lapsed_credentials(community_id) for community_id in _communities())


@periodic("access.purge_log", every=timedelta(days=1))
def purge_log() -> int:
    return sum(events.purge_access_log(community_id) for community_id in _communities())


@periodic("access.compact", every=timedelta(days=1))
def compact() -> int:
    total = 0
    for community_id in _communities():
        with community_scope(community_id):
            total += sync.compact(community_id)
    return total
