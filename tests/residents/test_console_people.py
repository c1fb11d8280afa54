"""Console pages about people: a home's household, the people register, revealing numbers, stewards."""

from __future__ import annotations

import pytest
from django.urls import reverse

from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from anju.residents import services
from anju.residents.models import BuildingLeader, Consent, Occupancy, Person, StewardAssignment, Vehicle
from tests.personas import CONTRACT_START, World

pytestmark = pytest.mark.django_db

VALID_ID = "11010519491231002X"


def _url(name: str, world: World, **kwargs: int) -> str:
    return reverse(f"console:{name}", kwargs={"community_id": world.a.community.pk, **kwargs})


def _as(client, world: World, persona: str):
    client.force_login(world.user(persona))
    return client


def _home_url(world: World, index: int = 0) -> str:
    return _url("home", world, home_id=world.a.homes[index].pk)


def _person_url(world: World, name: str = "person") -> str:
    return _url(name, world, person_id=world.a.people[0].pk)


def _people_count(world: World) -> int:
    with community_scope(world.a.community.pk):
        return Person.objects.count()


# --- Tenancy and permissions -----------------------------------------------------------------------


@pytest.mark.parametrize("page", ["home", "people", "person", "stewards"])
def test_other_tenant_gets_404(client, world, page):
    urls = {
        "home": _home_url(world),
        "people": _url("people", world),
        "person": _person_url(world),
        "stewards": _url("stewards", world),
    }
    assert _as(client, world, "manager_y").get(urls[page]).status_code == 404


def test_records_of_another_community_are_not_found_under_mine(client, world):
    client = _as(client, world, "manager_x")
    assert client.get(_url("home", world, home_id=world.b.homes[0].pk)).status_code == 404
    assert client.get(_url("person", world, person_id=world.b.people[0].pk)).status_code == 404


def test_roles_without_permission_get_403(client, world):
    assert _as(client, world, "technician").get(_url("people", world)).status_code == 403
    assert _as(client, world, "technician").get(_person_url(world)).status_code == 403
    assert _as(client, world, "steward").get(_url("stewards", world)).status_code == 403
    assert _as(client, world, "regulator").get(_url("people", world)).status_code == 403


# --- Home and household ----------------------------------------------------------------------------


def test_home_shows_household_history_steward_and_vehicles(client, world):
    owner = world.a.people[0]
    home = world.a.homes[0]
    tenant = services.create_person(community=world.a.community, name="租客", actor=None)
    old = services.add_occupancy(home=home, person=tenant, role="tenant", starts_on=CONTRACT_START, actor=None)
    services.end_occupancy(old, ends_on=CONTRACT_START, actor=None)
    services.register_vehicle(person=owner, plate="京A12345", actor=None)
    services.assign_steward(homes=[home], steward=world.user("steward"), actor=None)
    response = _as(client, world, "steward").get(_home_url(world))
    assert response.status_code == 200
    assert [o.person.name for o in response.context["current"]] == [owner.name]
    assert [o.pk for o in response.context["history"]] == [old.pk]
    assert response.context["steward"] == world.user("steward")
    assert [v.plate for v in response.context["vehicles"]] == ["京A12345"]


def test_technician_sees_home_but_not_its_people(client, world):
    response = _as(client, world, "technician").get(_home_url(world))
    assert response.status_code == 200
    assert "current" not in response.context
    assert world.a.people[0].name not in response.content.decode()


def test_add_new_person_as_tenant(client, world):
    response = _as(client, world, "steward").post(
        _home_url(world, 1),
        {
            "action": "add_occupancy",
            "add-name": "李四",
            "add-phone": "13812345678",
            "add-id_number": VALID_ID,
            "add-role": "tenant",
            "add-starts_on": "2024-03-01",
        },
    )
    assert response.status_code == 302
    person = services.find_person_by_phone(world.a.community.pk, "13812345678")
    assert person is not None and person.name == "李四"
    with community_scope(world.a.community.pk):
        occupancy = Occupancy.objects.get(person=person)
    assert occupancy.home_id == world.a.homes[1].pk and occupancy.role == "tenant"
    assert str(occupancy.starts_on) == "2024-03-01"


