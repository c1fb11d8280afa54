"""The home list and the property map build their rows in Python (for speed): they must produce
the links a template would, and escape what people typed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from anju.core.tenancy import community_scope
from anju.estates import services as estates
from anju.estates.models import Home
from anju.estates.views import home_url_builder

pytestmark = pytest.mark.django_db


def test_home_url_builder_matches_reverse(world):
    build = home_url_builder(world.a.community.pk)
    for home in world.a.homes[:3]:
        assert build(home.pk) == reverse("console:home", args=[world.a.community.pk, home.pk])


def test_home_list_and_map_link_every_home_and_escape_numbers(client, world):
    community = world.a.community
    building = world.a.buildings[0]
    with community_scope(community.pk):
        unit = building.units.first()
    odd = estates.create_home(building=building, unit=unit, number="9<b>", floor=4, floor_area="70.25", actor=None)
    client.force_login(world.user("manager_x"))
    listing = client.get(reverse("console:homes", args=[community.pk]), {"building": building.pk}).content.decode()
    pmap = client.get(reverse("console:property_map", args=[community.pk, building.pk])).content.decode()
    for body in (listing, pmap):
        assert "9&lt;b&gt;" in body and "9<b>" not in body
        with community_scope(community.pk):
            for home in Home.objects.filter(building=building):
                assert reverse("console:home", args=[community.pk, home.pk]) in body
    assert f'data-home="{odd.pk}"' in listing and "70.25" in listing
    assert "甲小区业主" in listing  # the owner column, for a role that may see people
