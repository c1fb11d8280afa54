"""Who may call the API: bearer tokens (issue, use, revoke, expire), the session with CSRF, and 401s."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from anju.core.models import ApiToken, AuditEntry
from anju.core.services import issue_api_token

from ..personas import World
from .conftest import BASE, Api, assert_error


def _bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_every_operation_refuses_anonymous_callers_with_401(world: World) -> None:
    from anju.api.api import api

    client = Client()
    sample = {"community_id": world.a.community.pk, "building_id": world.a.buildings[0].pk}
    schema = api.get_openapi_schema()
    checked = 0
    for path, methods in schema["paths"].items():
        url = path
        for name in ("community_id", "building_id", "home_id", "person_id", "occupancy_id", "token_id"):
            url = url.replace("{" + name + "}", str(sample.get(name, 1)))
        for method in methods:
            kwargs = {} if method == "get" else {"data": "{}", "content_type": "application/json"}
            response = getattr(client, method)(url, **kwargs)
            assert_error(response, 401, "unauthenticated")
            checked += 1
    assert checked >= 20


def test_a_token_authenticates_and_records_its_use(world: World) -> None:
    user = world.user("manager_x")
    token, secret = issue_api_token(user=user, name="script", actor=user)
    assert token.last_used_at is None
    response = Client().get(f"{BASE}/me", **_bearer(secret))
    assert response.status_code == 200
    assert response.json()["username"] == "manager_x"
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("header", ["Bearer anju_not-a-real-token", "Bearer nonsense", "Bearer "])
def test_an_unknown_token_is_401_even_with_a_valid_session(world: World, header: str) -> None:
    client = Client()
    client.force_login(world.user("manager_x"))
    assert client.get(f"{BASE}/me").status_code == 200
    response = client.get(f"{BASE}/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] in {"invalid_token", "unauthenticated"}


def test_revoked_and_expired_tokens_are_refused(world: World) -> None:
    user = world.user("steward")
    _, revoked_secret = issue_api_token(user=user, name="old", actor=user)
    api = Api(world, "steward")
    revoked = ApiToken.objects.get(user=user, name="old")
    response = api.delete(f"/tokens/{revoked.pk}")
    assert response.status_code == 200
    assert response.json()["is_active"] is False and response.json()["revoked_at"]
    assert_error(Client().get(f"{BASE}/me", **_bearer(revoked_secret)), 401, "invalid_token")

    _, expired_secret = issue_api_token(
        user=user, name="expired", expires_at=timezone.now() - dt.timedelta(seconds=1), actor=user
    )
    assert_error(Client().get(f"{BASE}/me", **_bearer(expired_secret)), 401, "invalid_token")

    world.user("technician").is_active = False
    world.user("technician").save()
    deactivated = Api(world, "technician")
    assert_error(deactivated.get("/me"), 401)


def test_issue_list_and_revoke_own_tokens(world: World) -> None:
    api = Api(world, "manager_x")
    before = AuditEntry.objects.filter(action="api_token.issue").count()
    response = api.post("/tokens", {"name": "  nightly export  ", "kind": "app", "expires_in_days": 30})
    assert response.status_code == 201, response.content
    issued = response.json()
    assert issued["name"] == "nightly export" and issued["kind"] == "app"
    assert issued["secret"].startswith("anju_") and issued["secret"].startswith(issued["prefix"])
    expires = dt.datetime.fromisoformat(issued["expires_at"])
    assert dt.timedelta(days=29) < expires - timezone.now() <= dt.timedelta(days=30)
    assert AuditEntry.objects.filter(action="api_token.issue").count() == before + 1

    # The new secret works on its own, and is never shown again.
    assert Client().get(f"{BASE}/me", **_bearer(issued["secret"])).json()["username"] == "manager_x"
    listing = api.get("/tokens").json()
    assert {t["name"] for t in listing["items"]} == {"tests", "nightly export"}
    assert listing["count"] == 2
    assert "secret" not in json.dumps(listing)

    # Someone else's tokens are neither listed nor revocable.
    other = Api(world, "manager_y")
    assert {t["name"] for t in other.get("/tokens").json()["items"]} == {"tests"}
    assert_error(other.delete(f"/tokens/{issued['id']}"), 404, "not_found")
    assert ApiToken.objects.get(pk=issued["id"]).revoked_at is None

    assert api.delete(f"/tokens/{issued['id']}").status_code == 200
    assert_error(Client().get(f"{BASE}/me", **_bearer(issued["secret"])), 401)


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "   "}, {"name": "x", "kind": "root"}, {"name": "x", "expires_in_days": 0}],
)
def test_bad_token_requests_issue_nothing(world: World, body: dict) -> None:
    api = Api(world, "manager_x")
    count = ApiToken.objects.count()
    response = api.post("/tokens", body)
    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code)
    assert ApiToken.objects.count() == count


def test_session_callers_need_the_csrf_token_for_writes(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.user("manager_x"))
    community_id = world.a.community.pk
    url = f"{BASE}/communities/{community_id}/buildings"
    assert client.get(url).status_code == 200

    body = json.dumps({"number": "9", "floors_above": 3})
    refused = client.post(url, data=body, content_type="application/json")
    assert_error(refused, 403, "csrf_failed")

    token = "k" * 32  # a CSRF secret as the cookie holds it; the header must repeat it
    client.cookies["csrftoken"] = token
    wrong = client.post(url, data=body, content_type="application/json", HTTP_X_CSRFTOKEN="j" * 32)
    assert_error(wrong, 403, "csrf_failed")
    accepted = client.post(url, data=body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["number"] == "9"


def test_an_anonymous_write_is_401_not_a_csrf_refusal(world: World) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"{BASE}/communities/{world.a.community.pk}/buildings", data="{}", content_type="application/json"
    )
    assert_error(response, 401, "unauthenticated")
