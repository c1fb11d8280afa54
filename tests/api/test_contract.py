"""The API's promises as a whole: every operation documents its errors, every GET answers JSON,
and no malformed request — bad JSON, absurd ids, strange bytes — gets a 5xx or changes anything."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from anju.api.api import api
from anju.core.models import AuditEntry

from ..personas import World
from ..test_tenancy_matrix import samples
from .conftest import Api, assert_error


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    schema = api.get_openapi_schema()
    return [
        (method, path, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _ref_name(response: dict[str, Any]) -> str:
    ref = response["content"]["application/json"]["schema"].get("$ref", "")
    return ref.rsplit("/", 1)[-1]


def test_every_operation_declares_its_error_responses() -> None:
    operations = _operations()
    assert len(operations) >= 20
    for method, path, operation in operations:
        where = f"{method.upper()} {path}"
        declared = {int(code): response for code, response in operation["responses"].items()}
        assert any(200 <= code < 300 for code in declared), where
        assert 401 in declared, f"{where} does not declare 401"
        params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        if params:
            assert 404 in declared, f"{where} has path parameters but does not declare 404"
        if "community_id" in params:
            assert 403 in declared, f"{where} is per community but does not declare 403"
        if operation.get("parameters") or "requestBody" in operation:
            assert 422 in declared, f"{where} takes input but does not declare 422"
        if "requestBody" in operation:
            assert 400 in declared, f"{where} takes a body but does not declare 400 (malformed JSON)"
        for code, response in declared.items():
            if code >= 400:
                expected = "ValidationErrorOut" if code == 422 else "ErrorOut"
                assert _ref_name(response) == expected, f"{where} {code}"
        assert operation.get("security"), f"{where} declares no authentication"


def test_error_schemas_have_code_and_message() -> None:
    components = api.get_openapi_schema()["components"]["schemas"]
    for name in ("ErrorOut", "ValidationErrorOut"):
        assert {"code", "message"} <= set(components[name]["required"]), name


def _fill(path: str, values: dict[str, Any]) -> str:
    """The path with ids of real objects of community A, from the tenancy matrix's samples (which
    every app extends for the URL parameters it introduces, ``tests/<app>/matrix_samples.py``)."""
    return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), path).removeprefix("/api/v1")


def test_every_get_answers_json_for_the_manager_of_community_a(world: World) -> None:
    manager = Api(world, "manager_x")
    values = samples(world, "a")
    checked = 0
    for method, path, _operation in _operations():
        if method != "get" or "{token_id}" in path:
            continue
        url = _fill(path, values)
        response = manager.get(url)
        assert response["Content-Type"].startswith("application/json"), url
        body = response.json()
        if path.startswith("/api/v1/me/") and "{" in path:
            assert response.status_code == 404 and set(body) >= {"code", "message"}, url  # a manager lives nowhere
        elif path.startswith("/api/v1/me/"):
            assert response.status_code in (200, 404), (url, body)
        else:
            assert response.status_code == 200, (url, body)
        checked += 1
        # Pagination parameters are accepted or refused cleanly everywhere.
        for params in ({"limit": 1, "offset": 0}, {"limit": 10**12}, {"offset": "x"}, {"q": "\x00"}):
            assert manager.get(url, **params).status_code < 500, (url, params)
    assert checked >= 10


@pytest.mark.parametrize("raw", ['{"name": ', "not json", "\xff\xfe", "null", "[]", '"text"', "1e999"])
def test_malformed_bodies_get_a_4xx_and_change_nothing(world: World, raw: str) -> None:
    manager = Api(world, "manager_x")
    values = samples(world, "a")
    audit = AuditEntry.objects.count()
    for method, path, operation in _operations():
        if "requestBody" not in operation:
            continue
        response = manager.call(method, _fill(path, values), raw=raw)
        assert 400 <= response.status_code < 500, (method, path, raw, response.status_code)
        assert_error(response, response.status_code)
    assert AuditEntry.objects.count() == audit


@pytest.mark.parametrize("bad_id", ["0", "99999999", "9223372036854775808", "99999999999999999999999"])
def test_absurd_ids_are_404_not_500(world: World, bad_id: str) -> None:
    manager = Api(world, "manager_x")
    a = world.a.community.pk
    for url in (
        f"/communities/{bad_id}",
        f"/communities/{a}/homes/{bad_id}",
        f"/communities/{a}/people/{bad_id}",
        f"/communities/{a}/buildings/{bad_id}/map",
        f"/me/homes/{bad_id}/household",
    ):
        assert_error(manager.get(url), 404)
    assert_error(manager.patch(f"/communities/{a}/homes/{bad_id}", {"status": "vacant"}), 404)
    assert_error(manager.post(f"/communities/{a}/occupancies/{bad_id}/end", {}), 404)
    assert_error(manager.delete(f"/tokens/{bad_id}"), 404)
    response = manager.get(f"/communities/{a}/homes", building_id=bad_id)
    assert response.status_code in (200, 422) and response.status_code < 500


def test_bad_register_input_gets_a_4xx_and_stores_nothing(world: World) -> None:
    manager = Api(world, "manager_x")
    a = world.a.community.pk
    building = world.a.buildings[0].pk
    good = {"building_id": building, "number": "501", "floor": 5, "floor_area": "80.00"}
    audit = AuditEntry.objects.count()
    for change, status in [
        ({"floor_area": "-1"}, 422),
        ({"floor_area": "0"}, 422),
        ({"floor_area": "80.123"}, 422),
        ({"floor_area": "lots"}, 422),
        ({"floor_area": "NaN"}, 422),
        ({"use": "castle"}, 422),
        ({"status": "haunted"}, 422),
        ({"floor": 0}, 400),
        ({"floor": 7}, 400),  # the building has 6 floors
        ({"floor": 40000}, 422),
        ({"number": ""}, 422),
        ({"number": "1" * 21}, 422),
        ({"building_id": "one"}, 422),
    ]:
        response = manager.post(f"/communities/{a}/homes", {**good, **change})
        assert_error(response, status)
    for change in [{"floor_area": -5}, {"status": None}, {"number": "502"}, {"use": "castle"}]:
        assert_error(manager.patch(f"/communities/{a}/homes/{world.a.homes[0].pk}", change), 422)
    assert_error(manager.post(f"/communities/{a}/buildings", {"number": "8", "floors_above": 0}), 422)
    assert AuditEntry.objects.count() == audit


def test_unknown_api_paths_and_methods_are_not_5xx(world: World) -> None:
    client = Client()
    client.force_login(world.user("manager_x"))
    response = client.put(f"/api/v1/communities/{world.a.community.pk}/homes", data="{}")
    assert 400 <= response.status_code < 500


def test_the_docs_and_schema_are_served_without_a_cdn(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200 and "/api/v1/communities/{community_id}/homes" in schema.json()["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/api/v1/openapi.json" in html and "cdn" not in html.lower()


@pytest.mark.parametrize("method", ["get", "post", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v1/communities/1/nope/2", "/api/v2/me"])
def test_unknown_api_paths_answer_json_404(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "not_found" and body["message"]
