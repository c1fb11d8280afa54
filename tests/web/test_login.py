"""Where ``/`` sends each persona, log-in by user name or mobile, log-out, and the django-axes lock-out."""

from __future__ import annotations

import pytest
from django.urls import reverse

from anju.core.models import User
from anju.core.services import create_user
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, username: str, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == reverse("login")


@pytest.mark.parametrize("persona", ["manager_x", "steward", "technician", "regulator"])
def test_staff_and_regulators_are_sent_to_the_console(client, world, persona):
    client.force_login(world.user(persona))
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == "/console/"


def test_resident_is_sent_to_the_portal(client, world):
    client.force_login(world.user("resident_a"))
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == reverse("portal:home")


def test_user_with_no_community_sees_a_friendly_page_not_an_error(client, world):
    loner = create_user(username="loner", password=PASSWORD, actor=None)
    client.force_login(loner)
    response = client.get("/")
    assert response.status_code == 200
    assert "web/no_community.html" in [t.name for t in response.templates]


def test_login_form_has_one_field_for_user_name_or_mobile(client):
    response = client.get(reverse("login"))
    form = response.context["form"]
    assert list(form.fields) == ["username", "password"]
    assert "手机号" in str(form.fields["username"].label)  # zh-hans is the default language


def test_staff_log_in_with_user_name(client, world):
    response = _login(client, "manager_x")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(world.user("manager_x").pk)


@pytest.mark.parametrize("typed", ["13900000001", "139 0000 0001", "+86 139-0000-0001"])
def test_residents_log_in_with_their_mobile_number_as_they_type_it(client, world, typed):
    response = _login(client, typed)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(world.user("resident_a").pk)
    assert client.get(response.url, follow=True).redirect_chain[-1][0] == reverse("portal:home")


def test_wrong_password_stays_on_the_form_with_an_error(client, world):
    response = _login(client, "13900000001", "wrong-password")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_ends_the_session(client, world):
    client.force_login(world.user("resident_a"))
    assert client.get(reverse("logout")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(client, world):
    for _attempt in range(5):
        response = _login(client, "13900000001", "wrong-password")
    # The fifth failure already answers with the calm lock-out page, not a 500.
    assert response.status_code == 429
    assert "web/locked_out.html" in [t.name for t in response.templates]

    response = _login(client, "13900000001", PASSWORD)
    assert response.status_code == 429
    assert "web/locked_out.html" in [t.name for t in response.templates]
    assert "_auth_user_id" not in client.session
    body = response.content.decode()
    assert reverse("sms_reset_request") in body
    assert response.context["cooloff_timedelta"].total_seconds() == 30 * 60


def test_lock_out_of_one_name_does_not_lock_another_account(client, world):
    for _attempt in range(5):
        _login(client, "13900000001", "wrong-password")
    response = _login(client, "manager_x")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(User.objects.get(username="manager_x").pk)