def test_add_existing_person_found_by_mobile(client, world):
    owner = world.a.people[0]
    response = _as(client, world, "manager_x").post(
        _home_url(world, 2),
        {
            "action": "add_occupancy",
            "add-existing": "139 0000 0001",
            "add-role": "owner",
            "add-starts_on": "2024-01-01",
        },
    )
    assert response.status_code == 302
    with community_scope(world.a.community.pk):
        assert Occupancy.objects.filter(person=owner, home=world.a.homes[2]).exists()


def test_bad_mobile_shows_form_error_and_stores_nothing(client, world):
    before_people = _people_count(world)
    before_audit = AuditEntry.objects.count()
    response = _as(client, world, "steward").post(
        _home_url(world, 1),
        {
            "action": "add_occupancy",
            "add-name": "王五",
            "add-phone": "12345",
            "add-role": "tenant",
            "add-starts_on": "2024-03-01",
        },
    )
    assert response.status_code == 200
    assert "phone" in response.context["add_form"].errors
    assert _people_count(world) == before_people
    assert AuditEntry.objects.count() == before_audit


def test_refused_occupancy_does_not_leave_the_new_person_behind(client, world):
    # Home 0 already has a sole owner: a second full owner would exceed 100%.
    before = _people_count(world)
    response = _as(client, world, "manager_x").post(
        _home_url(world, 0),
        {"action": "add_occupancy", "add-name": "赵六", "add-role": "owner", "add-starts_on": "2024-03-01"},
    )
    assert response.status_code == 200
    assert "share_percent" in response.context["add_form"].errors
    assert _people_count(world) == before


def test_unknown_existing_person_is_a_form_error(client, world):
    response = _as(client, world, "manager_x").post(
        _home_url(world, 1),
        {"action": "add_occupancy", "add-existing": "13700000000", "add-role": "tenant", "add-starts_on": "2024-03-01"},
    )
    assert response.status_code == 200
    assert "existing" in response.context["add_form"].errors


def test_end_occupancy_keeps_history(client, world):
    with community_scope(world.a.community.pk):
        occupancy = Occupancy.objects.get(person=world.a.people[0])
    response = _as(client, world, "steward").post(
        _home_url(world), {"action": "end_occupancy", "end-occupancy": occupancy.pk, "end-ends_on": "2024-06-30"}
    )
    assert response.status_code == 302
    occupancy.refresh_from_db()
    assert str(occupancy.ends_on) == "2024-06-30"
    response = _as(client, world, "steward").post(
        _home_url(world), {"action": "end_occupancy", "end-occupancy": occupancy.pk, "end-ends_on": "2024-07-30"}
    )
    assert response.status_code == 200 and response.context["end_form"].errors


def test_technician_cannot_post_household_changes(client, world):
    response = _as(client, world, "technician").post(
        _home_url(world, 1),
        {"action": "add_occupancy", "add-name": "王五", "add-role": "tenant", "add-starts_on": "2024-03-01"},
    )
    assert response.status_code == 403


# --- People ----------------------------------------------------------------------------------------


def test_people_search_by_name_mobile_and_id_number(client, world):
    community = world.a.community
    services.create_person(community=community, name="王芳", phone="13812345678", id_number=VALID_ID, actor=None)
    services.create_person(community=community, name="王小明", actor=None)
    client = _as(client, world, "steward")
    names = lambda response: [p.name for p, _homes in response.context["rows"]]  # noqa: E731
    assert names(client.get(_url("people", world), {"q": "王"})) == ["王小明", "王芳"]
    by_phone = client.get(_url("people", world), {"q": "138 1234 5678"})
    assert names(by_phone) == ["王芳"]
    body = by_phone.content.decode()
    assert "138****5678" in body and "13812345678" not in body
    assert VALID_ID not in body and "110105********002X" in body
    assert names(client.get(_url("people", world), {"q": VALID_ID.lower()})) == ["王芳"]
    # A partial number is not a name and matches nobody: no substring search on personal numbers.
    assert names(client.get(_url("people", world), {"q": "1381234"})) == []


