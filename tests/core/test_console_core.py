"""The console's community switcher and the audit log page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from anju.core.models import AuditEntry
from anju.residents import services
from tests.personas import World

pytestmark = pytest.mark.django_db


def _audit_url(world: World, estate: str = "a") -> str:
    return reverse("console:audit", kwargs={"community_id": getattr(world, estate).community.pk})


def _as(client, world: World, persona: str):
    client.force_login(world.user(persona))
    return client


def test_index_lists_reachable_communities_with_company_and_home_count(client, world):
    response = _as(client, world, "manager_x").get(reverse("console:index"))
    assert response.status_code == 200
    rows = [(community.code, company.name, homes) for community, company, homes in response.context["rows"]]
    assert sorted(rows) == [("a", "X物业", 12), ("c", "X物业", 12)]
    assert "乙小区" not in response.content.decode()


def test_regulator_sees_communities_of_its_district_only(client, world):
    response = _as(client, world, "regulator").get(reverse("console:index"))
    codes = sorted(community.code for community, _company, _homes in response.context["rows"])
    assert codes == ["a", "b"]


def test_index_sends_a_one_community_user_straight_in(client, world):
    response = _as(client, world, "steward").get(reverse("console:index"))
    assert response.status_code == 302
    assert response["Location"] == reverse("console:dashboard", kwargs={"community_id": world.a.community.pk})


def test_index_refuses_residents_and_asks_anonymous_to_log_in(client, world):
    assert _as(client, world, "resident_a").get(reverse("console:index")).status_code == 403
    client.logout()
    response = client.get(reverse("console:index"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_audit_log_shows_this_communitys_entries_with_diff(client, world):
    person = world.a.people[0]
    services.update_person(person, name="改名", actor=world.user("manager_x"))
    response = _as(client, world, "manager_x").get(_audit_url(world))
    assert response.status_code == 200
    entries = [entry for entry, _diff in response.context["rows"]]
    assert entries and all(entry.community_id == world.a.community.pk for entry in entries)
    latest, diff = response.context["rows"][0]
    assert latest.action == "person.update"
    assert ("name", "甲小区业主", "改名") in diff
    assert "乙小区业主" not in response.content.decode()


def test_audit_log_filters_by_action_and_date(client, world):
    client = _as(client, world, "manager_x")
    response = client.get(_audit_url(world), {"action": "home.create"})
    rows = response.context["rows"]
    assert len(rows) == 12 and {entry.action for entry, _ in rows} == {"home.create"}
    today = timezone.localdate()
    assert client.get(_audit_url(world), {"date_from": str(today)}).context["page"].paginator.count > 0
    tomorrow = today + dt.timedelta(days=1)
    assert client.get(_audit_url(world), {"date_from": str(tomorrow)}).context["page"].paginator.count == 0
    yesterday = today - dt.timedelta(days=1)
    assert client.get(_audit_url(world), {"date_to": str(yesterday)}).context["page"].paginator.count == 0


def test_audit_log_paginates(client, world):
    total = AuditEntry.objects.filter(community_id=world.a.community.pk).count()
    response = _as(client, world, "manager_x").get(_audit_url(world))
    assert response.context["page"].paginator.count == total
    assert len(response.context["rows"]) == min(total, 50)


@pytest.mark.parametrize(
    ("persona", "status"), [("regulator", 403), ("technician", 403), ("steward", 403), ("manager_y", 404)]
)
def test_audit_log_refusals(client, world, persona, status):
    assert _as(client, world, persona).get(_audit_url(world)).status_code == status
