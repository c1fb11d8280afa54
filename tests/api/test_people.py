"""People, personal-data reveal, occupancy, and the resident's own view (/me) over the API."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from anju.core.validators import id_check_character
from anju.residents.models import Occupancy, Person

from ..personas import World
from .conftest import Api, assert_error


def valid_id(first17: str = "11010519900307123") -> str:
    return first17 + id_check_character(first17)


def _people_url(world: World, estate: str = "a") -> str:
    return f"/communities/{getattr(world, estate).community.pk}/people"


def test_people_list_shows_masked_data_only_and_is_refused_elsewhere(world: World) -> None:
    body = Api(world, "steward").get(_people_url(world)).json()
    assert body["count"] == 1
    person = body["items"][0]
    assert person["phone_masked"] == "139****0001" and person["has_account"] is True
    assert "13900000001" not in str(body) and "phone" not in person
    assert_error(Api(world, "technician").get(_people_url(world)), 403, "forbidden")
    assert_error(Api(world, "regulator").get(_people_url(world)), 403)
    assert_error(Api(world, "manager_y").get(_people_url(world)), 404)
    assert_error(Api(world, "resident_a").get(_people_url(world)), 404)


def test_search_by_name_or_exact_phone_or_id_number(world: World) -> None:
    api = Api(world, "manager_x")
    created = api.post(_people_url(world), {"name": "王秀英", "phone": "138 1234 5678", "id_number": valid_id()})
    assert created.status_code == 201, created.content
    person = created.json()
    assert person["phone_masked"] == "138****5678" and person["id_number_masked"].startswith("110105")

    def found(q: str) -> list[int]:
        return [item["id"] for item in api.get(_people_url(world), q=q).json()["items"]]

    assert found("秀英") == [person["id"]]
    assert found("+86 138-1234-5678") == [person["id"]]
    assert found(valid_id().lower()) == [person["id"]]
    assert found("5678") == []  # no partial matching on personal numbers
    assert found("13812345679") == []
    # Community B knows nobody by that number.
    assert Api(world, "manager_y").get(_people_url(world, "b"), q="13812345678").json()["count"] == 0


def test_create_person_validates_and_stores_nothing_on_error(world: World) -> None:
    api = Api(world, "steward")
    url = _people_url(world)
    with community_scope(world.a.community.pk):
        count = Person.objects.count()
    audit = AuditEntry.objects.count()
    cases = [
        ({"name": "张三", "phone": "12345"}, 400, "phone"),
        ({"name": "张三", "id_number": valid_id()[:17] + ("0" if valid_id()[-1] != "0" else "1")}, 400, "id_number"),
        ({"name": "张三", "phone": "13900000001"}, 409, "phone"),  # the owner already has this number
        ({"name": ""}, 422, None),
        ({"name": "张三", "kind": "robot"}, 422, None),
        ({"name": "张三", "shoe_size": 42}, 422, None),
        ({"name": "x" * 101}, 422, None),
        ({"name": "张\x00三"}, 422, None),
    ]
    for body, status, field in cases:
        error = assert_error(api.post(url, body), status)
        if field:
            assert error["field"] == field, (body, error)
    assert_error(api.post(url, raw='{"name": "张三",'), 400, "malformed_request")
    assert_error(api.post(url, raw="[1, 2]"), 422)
    with community_scope(world.a.community.pk):
        assert Person.objects.count() == count
    assert AuditEntry.objects.count() == audit


def test_update_person(world: World) -> None:
    api = Api(world, "steward")
    owner = world.a.people[0]
    url = f"{_people_url(world)}/{owner.pk}"
    response = api.patch(url, {"phone": "13700000009", "note": "腿脚不便"})
    assert response.status_code == 200, response.content
    assert response.json()["phone_masked"] == "137****0009" and response.json()["note"] == "腿脚不便"
    assert response.json()["occupancies"][0]["role"] == "owner"
    assert_error(api.patch(url, {"phone": None}), 422)
    assert_error(api.patch(url, {"kind": "organization"}), 422)
    assert_error(api.patch(url, {"name": "  "}), 422)
    assert api.patch(url, {"phone": ""}).json()["phone_masked"] == ""
    assert_error(Api(world, "technician").patch(url, {"note": "x"}), 403)
    assert_error(Api(world, "manager_y").patch(f"{_people_url(world, 'b')}/{owner.pk}", {"note": "x"}), 404)
    with community_scope(world.a.community.pk):
        assert Person.objects.get(pk=owner.pk).note == "腿脚不便"


def test_reveal_returns_the_clear_value_and_audits_it(world: World) -> None:
    owner = world.a.people[0]
    url = f"{_people_url(world)}/{owner.pk}/reveal"
    before = AuditEntry.objects.filter(action="personal_data.reveal").count()
    response = Api(world, "steward").post(url, {"field": "phone", "reason": "回访独居老人"})
    assert response.status_code == 200, response.content
    assert response.json() == {"person_id": owner.pk, "field": "phone", "value": "13900000001"}
    entry = AuditEntry.objects.filter(action="personal_data.reveal").latest("id")
    assert entry.actor_id == world.user("steward").pk and entry.after["reason"] == "回访独居老人"
    assert AuditEntry.objects.filter(action="personal_data.reveal").count() == before + 1

    assert_error(Api(world, "steward").post(url, {"field": "password", "reason": "x-ray"}), 422)
    assert_error(Api(world, "steward").post(url, {"field": "phone"}), 422)
    assert_error(Api(world, "technician").post(url, {"field": "phone", "reason": "just curious"}), 403)
    assert_error(Api(world, "regulator").post(url, {"field": "phone", "reason": "just curious"}), 403)
    foreign = f"{_people_url(world, 'b')}/{owner.pk}/reveal"
    assert_error(Api(world, "manager_y").post(foreign, {"field": "phone", "reason": "just curious"}), 404)
    assert AuditEntry.objects.filter(action="personal_data.reveal").count() == before + 1


def test_add_and_end_occupancy(world: World) -> None:
    a = world.a.community.pk
    api = Api(world, "steward")
    tenant = api.post(_people_url(world), {"name": "李租客", "phone": "13611112222"}).json()
    home = world.a.homes[0]
    response = api.post(
        f"/communities/{a}/homes/{home.pk}/occupancies",
        {"person_id": tenant["id"], "role": "tenant", "starts_on": "2024-03-01"},
    )
    assert response.status_code == 201, response.content
    occupancy = response.json()
    assert occupancy["is_current"] and occupancy["home_label"] == "1栋1单元101"

    # Refusals: unknown role, a share for a tenant, a second full owner, a person from B, a home from B.
    occupancies = f"/communities/{a}/homes/{home.pk}/occupancies"
    assert_error(api.post(occupancies, {"person_id": tenant["id"], "role": "landlord"}), 422)
    assert_error(api.post(occupancies, {"person_id": tenant["id"], "role": "family", "share_percent": 10}), 400)
    assert_error(api.post(occupancies, {"person_id": tenant["id"], "role": "owner"}), 409)
    assert_error(api.post(occupancies, {"person_id": tenant["id"], "role": "co_owner", "share_percent": 0}), 422)
    assert_error(api.post(occupancies, {"person_id": world.b.people[0].pk, "role": "family"}), 404)
    foreign_home = f"/communities/{a}/homes/{world.b.homes[0].pk}/occupancies"
    assert_error(api.post(foreign_home, {"person_id": tenant["id"], "role": "tenant"}), 404)

    end_url = f"/communities/{a}/occupancies/{occupancy['id']}/end"
    assert_error(api.post(end_url, {"ends_on": "2020-01-01"}), 400)
    ended = api.post(end_url, {"ends_on": "2024-09-30"})
    assert ended.status_code == 200, ended.content
    assert ended.json()["ends_on"] == "2024-09-30" and ended.json()["is_current"] is False
    assert_error(api.post(end_url, {}), 409)
    with community_scope(a):
        assert Occupancy.objects.filter(person_id=tenant["id"]).count() == 1  # history kept, not deleted

    assert_error(Api(world, "technician").post(end_url, {}), 403)
    with community_scope(world.b.community.pk):
        foreign_occupancy = Occupancy.objects.get(person=world.b.people[0])
    assert_error(api.post(f"/communities/{a}/occupancies/{foreign_occupancy.pk}/end", {}), 404)
    with community_scope(world.b.community.pk):
        assert Occupancy.objects.get(pk=foreign_occupancy.pk).ends_on is None


def test_me_for_staff_and_residents(world: World) -> None:
    staff = Api(world, "manager_x").get("/me").json()
    assert staff["username"] == "manager_x" and staff["homes"] == []
    assert {c["community_id"] for c in staff["staff_communities"]} == {world.a.community.pk, world.c.community.pk}
    assert all(c["roles"] == ["manager"] for c in staff["staff_communities"])

    resident = Api(world, "resident_a").get("/me").json()
    assert resident["staff_communities"] == []
    assert resident["phone_masked"] == "139****0001"
    assert [h["home_id"] for h in resident["homes"]] == [world.a.homes[0].pk]
    assert resident["homes"][0]["my_role"] == "owner" and resident["homes"][0]["floor_area"] == "88.50"
    assert Api(world, "resident_a").get("/me/homes").json() == resident["homes"]


def test_household_only_for_a_home_you_live_in(world: World) -> None:
    a = world.a.community.pk
    home = world.a.homes[0]
    steward = Api(world, "steward")
    relative = steward.post(_people_url(world), {"name": "甲小区业主之子", "phone": "13522223333"}).json()
    steward.post(
        f"/communities/{a}/homes/{home.pk}/occupancies",
        {"person_id": relative["id"], "role": "family", "relation": "son"},
    )
    body = Api(world, "resident_a").get(f"/me/homes/{home.pk}/household").json()
    assert body["home"]["label"] == "1栋1单元101"
    members = {m["name"]: m for m in body["members"]}
    assert set(members) == {"甲小区业主", "甲小区业主之子"}
    assert members["甲小区业主"]["is_me"] and not members["甲小区业主之子"]["is_me"]
    assert members["甲小区业主之子"]["phone_masked"] == "135****3333" and members["甲小区业主之子"]["relation"] == "son"
    assert "13522223333" not in str(body)

    assert_error(Api(world, "resident_a").get(f"/me/homes/{world.a.homes[1].pk}/household"), 404)
    assert_error(Api(world, "resident_b").get(f"/me/homes/{home.pk}/household"), 404)
    assert_error(Api(world, "manager_x").get(f"/me/homes/{home.pk}/household"), 404)

    # Once the occupancy ends, the household is closed to them.
    with community_scope(a):
        own = Occupancy.objects.get(home=home, role="owner")
    steward.post(
        f"/communities/{a}/occupancies/{own.pk}/end",
        {"ends_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat()},
    )
    assert_error(Api(world, "resident_a").get(f"/me/homes/{home.pk}/household"), 404)
    assert Api(world, "resident_a").get("/me/homes").json() == []
