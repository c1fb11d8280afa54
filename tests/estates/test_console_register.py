"""Console pages of the register: dashboard, buildings, property map, homes, and the create forms."""

from __future__ import annotations

import pytest
from django.urls import reverse

from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from anju.estates import services as estates
from anju.estates.models import Building, Home, Unit
from anju.residents import services as residents
from tests.personas import CONTRACT_START, World

pytestmark = pytest.mark.django_db


def _url(name: str, world: World, **kwargs: int) -> str:
    return reverse(f"console:{name}", kwargs={"community_id": world.a.community.pk, **kwargs})


def _as(client, world: World, persona: str):
    client.force_login(world.user(persona))
    return client


REGISTER_PAGES = ["dashboard", "buildings", "homes"]


@pytest.mark.parametrize("page", REGISTER_PAGES)
def test_other_tenant_gets_404_on_register_pages(client, world, page):
    assert _as(client, world, "manager_y").get(_url(page, world)).status_code == 404


@pytest.mark.parametrize("page", REGISTER_PAGES)
def test_resident_gets_404_on_register_pages(client, world, page):
    assert _as(client, world, "resident_a").get(_url(page, world)).status_code == 404


def test_anonymous_is_sent_to_log_in(client, world):
    response = client.get(_url("dashboard", world))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_dashboard_counts_this_community_only(client, world):
    response = _as(client, world, "manager_x").get(_url("dashboard", world))
    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures == {
        "buildings": 2,
        "homes": 12,
        "people": 1,
        "current_occupancies": 1,
        "homes_without_steward": 12,
    }
    statuses = {value: count for value, _label, count in response.context["statuses"]}
    assert statuses["delivered"] == 12 and statuses["unsold"] == 0


def test_regulator_reads_the_register_but_sees_no_people_links(client, world):
    response = _as(client, world, "regulator").get(_url("dashboard", world))
    assert response.status_code == 200
    assert reverse("console:people", kwargs={"community_id": world.a.community.pk}) not in response.content.decode()
    assert (
        _as(client, world, "regulator")
        .get(_url("dashboard", world).replace(str(world.a.community.pk), str(world.c.community.pk), 1))
        .status_code
        == 404
    )


def test_buildings_list_has_home_counts(client, world):
    response = _as(client, world, "technician").get(_url("buildings", world))
    assert response.status_code == 200
    counts = {b.number: b.home_count for b in response.context["buildings"]}
    assert counts == {"1": 6, "2": 6}


def test_property_map_other_tenant_404_and_foreign_building_404(client, world):
    building_a = world.a.buildings[0]
    building_b = world.b.buildings[0]
    assert (
        _as(client, world, "manager_y").get(_url("property_map", world, building_id=building_a.pk)).status_code == 404
    )
    # A building of community b addressed under community a is not found either.
    assert (
        _as(client, world, "manager_x").get(_url("property_map", world, building_id=building_b.pk)).status_code == 404
    )


def test_property_map_grid_top_floor_first_with_legend(client, world):
    building = world.a.buildings[0]
    response = _as(client, world, "technician").get(
        _url("property_map", world, building_id=building.pk) + "?layer=occupancy"
    )
    assert response.status_code == 200
    floors = [floor for floor, _slots in response.context["rows"]]
    assert floors == [3, 2, 1]
    legend = {item.value: count for item, count in response.context["legend"]}
    assert legend["owned_not_moved_in"] == 1  # the owner of 101 is recorded, the home is delivered
    assert legend["no_owner_recorded"] == 5
    body = response.content.decode()
    home_url = reverse("console:home", kwargs={"community_id": world.a.community.pk, "home_id": world.a.homes[0].pk})
    assert home_url in body


def _tower(world: World) -> Building:
    community = world.a.community
    tower = estates.create_building(community=community, number="9", floors_above=33, has_lift=True, actor=None)
    with community_scope(community.pk):
        units = [Unit.objects.create(community=community, building=tower, number=str(n)) for n in range(1, 5)]
        Home.objects.bulk_create(
            Home(
                community=community,
                building=tower,
                unit=unit,
                number=f"{floor}{door:02d}",
                floor=floor,
                floor_area="95.00",
            )
            for unit in units
            for floor in range(1, 34)
            for door in range(1, 5)
        )
    return tower


