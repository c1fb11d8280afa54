from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from anju.core.services import issue_api_token

from ..personas import World

BASE = "/api/v1"


class Api:
    """A JSON client for one persona, authenticated by bearer token (or anonymous)."""

    def __init__(self, world: World, persona: str) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if persona != "anonymous":
            user = world.user(persona)
            _, secret = issue_api_token(user=user, name="tests", actor=user)
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"

    def call(self, method: str, path: str, body: Any = None, *, raw: str | None = None, **params: Any) -> Any:
        url = BASE + path
        if method == "get":
            return self.client.get(url, params, **self.headers)
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return getattr(self.client, method)(url, data=data, content_type="application/json", **self.headers)

    def get(self, path: str, **params: Any) -> Any:
        return self.call("get", path, **params)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("post", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.call("patch", path, body, **kwargs)

    def delete(self, path: str) -> Any:
        return self.call("delete", path)


@pytest.fixture
def as_persona(world: World):
    def make(persona: str) -> Api:
        return Api(world, persona)

    return make


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert isinstance(body.get("code"), str) and body["code"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    if code is not None:
        assert body["code"] == code, body
    return body
