"""The demo looks lived-in: notices (an urgent outage some have not read), a board with replies,
activities past and upcoming with sign-ups, check-ins and a waitlist, points and rewards, and a
satisfaction survey with responses — in every demo community."""

from __future__ import annotations

import pytest
from django.test import Client

from anju.community import services
from anju.community.models import Activity, Announcement, Post, Reply, Reward, Signup, Survey
from anju.core import demo
from anju.core.tenancy import community_scope
from anju.estates.models import Community


@pytest.mark.django_db
def test_the_demo_seeds_a_lived_in_community_life() -> None:
    demo.seed_demo("small", out=lambda _line: None)
    for community in Community.objects.filter(code__in=demo.seed.DEMO_CODES):
        with community_scope(community.pk):
            outage = Announcement.objects.get(source_ref="demo:water-cut")
            receipts = services.read_receipts(outage)
            assert 0 < receipts.read < receipts.people, community.code
            assert Announcement.objects.filter(publish_at__gt=outage.publish_at).exists()  # a scheduled one
            assert Post.objects.count() >= 5 and Reply.objects.count() >= 5
            assert Post.objects.filter(filtered=True).exists()
            activities = list(Activity.objects.all())
            assert any(a.photos.exists() for a in activities)
            assert Signup.objects.filter(checked_in_at__isnull=False).exists()
            assert Signup.objects.filter(status="waitlisted").exists()
            assert Reward.objects.count() == 3
            survey = Survey.objects.get(kind="satisfaction")
            assert services.survey_results(survey).responses > 0
    # The demo resident of the high-rise sees the notices and the survey in the portal.
    client = Client()
    assert client.post("/login/", {"username": "13800138002", "password": "anju-demo-2025"}).status_code == 302
    page = client.get("/portal/community/notices/").content.decode()
    assert "紧急停水通知" in page or "2026年度物业服务费缴纳通知" in page
    assert "满意度调查" in client.get("/portal/community/surveys/").content.decode()
    points = client.get("/portal/community/points/").content.decode()
    assert "data-balance>0<" not in points  # the demo login has taken part and has points