def test_property_map_of_a_33_floor_tower_takes_few_queries(client, world, django_assert_max_num_queries):
    tower = _tower(world)
    with community_scope(world.a.community.pk):
        home = Home.objects.get(building=tower, unit__number="2", number="3303")
    owner = residents.create_person(community=world.a.community, name="高层业主", actor=None)
    residents.add_occupancy(home=home, person=owner, role="tenant", starts_on=CONTRACT_START, actor=None)
    client = _as(client, world, "manager_x")
    with django_assert_max_num_queries(13):  # 12 for the map and its frame, 1 for the unread-notification count
        response = client.get(_url("property_map", world, building_id=tower.pk))
    assert response.status_code == 200
    columns = response.context["columns"]
    assert [(c.unit, c.positions) for c in columns] == [("1", 4), ("2", 4), ("3", 4), ("4", 4)]
    rows = response.context["rows"]
    assert len(rows) == 33 and rows[0][0] == 33
    top = rows[0][1]
    assert len(top) == 16
    assert top[6].number == "3303" and top[6].value == "rented"
    assert response.context["total"] == 33 * 16


def test_homes_filters_search_and_owner(client, world):
    client = _as(client, world, "manager_x")
    building = world.a.buildings[0]
    response = client.get(_url("homes", world), {"building": building.pk, "q": "10"})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert sorted(home.number for home, _owners in rows) == ["101", "102"]
    owners = {home.number: names for home, names in rows}
    assert owners["101"] == ["甲小区业主"]
    response = client.get(_url("homes", world), {"status": "occupied"})
    assert response.context["page"].paginator.count == 0


def test_homes_paginate_by_fifty(client, world):
    _tower(world)
    client = _as(client, world, "manager_x")
    first = client.get(_url("homes", world))
    assert first.context["page"].paginator.count == 12 + 528
    assert len(first.context["rows"]) == 50
    last = client.get(_url("homes", world), {"page": 11})
    assert len(last.context["rows"]) == 540 - 500


def test_technician_sees_homes_without_owner_names(client, world):
    response = _as(client, world, "technician").get(_url("homes", world))
    assert response.status_code == 200
    assert "甲小区业主" not in response.content.decode()


def test_create_building_unit_and_home(client, world):
    client = _as(client, world, "manager_x")
    response = client.post(_url("building_create", world), {"number": "5", "floors_above": "18", "has_lift": "on"})
    assert response.status_code == 302
    with community_scope(world.a.community.pk):
        building = Building.objects.get(number="5")
    assert building.has_lift and building.floors_above == 18
    response = client.post(_url("unit_create", world), {"building": building.pk, "number": "1"})
    assert response.status_code == 302
    with community_scope(world.a.community.pk):
        unit = Unit.objects.get(building=building)
    response = client.post(
        _url("home_create", world),
        {
            "building": building.pk,
            "unit": unit.pk,
            "number": "1801",
            "floor": "18",
            "floor_area": "120.5",
            "use": "residential",
            "status": "unsold",
        },
    )
    assert response.status_code == 302
    with community_scope(world.a.community.pk):
        home = Home.objects.get(building=building)
    assert str(home.floor_area) == "120.50" and home.status == "unsold"
    assert AuditEntry.objects.filter(action="home.create", object_id=str(home.pk)).exists()


def test_create_home_refused_by_service_shows_form_error(client, world):
    client = _as(client, world, "manager_x")
    building = world.a.buildings[0]
    response = client.post(
        _url("home_create", world),
        {
            "building": building.pk,
            "number": "901",
            "floor": "9",
            "floor_area": "80",
            "use": "residential",
            "status": "delivered",
        },
    )
    assert response.status_code == 200
    assert "floor" in response.context["form"].errors  # building 1 has 6 floors
    with community_scope(world.a.community.pk):
        assert not Home.objects.filter(number="901").exists()


def test_create_forms_need_edit_register(client, world):
    assert _as(client, world, "steward").get(_url("building_create", world)).status_code == 403
    response = _as(client, world, "regulator").post(
        _url("building_create", world), {"number": "7", "floors_above": "3"}
    )
    assert response.status_code == 403
    assert _as(client, world, "manager_y").get(_url("home_create", world)).status_code == 404


def test_create_unit_cannot_use_another_communitys_building(client, world):
    response = _as(client, world, "manager_x").post(
        _url("unit_create", world), {"building": world.b.buildings[0].pk, "number": "3"}
    )
    assert response.status_code == 200
    assert "building" in response.context["form"].errors


def test_homes_page_links_keep_the_filters(client, world):
    tower = _tower(world)
    response = _as(client, world, "manager_x").get(_url("homes", world), {"building": tower.pk, "use": "residential"})
    assert response.context["page"].paginator.count == 528
    body = response.content.decode()
    assert f"?building={tower.pk}&amp;use=residential&amp;page=2" in body
