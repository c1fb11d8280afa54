"""Communities, buildings, homes and the property map over the API, persona by persona."""

from __future__ import annotations

from decimal import Decimal

import pytest

from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from anju.estates.models import Building, Home, Unit

from ..personas import World
from .conftest import Api, assert_error


def test_communities_lists_exactly_what_each_persona_may_view(world: World) -> None:
    a, b, c = world.a.community, world.b.community, world.c.community
    expected = {
        "manager_x": {a.pk, c.pk},
        "manager_y": {b.pk},
        "steward": {a.pk},
        "technician": {a.pk},
        "regulator": {a.pk, b.pk},
        "resident_a": set(),
    }
    for persona, ids in expected.items():
        body = Api(world, persona).get("/communities").json()
        assert {item["id"] for item in body["items"]} == ids, persona
        assert body["count"] == len(ids)
    mine = Api(world, "steward").get("/communities").json()["items"][0]
    assert mine["roles"] == ["steward"] and "edit_register" not in mine["permissions"]


def test_community_detail_counts_and_refusals(world: World) -> None:
    a = world.a.community.pk
    body = Api(world, "regulator").get(f"/communities/{a}").json()
    assert body["name"] == world.a.community.name
    assert body["building_count"] == 2 and body["home_count"] == 12
    assert body["homes_by_status"]["delivered"] == 12
    assert_error(Api(world, "manager_y").get(f"/communities/{a}"), 404, "not_found")
    assert_error(Api(world, "resident_a").get(f"/communities/{a}"), 404)
    assert_error(Api(world, "regulator").get(f"/communities/{world.c.community.pk}"), 404)


def test_buildings_list_and_create_with_units(world: World) -> None:
    a = world.a.community.pk
    manager = Api(world, "manager_x")
    listing = manager.get(f"/communities/{a}/buildings").json()
    assert [item["number"] for item in listing["items"]] == ["1", "2"]
    assert listing["items"][0]["home_count"] == 6 and listing["items"][0]["units"][0]["number"] == "1"

    before = AuditEntry.objects.count()
    response = manager.post(
        f"/communities/{a}/buildings", {"number": "10", "floors_above": 18, "has_lift": True, "units": ["1", "2"]}
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["has_lift"] is True and [u["number"] for u in created["units"]] == ["1", "2"]
    assert AuditEntry.objects.count() == before + 3  # the building and its two units
    with community_scope(a):
        assert Building.objects.get(pk=created["id"]).community_id == a

    assert_error(manager.post(f"/communities/{a}/buildings", {"number": "10"}), 409, "conflict")
    assert_error(manager.get(f"/communities/{world.b.community.pk}/buildings"), 404)


def test_a_building_with_a_duplicate_unit_is_not_created_at_all(world: World) -> None:
    a = world.a.community.pk
    response = Api(world, "manager_x").post(f"/communities/{a}/buildings", {"number": "11", "units": ["1", "1"]})
    assert_error(response, 400, "duplicate_unit")
    with community_scope(a):
        assert not Building.objects.filter(number="11").exists()


def test_register_writes_need_edit_register(world: World) -> None:
    a = world.a.community.pk
    building = world.a.buildings[0]
    for persona in ("steward", "technician", "regulator"):
        api = Api(world, persona)
        assert_error(api.post(f"/communities/{a}/buildings", {"number": "77"}), 403, "forbidden")
        home = {"building_id": building.pk, "number": "601", "floor": 6, "floor_area": "70.00"}
        assert_error(api.post(f"/communities/{a}/homes", home), 403)
        assert_error(api.patch(f"/communities/{a}/homes/{world.a.homes[0].pk}", {"status": "vacant"}), 403)
    with community_scope(a):
        assert not Building.objects.filter(number="77").exists()
        assert not Home.objects.filter(number="601").exists()


def test_property_map_as_json(world: World) -> None:
    a = world.a.community.pk
    building = world.a.buildings[0]
    body = Api(world, "technician").get(f"/communities/{a}/buildings/{building.pk}/map").json()
    assert body["layer"]["name"] == "occupancy"
    assert [row["floor"] for row in body["rows"]] == [3, 2, 1]
    cells = {cell["home_id"]: cell for row in body["rows"] for cell in row["cells"]}
    assert set(cells) == {home.pk for home in world.a.homes[:6]}
    owned = cells[world.a.homes[0].pk]
    assert owned["value"] == "owned_not_moved_in" and owned["colour"].startswith("#") and owned["unit"] == "1"
    legend = {item["value"]: item for item in body["legend"]}
    assert legend["owned_not_moved_in"]["count"] == 1 and legend["no_owner_recorded"]["count"] == 5
    assert sum(body["counts"].values()) == 6

    api = Api(world, "manager_x")
    assert_error(api.get(f"/communities/{a}/buildings/{building.pk}/map", layer="no-such-layer"), 400, "unknown_layer")
    foreign_building = world.b.buildings[0].pk
    assert_error(api.get(f"/communities/{a}/buildings/{foreign_building}/map"), 404)


def test_homes_filters_and_pagination(world: World) -> None:
    a = world.a.community.pk
    api = Api(world, "steward")
    with community_scope(a):
        Home.objects.filter(pk=world.a.homes[1].pk).update(status="vacant")
    all_homes = api.get(f"/communities/{a}/homes").json()
    assert all_homes["count"] == 12 and len(all_homes["items"]) == 12
    assert all(item["community_id"] == a for item in all_homes["items"])

    building_two = world.a.buildings[1].pk
    only_two = api.get(f"/communities/{a}/homes", building_id=building_two).json()
    assert only_two["count"] == 6 and {i["building_id"] for i in only_two["items"]} == {building_two}
    unit = world.a.homes[0].unit_id
    assert api.get(f"/communities/{a}/homes", unit_id=unit).json()["count"] == 6
    vacant = api.get(f"/communities/{a}/homes", status="vacant").json()
    assert [item["id"] for item in vacant["items"]] == [world.a.homes[1].pk]
    assert api.get(f"/communities/{a}/homes", use="parking").json()["count"] == 0
    assert api.get(f"/communities/{a}/homes", q="30").json()["count"] == 4  # 301 and 302 in both buildings
    # A foreign building id filters to nothing rather than leaking its homes.
    assert api.get(f"/communities/{a}/homes", building_id=world.b.buildings[0].pk).json()["count"] == 0

    first = api.get(f"/communities/{a}/homes", limit=5).json()
    second = api.get(f"/communities/{a}/homes", limit=5, offset=5).json()
    last = api.get(f"/communities/{a}/homes", limit=5, offset=10).json()
    assert first["count"] == second["count"] == last["count"] == 12
    assert [len(first["items"]), len(second["items"]), len(last["items"])] == [5, 5, 2]
    ids = [i["id"] for i in first["items"] + second["items"] + last["items"]]
    assert ids == [i["id"] for i in all_homes["items"]]
    assert api.get(f"/communities/{a}/homes", offset=1000).json() == {"items": [], "count": 12}


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "ten"}, {"status": "haunted"}, {"use": "castle"}],
)
def test_bad_list_parameters_are_422(world: World, params: dict) -> None:
    response = Api(world, "manager_x").get(f"/communities/{world.a.community.pk}/homes", **params)
    body = assert_error(response, 422, "invalid")
    assert body["errors"] and all("loc" in e and "msg" in e for e in body["errors"])


