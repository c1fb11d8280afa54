"""The manager's settings page changes how categories are dispatched and timed, through the services."""

from __future__ import annotations

import pytest
from django.test import Client

from anju.core.tenancy import community_scope
from anju.workorders.models import Category, SlaPolicy, TechnicianProfile, WorkOrderSettings

from .helpers import resident_report

pytestmark = pytest.mark.django_db


def test_manager_changes_dispatch_sla_rules_and_skills(world):
    client = Client()
    client.force_login(world.user("manager_x"))
    cid = world.a.community.pk
    url = f"/console/c/{cid}/workorders/settings/"
    page = client.get(url)
    assert page.status_code == 200 and 'data-category="water"' in page.content.decode()
    response = client.post(
        url,
        {
            "action": "category:noise",
            "noise-dispatch_mode": "grab",
            "noise-default_priority": "high",
            "noise-skill": "",
            "noise-calendar": "",
            "noise-active": "on",
        },
    )
    assert response.status_code == 302
    response = client.post(
        url,
        {
            "action": "sla",
            "sla-category": "noise",
            "sla-priority": "high",
            "sla-response_minutes": "15",
            "sla-resolution_minutes": "90",
        },
    )
    assert response.status_code == 302
    response = client.post(
        url,
        {
            "action": "rules",
            "rules-auto_confirm_days": "5",
            "rules-dispute_days": "10",
            "rules-low_rating_max": "2",
            "rules-follow_up_sample_percent": "20",
        },
    )
    assert response.status_code == 302
    response = client.post(
        url,
        {
            "action": "technician",
            "tech-technician": world.user("technician").pk,
            "tech-skills": "plumbing, locks",
            "tech-buildings": "1",
            "tech-on_duty": "on",
        },
    )
    assert response.status_code == 302
    bad = client.post(
        url, {"action": "sla", "sla-priority": "high", "sla-response_minutes": "60", "sla-resolution_minutes": "30"}
    )
    assert bad.status_code == 200 and "不能早于" in bad.content.decode()
    with community_scope(cid):
        noise = Category.objects.get(code="noise")
        assert (noise.dispatch_mode, noise.default_priority) == ("grab", "high")
        assert SlaPolicy.objects.filter(category=noise, response_minutes=15).count() == 1
        rules = WorkOrderSettings.objects.get(community_id=cid)
        assert (rules.auto_confirm_days, rules.dispute_days, rules.low_rating_max, rules.follow_up_sample_percent) == (
            5,
            10,
            2,
            20,
        )
        profile = TechnicianProfile.objects.get(user=world.user("technician"))
        assert profile.skills == ["locks", "plumbing"] and profile.building_ids == [world.a.buildings[0].pk]
    order = resident_report(world, category="noise")
    assert order.priority == "high"
    assert (order.response_due_at - order.created_at).total_seconds() == 15 * 60
    # Only managers: a steward may dispatch but not change the rules.
    steward = Client()
    steward.force_login(world.user("steward"))
    assert steward.get(url).status_code == 403
