"""Apps add links to the console menu and tabs to the portal; each shows only to whom it applies."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from anju.core.permissions import Perm
from anju.web import navigation


@pytest.fixture
def registered():
    navigation.console_link("zz_test", "测试链接", "console:audit", perm=Perm.VIEW_AUDIT, order=999)
    navigation.portal_tab("zz_tab", "测试标签", "portal:profile", order=999)
    yield
    navigation.CONSOLE_LINKS.pop("zz_test")
    navigation.PORTAL_TABS.pop("zz_tab")


@pytest.mark.django_db
def test_a_console_link_shows_only_to_users_holding_its_permission(world, registered):
    dashboard = reverse("console:dashboard", args=[world.a.community.pk])
    manager, steward = Client(), Client()
    manager.force_login(world.user("manager_x"))
    steward.force_login(world.user("steward"))
    assert "测试链接" in manager.get(dashboard).content.decode()
    assert "测试链接" not in steward.get(dashboard).content.decode()


@pytest.mark.django_db
def test_a_portal_tab_shows_to_residents_and_marks_the_current_page(world, registered):
    client = Client()
    client.force_login(world.user("resident_a"))
    home = client.get(reverse("portal:home")).content.decode()
    assert "测试标签" in home
    assert navigation.portal_tabs()[-1].key == "zz_tab"
