"""The tenancy matrix: every console page, portal page and API operation, walked as every persona.

New URLs and API operations are picked up automatically from the URL resolver and the OpenAPI
schema. A URL parameter this file has no sample for fails the test, so adding an endpoint means
saying here which object of community A it should be tried with.

The rule checked: a persona is refused everything of a community it has no part in (404, naming
nothing of it), refused objects of another community smuggled under its own community's URL (404),
and the anonymous visitor is sent to log in (pages) or gets 401 (API). Refusals write nothing.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from anju.core.models import ApiToken, AuditEntry, Notification
from anju.core.services import issue_api_token
from anju.core.tenancy import community_scope
from anju.estates.models import ImportBatch
from anju.residents.models import Occupancy

from .personas import World

SKIP_PREFIXES = ("admin/", "i18n/", "api/", "static/", "media/", "__debug__/")
PUBLIC_NAMES = {
    "home",
    "login",
    "logout",
    "health",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "sms_reset_request",
    "sms_reset_verify",
    "set_language",
}


@dataclass(frozen=True)
class Route:
    pattern: str
    name: str
    params: tuple[str, ...]


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> list[Route]:
    routes: list[Route] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            routes += _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            full = prefix + str(entry.pattern)
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", full))
            routes.append(Route(full, name, params))
    return routes


def _machine_endpoints() -> set[str]:
    """Patterns of the apps' ``public_urlpatterns``: endpoints for devices, door controllers and
    payment providers, which authenticate the caller themselves (tokens, signatures) rather than by
    a user's session. Their own tests cover who may call them; this walk covers people."""
    from django.apps import apps

    patterns: set[str] = set()
    for config in apps.get_app_configs():
        if config.name.startswith("anju."):
            try:
                module = importlib.import_module(f"{config.name}.urls")
            except ModuleNotFoundError:
                continue
            patterns |= {str(p.pattern) for p in getattr(module, "public_urlpatterns", [])}
    return patterns


def page_routes() -> list[Route]:
    machine = _machine_endpoints()
    routes = [r for r in _walk(get_resolver().url_patterns) if not r.pattern.startswith(SKIP_PREFIXES)]
    return [
        r
        for r in routes
        if r.name not in PUBLIC_NAMES and r.pattern not in machine and "(?P" not in r.pattern and "^" not in r.pattern
    ]


