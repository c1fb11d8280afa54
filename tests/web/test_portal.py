"""The resident portal shows only the homes a user lives in now, with the household's phones masked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from anju.residents import services as residents
from anju.residents.models import Occupancy
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def household(world):
    """Resident A's home gets a tenant and a family member; resident A also rents a second home."""
    estate = world.a
    with community_scope(estate.community.pk):
        tenant = residents.create_person(community=estate.community, name="租客王", phone="13811112222", actor=None)
        child = residents.create_person(community=estate.community, name="小李", actor=None)
        residents.add_occupancy(
            home=estate.homes[0], person=tenant, role="tenant", starts_on=dt.date(2024, 3, 1), actor=None
        )
        residents.add_occupancy(
            home=estate.homes[0], person=child, role="family", starts_on=dt.date(2021, 5, 1), actor=None
        )
        residents.add_occupancy(
            home=estate.homes[1], person=estate.people[0], role="tenant", starts_on=dt.date(2023, 1, 1), actor=None
        )
    return world


def test_portal_needs_log_in(client, world):
    response = client.get(reverse("portal:home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_my_homes_lists_current_homes_with_role_and_community(client, household):
    client.force_login(household.user("resident_a"))
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    rows = {(o.home_id, o.role, o.community.name) for o in response.context["occupancies"]}
    a = household.a
    assert rows == {(a.homes[0].pk, "owner", a.community.name), (a.homes[1].pk, "tenant", a.community.name)}
    body = response.content.decode()
    assert reverse("portal:home_detail", args=[a.homes[0].pk]) in body
    assert household.b.community.name not in body


def test_home_detail_shows_household_with_masked_phones(client, household):
    client.force_login(household.user("resident_a"))
    home = household.a.homes[0]
    response = client.get(reverse("portal:home_detail", args=[home.pk]))
    assert response.status_code == 200
    assert response.context["home"].pk == home.pk
    members = [(o.person.name, o.role) for o in response.context["household"]]
    assert members == [("甲小区业主", "owner"), ("租客王", "tenant"), ("小李", "family")]
    body = response.content.decode()
    assert "138****2222" in body and "139****0001" in body
    assert "13811112222" not in body and "13900000001" not in body
    assert "88.50" in body
    assert "2024-03-01" in body


def test_home_of_another_community_is_404(client, household):
    client.force_login(household.user("resident_a"))
    other = household.b.homes[0]
    assert client.get(reverse("portal:home_detail", args=[other.pk])).status_code == 404


def test_other_home_in_my_own_community_is_404(client, household):
    client.force_login(household.user("resident_a"))
    neighbour = household.a.homes[2]
    assert client.get(reverse("portal:home_detail", args=[neighbour.pk])).status_code == 404


def test_home_i_moved_out_of_is_404_and_gone_from_my_list(client, household):
    estate = household.a
    with community_scope(estate.community.pk):
        rental = Occupancy.objects.get(home=estate.homes[1], person=estate.people[0])
        residents.end_occupancy(rental, ends_on=timezone.localdate() - dt.timedelta(days=1), actor=None)
    client.force_login(household.user("resident_a"))
    assert client.get(reverse("portal:home_detail", args=[estate.homes[1].pk])).status_code == 404
    listed = [o.home_id for o in client.get(reverse("portal:home")).context["occupancies"]]
    assert listed == [estate.homes[0].pk]


def test_resident_of_b_cannot_see_a(client, household):
    client.force_login(household.user("resident_b"))
    assert client.get(reverse("portal:home_detail", args=[household.a.homes[0].pk])).status_code == 404
    listed = [o.home_id for o in client.get(reverse("portal:home")).context["occupancies"]]
    assert listed == [household.b.homes[0].pk]


def test_staff_member_without_a_home_sees_an_empty_portal(client, world):
    client.force_login(world.user("manager_x"))
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    assert response.context["occupancies"] == []
    assert client.get(reverse("portal:home_detail", args=[world.a.homes[0].pk])).status_code == 404


def test_profile_shows_name_and_masked_phone(client, world):
    client.force_login(world.user("resident_a"))
    body = client.get(reverse("portal:profile")).content.decode()
    assert "甲小区业主" in body
    assert "139****0001" in body
    assert "13900000001" not in body


def test_profile_changes_password_and_keeps_me_logged_in(client, world):
    resident = world.user("resident_a")
    client.force_login(resident)
    new = "my-new-portal-pass-9"
    response = client.post(
        reverse("portal:profile"), {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.check_password(new)
    assert client.get(reverse("portal:home")).status_code == 200
    assert AuditEntry.objects.filter(action="user.password_change", object_id=str(resident.pk)).exists()


@pytest.mark.parametrize(
    ("old", "new1", "new2", "field"),
    [
        ("wrong-old-pass", "my-new-portal-pass-9", "my-new-portal-pass-9", "old_password"),
        (PASSWORD, "my-new-portal-pass-9", "different-pass-9", "new_password2"),
        (PASSWORD, "12345678", "12345678", "new_password1"),
    ],
)
def test_profile_password_change_refusals(client, world, old, new1, new2, field):
    resident = world.user("resident_a")
    client.force_login(resident)
    response = client.post(
        reverse("portal:profile"), {"old_password": old, "new_password1": new1, "new_password2": new2}
    )
    assert response.status_code == 200
    assert field in response.context["form"].errors
    resident.refresh_from_db()
    assert resident.check_password(PASSWORD)