def test_people_list_shows_current_homes(client, world):
    response = _as(client, world, "manager_x").get(_url("people", world))
    rows = response.context["rows"]
    assert len(rows) == 1
    person, homes = rows[0]
    assert person == world.a.people[0] and len(homes) == 1 and "101" in homes[0]


def test_person_detail_edit_vehicle_and_consent(client, world):
    person = world.a.people[0]
    client = _as(client, world, "steward")
    response = client.get(_person_url(world))
    assert response.status_code == 200 and response.context["person"] == person
    assert (
        client.post(
            _person_url(world), {"action": "update", "update-name": "新名字", "update-phone": "13700001111"}
        ).status_code
        == 302
    )
    person.refresh_from_db()
    assert person.name == "新名字" and person.phone_masked == "137****1111"
    assert client.post(_person_url(world), {"action": "vehicle", "vehicle-plate": "沪B 88888"}).status_code == 302
    with community_scope(world.a.community.pk):
        vehicle = Vehicle.objects.get(person=person)
    assert vehicle.plate == "沪B88888"
    assert client.post(_person_url(world), {"action": "remove_vehicle", "vehicle": vehicle.pk}).status_code == 302
    vehicle.refresh_from_db()
    assert vehicle.removed_on is not None
    assert (
        client.post(
            _person_url(world), {"action": "consent", "consent-purpose": "notifications", "consent-text_version": "2"}
        ).status_code
        == 302
    )
    with community_scope(world.a.community.pk):
        consent = Consent.objects.get(person=person)
    assert consent.text_version == "2"
    assert client.post(_person_url(world), {"action": "withdraw_consent", "consent": consent.pk}).status_code == 302
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None


def test_person_bad_id_number_is_a_form_error_and_changes_nothing(client, world):
    person = world.a.people[0]
    response = _as(client, world, "steward").post(
        _person_url(world), {"action": "update", "update-name": "改了", "update-id_number": "110105194912310021"}
    )
    assert response.status_code == 200
    assert "id_number" in response.context["forms"]["update"].errors
    person.refresh_from_db()
    assert person.name != "改了" and person.id_number_masked == ""


def test_technician_and_regulator_cannot_edit_people(client, world):
    assert _as(client, world, "technician").post(_person_url(world), {"action": "vehicle"}).status_code == 403


# --- Reveal ----------------------------------------------------------------------------------------


def test_reveal_shows_full_number_and_writes_audit_row(client, world):
    person = world.a.people[0]
    before = AuditEntry.objects.filter(action="personal_data.reveal").count()
    response = _as(client, world, "steward").post(_person_url(world, "person_reveal"), {"field": "phone"})
    assert response.status_code == 200
    assert "13900000001" in response.content.decode()
    entries = AuditEntry.objects.filter(action="personal_data.reveal")
    assert entries.count() == before + 1
    entry = entries.first()
    assert entry.actor_id == world.user("steward").pk
    assert entry.object_id == str(person.pk) and entry.community_id == world.a.community.pk
    assert entry.after["field"] == "phone"
    assert "no-cache" in response.get("Cache-Control", "") or "no-store" in response.get("Cache-Control", "")


