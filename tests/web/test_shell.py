"""The shared shell: language switch and the navigation context the console top bar uses."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from anju.web.context_processors import navigation
from anju.web.decorators import request_access

pytestmark = pytest.mark.django_db


def _lang(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match
    return match.group(1)


def test_chinese_is_the_default_and_english_can_be_chosen(client):
    assert _lang(client.get(reverse("login")).content.decode()) == "zh-hans"
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302
    assert _lang(client.get(reverse("login")).content.decode()) == "en"
    client.post(reverse("set_language"), {"language": "zh-hans", "next": reverse("login")})
    assert _lang(client.get(reverse("login")).content.decode()) == "zh-hans"


def _navigation_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return request, navigation(request)["navigation"]


def test_navigation_lists_the_communities_a_manager_may_open(world):
    request, nav = _navigation_for(world.user("manager_x"))
    request_access(request)  # the page's permission check has computed access already
    with CaptureQueriesContext(connection) as queries:
        names = [c.name for c in nav.communities]
    assert names == sorted([world.a.community.name, world.c.community.name])
    assert len(queries) == 1
    assert nav.is_staff_user is True
    assert nav.is_resident is False


def test_navigation_for_a_resident_and_for_another_company(world):
    _, nav = _navigation_for(world.user("resident_a"))
    assert nav.communities == []
    assert nav.is_resident is True
    _, nav = _navigation_for(world.user("manager_y"))
    assert [c.pk for c in nav.communities] == [world.b.community.pk]


def test_navigation_costs_nothing_until_used(world):
    request = RequestFactory().get("/")
    request.user = world.user("manager_x")
    with CaptureQueriesContext(connection) as queries:
        navigation(request)
    assert len(queries) == 0
