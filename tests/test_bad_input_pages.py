"""Junk in query strings and form posts gets a page or a refusal, never a server error.

Walks every console and portal page (from the URL resolver, like the tenancy matrix) as a persona who
may open it, with malformed filters, page numbers, dates and form fields.
"""

from __future__ import annotations

import pytest
from django.test import Client

from .personas import World
from .test_tenancy_matrix import _fill, page_routes, samples

JUNK_QUERIES = [
    "page=abc",
    "page=-1",
    "page=99999",
    "building=abc",
    "building=999999",
    "unit=x",
    "status=zzz",
    "use=%00",
    "q=" + "x" * 500,
    "layer=nope",
    "action=<script>",
    "date_from=2024-13-45",
    "date_to=abc",
    "q=%27%22",
    "building=1&unit=999999",
]
JUNK_FORM = {
    "action": "zzz",
    "name": "",
    "phone": "x" * 300,
    "id_number": "1" * 40,
    "floor_area": "nan",
    "floor": "abc",
    "share_percent": "-5",
    "starts_on": "2024-02-30",
    "role": "king",
    "file": "not a file",
}


@pytest.mark.parametrize("persona", ["manager_x", "resident_a"])
def test_junk_input_never_reaches_a_server_error(world: World, persona: str) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(world.user(persona))
    values = samples(world, "a")
    failures = []
    for route in page_routes():
        url = _fill(route.pattern, values)
        for junk in JUNK_QUERIES:
            for method, response in (
                ("GET", client.get(f"{url}?{junk}")),
                ("POST", client.post(f"{url}?{junk}", JUNK_FORM)),
            ):
                if response.status_code >= 500:
                    failures.append(f"{method} {url}?{junk}: {response.status_code}")
    assert not failures, failures