def test_create_read_and_update_a_home(world: World) -> None:
    a = world.a.community.pk
    building = world.a.buildings[0]
    api = Api(world, "manager_x")
    response = api.post(
        f"/communities/{a}/homes",
        {
            "building_id": building.pk,
            "unit_id": world.a.homes[0].unit_id,
            "number": "401",
            "floor": 4,
            "floor_area": 95.5,
            "use": "residential",
            "status": "unsold",
        },
    )
    assert response.status_code == 201, response.content
    home = response.json()
    assert home["floor_area"] == "95.50" and home["status"] == "unsold" and home["label"] == "1栋1单元401"
    assert home["occupants"] == []

    detail = api.get(f"/communities/{a}/homes/{world.a.homes[0].pk}").json()
    assert [o["role"] for o in detail["occupants"]] == ["owner"]
    assert detail["occupants"][0]["phone_masked"] == "139****0001"
    # The technician sees the register but not who lives there.
    assert Api(world, "technician").get(f"/communities/{a}/homes/{world.a.homes[0].pk}").json()["occupants"] is None

    before = AuditEntry.objects.filter(action="home.update").count()
    patched = api.patch(f"/communities/{a}/homes/{home['id']}", {"floor_area": "96.25", "status": "delivered"})
    assert patched.status_code == 200, patched.content
    assert patched.json()["floor_area"] == "96.25" and patched.json()["floor"] == 4
    entry = AuditEntry.objects.filter(action="home.update").latest("id")
    assert AuditEntry.objects.filter(action="home.update").count() == before + 1
    assert entry.before == {"floor_area": "95.50", "status": "unsold"}
    with community_scope(a):
        assert Home.objects.get(pk=home["id"]).floor_area == Decimal("96.25")


def test_homes_of_another_community_are_404_under_your_own_url(world: World) -> None:
    a = world.a.community.pk
    api = Api(world, "manager_x")
    foreign_home = world.b.homes[0].pk
    assert_error(api.get(f"/communities/{a}/homes/{foreign_home}"), 404)
    assert_error(api.patch(f"/communities/{a}/homes/{foreign_home}", {"status": "vacant"}), 404)
    # Nor can a foreign building or unit be named in a body.
    foreign_building = world.b.buildings[0]
    body = {"building_id": foreign_building.pk, "number": "999", "floor": 1, "floor_area": "50"}
    assert assert_error(api.post(f"/communities/{a}/homes", body), 404)["field"] == "building_id"
    with community_scope(world.b.community.pk):
        foreign_unit = Unit.objects.filter(building=foreign_building).first()
    body = {
        "building_id": world.a.buildings[0].pk,
        "unit_id": foreign_unit.pk,
        "number": "999",
        "floor": 1,
        "floor_area": "50",
    }
    assert assert_error(api.post(f"/communities/{a}/homes", body), 404)["field"] == "unit_id"
    with community_scope(world.b.community.pk):
        assert Home.objects.get(pk=foreign_home).status == "delivered"