def _fill(pattern: str, values: dict[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise AssertionError(f"no sample value for URL parameter {key!r} in {pattern!r}: add one to samples()")
        return str(values[key])

    path = re.sub(r"<(?:\w+:)?(\w+)>", replace, pattern)
    return "/" + path


def samples(world: World, estate_name: str) -> dict[str, Any]:
    """Ids of real objects of one community, by URL parameter name."""
    estate = getattr(world, estate_name)
    community_id = estate.community.pk
    with community_scope(community_id):
        occupancy = Occupancy.objects.filter(home=estate.homes[0]).first()
        unit_id = estate.homes[0].unit_id
    values: dict[str, Any] = {
        "community_id": community_id,
        "building_id": estate.buildings[0].pk,
        "unit_id": unit_id,
        "home_id": estate.homes[0].pk,
        "person_id": estate.people[0].pk,
        "occupancy_id": occupancy.pk if occupancy else 0,
        "field": "phone",
    }
    owner = world.user("manager_x") if estate_name in ("a", "c") else world.user("manager_y")
    batch = ImportBatch.objects.create(
        community_id=community_id, uploaded_by=owner, original_name="x.csv", kind="homes"
    )
    values["batch_id"] = batch.pk
    # A notification of the estate's manager: anybody else reading or marking it gets a 404.
    values["notification_id"] = Notification.objects.create(recipient=owner, kind="matrix", title="matrix").pk
    for app_samples in _app_samples():
        extra = app_samples(world, estate_name)
        # Two apps naming different objects by one URL parameter would test one app's URL with the
        # other's id (a 404 that proves nothing): parameter names must be unique across apps.
        clash = sorted(set(extra) & set(values) - SHARED_PARAMETERS)
        assert not clash, f"{app_samples.__module__} reuses URL parameter names {clash}: give them app-specific names"
        values.update({key: value for key, value in extra.items() if key not in values})
    return values


# URL parameters several apps use for the same kind of object (any of community A's devices will do).
SHARED_PARAMETERS = {"device_id"}


def _app_samples() -> list[Any]:
    """Each app's ``tests/<app>/matrix_samples.py`` ``samples(world, estate_name)``: ids of real
    objects of that estate's community for the URL parameters the app introduces."""
    here = Path(__file__).resolve().parent
    found = []
    for path in sorted(here.glob("*/matrix_samples.py")):
        module = importlib.import_module(f"tests.{path.parent.name}.matrix_samples")
        found.append(module.samples)
    return found


def login(client: Client, persona: str, world: World) -> Client:
    if persona != "anonymous":
        client.force_login(world.user(persona))
    return client


@pytest.fixture
def matrix_world(world: World) -> World:
    return world


FOREIGN = {  # persona -> an estate it has no part in at all
    "manager_x": "b",
    "manager_y": "a",
    "steward": "c",
    "technician": "b",
    "regulator": "c",
    "resident_a": "b",
    "resident_b": "a",
    "finance": "b",
    "guard": "c",
}


def _assert_refused(response: Any, url: str, world: World, estate_name: str, *, allow_405: bool = False) -> None:
    # A POST-only page may answer a GET with 405 before looking at the community: that names nothing.
    allowed = (404, 405) if allow_405 else (404,)
    assert response.status_code in allowed, f"{url}: expected 404, got {response.status_code}"
    community = getattr(world, estate_name).community
    body = response.content.decode(errors="replace")
    assert community.name not in body, f"{url}: the refusal names the other community"


@pytest.mark.parametrize("persona", sorted(FOREIGN))
def test_pages_of_a_foreign_community_are_refused(matrix_world: World, persona: str) -> None:
    world = matrix_world
    client = login(Client(), persona, world)
    foreign = FOREIGN[persona]
    values = samples(world, foreign)
    audit_before = AuditEntry.objects.count()
    checked = 0
    for route in page_routes():
        if "community_id" not in route.params and "home_id" not in route.params:
            continue
        url = _fill(route.pattern, values)
        _assert_refused(client.get(url), url, world, foreign, allow_405=True)
        _assert_refused(client.post(url, {}), url, world, foreign)
        checked += 1
    assert AuditEntry.objects.count() == audit_before, "a refused request wrote something"
    assert checked > 0 or not page_routes()


@pytest.mark.parametrize("persona", ["manager_y", "resident_b"])
def test_objects_of_another_community_under_your_own_community_are_refused(matrix_world: World, persona: str):
    world = matrix_world
    client = login(Client(), persona, world)
    own = samples(world, "b")
    foreign = samples(world, "a")
    for route in page_routes():
        object_params = [p for p in route.params if p not in ("community_id", "field")]
        if not object_params:
            continue
        values = {**own, **{p: foreign[p] for p in object_params if p in foreign}}
        url = _fill(route.pattern, values)
        response = client.get(url)
        assert response.status_code in (403, 404, 405), f"{url}: got {response.status_code}"
        response = client.post(url, {})
        assert response.status_code in (403, 404), f"POST {url}: got {response.status_code}"


def test_anonymous_visitors_are_sent_to_log_in(matrix_world: World) -> None:
    client = Client()
    values = samples(matrix_world, "a")
    for route in page_routes():
        url = _fill(route.pattern, values)
        for response in (client.get(url), client.post(url, {})):
            if response.status_code == 405 and response.request["REQUEST_METHOD"] == "GET":
                continue
            assert response.status_code in (302, 401, 403, 404), f"{url}: got {response.status_code}"
            if response.status_code == 302:
                assert "/login/" in response["Location"], url


def test_own_pages_work_for_the_managing_company(matrix_world: World) -> None:
    """The same walk as manager X over community A must not refuse or fail: the matrix would pass
    vacuously if every page 404'd for everyone."""
    client = login(Client(), "manager_x", matrix_world)
    values = samples(matrix_world, "a")
    for route in page_routes():
        if "community_id" not in route.params:
            continue
        url = _fill(route.pattern, values)
        response = client.get(url)
        assert response.status_code in (200, 302, 405), f"{url}: got {response.status_code}"


# --- API --------------------------------------------------------------------------------------------


def api_operations() -> list[tuple[str, str, tuple[str, ...]]]:
    from anju.api.api import api

    schema = api.get_openapi_schema()
    operations = []
    for path, methods in schema["paths"].items():
        for method in methods:
            if method in ("get", "post", "put", "patch", "delete"):
                operations.append((method, path, tuple(re.findall(r"{(\w+)}", path))))
    return operations


def _api_fill(path: str, values: dict[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise AssertionError(f"no sample value for API parameter {key!r} in {path!r}: add one to samples()")
        return str(values[key])

    return re.sub(r"{(\w+)}", replace, path)


def _api_call(client: Client, method: str, url: str, **headers: Any) -> Any:
    if method in ("get", "delete"):
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(url, data="{}", content_type="application/json", **headers)


def _token_for(world: World, persona: str) -> str:
    _, secret = issue_api_token(user=world.user(persona), name="matrix", actor=world.user(persona))
    return secret


@pytest.mark.parametrize("persona", sorted(FOREIGN))
def test_api_refuses_foreign_communities(matrix_world: World, persona: str) -> None:
    world = matrix_world
    foreign = FOREIGN[persona]
    values = samples(world, foreign)
    values["token_id"] = ApiToken.objects.create(
        user=world.user("manager_x" if persona != "manager_x" else "manager_y"),
        name="other",
        prefix="anju_other",
        digest=f"matrix-{persona}",
    ).pk
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {_token_for(world, persona)}"}
    audit_before = AuditEntry.objects.count()
    for method, path, params in api_operations():
        if not set(params) & {"community_id", "home_id", "token_id"}:
            continue
        url = _api_fill(path, values)
        response = _api_call(client, method, url, **auth)
        assert response.status_code == 404, f"{method.upper()} {url} as {persona}: {response.status_code}"
        body = response.json()
        assert set(body) >= {"code", "message"}, body
        assert getattr(world, foreign).community.name not in response.content.decode()
    assert AuditEntry.objects.count() == audit_before, "a refused API call wrote something"


def test_api_requires_authentication(matrix_world: World) -> None:
    values = samples(matrix_world, "a")
    values["token_id"] = 1
    client = Client()
    for method, path, _params in api_operations():
        url = _api_fill(path, values)
        response = _api_call(client, method, url)
        assert response.status_code == 401, f"{method.upper()} {url}: {response.status_code}"
        assert set(response.json()) >= {"code", "message"}


@pytest.mark.parametrize("persona", sorted(FOREIGN))
def test_api_lists_never_mention_a_foreign_community(matrix_world: World, persona: str) -> None:
    world = matrix_world
    foreign = getattr(world, FOREIGN[persona]).community
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {_token_for(world, persona)}"}
    listed = 0
    for method, path, params in api_operations():
        if method != "get" or params:
            continue
        response = client.get(path, **auth)
        assert response.status_code == 200, f"GET {path} as {persona}: {response.status_code}"
        assert foreign.name not in response.content.decode(), f"GET {path} as {persona} names {foreign.name}"
        listed += 1
    assert listed >= 3