def test_reveal_with_htmx_returns_only_the_value(client, world):
    response = _as(client, world, "steward").post(
        _person_url(world, "person_reveal"), {"field": "phone"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode().strip()
    assert body.startswith("<span") and "13900000001" in body


def test_reveal_refused_for_technician_other_tenant_and_get(client, world):
    before = AuditEntry.objects.filter(action="personal_data.reveal").count()
    assert (
        _as(client, world, "technician").post(_person_url(world, "person_reveal"), {"field": "phone"}).status_code
        == 403
    )
    assert (
        _as(client, world, "manager_y").post(_person_url(world, "person_reveal"), {"field": "phone"}).status_code == 404
    )
    assert (
        _as(client, world, "regulator").post(_person_url(world, "person_reveal"), {"field": "phone"}).status_code == 403
    )
    assert _as(client, world, "manager_x").get(_person_url(world, "person_reveal")).status_code == 405
    assert AuditEntry.objects.filter(action="personal_data.reveal").count() == before


def test_reveal_of_unknown_field_is_400_without_audit(client, world):
    before = AuditEntry.objects.count()
    response = _as(client, world, "manager_x").post(_person_url(world, "person_reveal"), {"field": "note"})
    assert response.status_code == 400
    assert AuditEntry.objects.count() == before


# --- Stewards --------------------------------------------------------------------------------------


def test_stewards_page_lists_stewards_with_counts(client, world):
    services.assign_steward(homes=world.a.homes[:3], steward=world.user("steward"), actor=None)
    response = _as(client, world, "manager_x").get(_url("stewards", world))
    assert response.status_code == 200
    assert [(user.username, count, current) for user, count, current in response.context["rows"]] == [
        ("steward", 3, True)
    ]
    assert response.context["unassigned"] == 9


def test_manager_of_community_c_sees_no_steward_of_a(client, world):
    response = _as(client, world, "manager_x").get(
        reverse("console:stewards", kwargs={"community_id": world.c.community.pk})
    )
    assert response.status_code == 200 and response.context["rows"] == []


def test_assign_building_and_selected_homes(client, world):
    client = _as(client, world, "manager_x")
    steward = world.user("steward")
    building = world.a.buildings[1]
    response = client.post(
        _url("stewards", world),
        {"action": "assign", "assign-steward": steward.pk, "assign-building": building.pk, "assign-home_numbers": ""},
    )
    assert response.status_code == 302
    with community_scope(world.a.community.pk):
        assert (
            StewardAssignment.objects.filter(steward=steward, home__building=building, ends_on__isnull=True).count()
            == 6
        )
    response = client.post(
        _url("stewards", world),
        {
            "action": "assign",
            "assign-steward": steward.pk,
            "assign-building": world.a.buildings[0].pk,
            "assign-home_numbers": "101，102, 999",
        },
    )
    assert response.status_code == 200
    assert "home_numbers" in response.context["forms"]["assign"].errors
    with community_scope(world.a.community.pk):
        assert StewardAssignment.objects.filter(home__building=world.a.buildings[0]).count() == 0


def test_auto_balance_previews_then_applies(client, world):
    client = _as(client, world, "manager_x")
    steward = world.user("steward")
    data = {"balance-stewards": [steward.pk], "balance-target": "50"}
    response = client.post(_url("stewards", world), {**data, "action": "preview_balance"})
    assert response.status_code == 200
    assert response.context["preview"] == [(steward, 12)]
    with community_scope(world.a.community.pk):
        assert not StewardAssignment.objects.exists()
    response = client.post(_url("stewards", world), {**data, "action": "apply_balance"})
    assert response.status_code == 302
    with community_scope(world.a.community.pk):
        assert StewardAssignment.objects.filter(steward=steward, ends_on__isnull=True).count() == 12
    assert AuditEntry.objects.filter(action="steward.auto_balance", community_id=world.a.community.pk).exists()


def test_auto_balance_refuses_a_steward_of_another_community(client, world):
    response = _as(client, world, "manager_y").post(
        reverse("console:stewards", kwargs={"community_id": world.b.community.pk}),
        {"action": "apply_balance", "balance-stewards": [world.user("steward").pk], "balance-target": "50"},
    )
    assert response.status_code == 200
    assert response.context["forms"]["balance"].errors
    with community_scope(world.b.community.pk):
        assert not StewardAssignment.objects.exists()


def test_set_building_leader_by_mobile(client, world):
    building = world.a.buildings[0]
    response = _as(client, world, "manager_x").post(
        _url("stewards", world),
        {"action": "set_leader", "leader-building": building.pk, "leader-person": "13900000001"},
    )
    assert response.status_code == 302
    with community_scope(world.a.community.pk):
        leader = BuildingLeader.objects.get(building=building, ends_on__isnull=True)
    assert leader.person == world.a.people[0]
    # A resident of community b cannot be made leader here: not found through a's blind index scope.
    response = _as(client, world, "manager_x").post(
        _url("stewards", world),
        {"action": "set_leader", "leader-building": building.pk, "leader-person": "13900000002"},
    )
    assert response.status_code == 200 and "person" in response.context["forms"]["leader"].errors
