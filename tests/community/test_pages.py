"""Console and portal pages of community life: forms reach the services, roles are respected."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from anju.community import services
from anju.community.models import Activity, ActivityPhoto, Announcement, Reward, Survey
from anju.core.tenancy import community_scope
from anju.residents import services as residents

from ..personas import World
from .helpers import activity, png, resident


def _client(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world.user(persona))
    return client


def test_publishing_from_the_console_targets_a_building(world: World) -> None:
    a = world.a
    url = f"/console/c/{a.community.pk}/community/announcements/"
    client = _client(world, "steward")
    response = client.post(
        url,
        {
            "title": "2栋外墙清洗",
            "body": "周六上午请关好窗户",
            "category": "notice",
            "buildings": [a.buildings[1].pk],
            "roles": ["owners", "tenants"],
        },
    )
    assert response.status_code == 302
    with community_scope(a.community.pk):
        notice = Announcement.objects.get(title="2栋外墙清洗")
        assert [t.building_id for t in notice.targets.all()] == [a.buildings[1].pk]
        assert (notice.to_owners, notice.to_tenants, notice.to_family) == (True, True, False)
    # A bad form is shown again in Chinese and stores nothing.
    response = client.post(url, {"title": "", "body": "x", "category": "notice"})
    assert response.status_code == 200 and "这个字段是必填项" in response.content.decode()
    bad_expiry = client.post(url, {"title": "t", "body": "x", "category": "notice", "expires_at": "2001-01-01T08:00"})
    assert "失效时间必须晚于发布时间" in bad_expiry.content.decode()
    with community_scope(a.community.pk):
        assert Announcement.objects.count() == 1
    # Roles without the permission are refused; other companies do not see it at all.
    assert _client(world, "technician").get(url).status_code == 403
    assert _client(world, "finance").get(url).status_code == 403
    assert _client(world, "manager_y").get(url).status_code == 404


def test_activity_page_photos_hours_and_cancel(world: World) -> None:
    a = world.a
    event = activity(a.community, capacity=3, kind=Activity.Kind.VOLUNTEER, starts_in=dt.timedelta(minutes=10))
    person, _user = resident(a.homes[1])
    signup = services.sign_up(activity=event, person=person, actor=None)
    services.check_in(signup, actor=None)
    client = _client(world, "manager_x")
    url = f"/console/c/{a.community.pk}/community/activities/{event.pk}/"
    assert client.post(url, {"action": "photo", "image": png(), "caption": "合影"}).status_code == 302
    not_a_picture = client.post(url, {"action": "photo", "image": png("x.png").__class__("x.png", b"GIF89a..")})
    assert not_a_picture.status_code == 200
    assert client.post(url, {"action": "hours", "signup": signup.pk, "minutes": 30}).status_code == 302
    with community_scope(a.community.pk):
        assert ActivityPhoto.objects.filter(activity=event).count() == 1
        photo = ActivityPhoto.objects.get(activity=event)
    assert client.get(f"/console/c/{a.community.pk}/community/photos/{photo.pk}/")["Content-Type"] == "image/png"
    door = client.get(f"/console/c/{a.community.pk}/community/activities/{event.pk}/door/").content.decode()
    assert "<svg" in door and event.checkin_token in door
    assert client.post(url, {"action": "cancel"}).status_code == 302
    with community_scope(a.community.pk):
        assert Activity.objects.get(pk=event.pk).cancelled_at is not None


def test_building_leaders_organise_activities_from_the_portal(world: World) -> None:
    a = world.a
    leader, leader_user = resident(a.homes[2], name="楼长李")
    starts = (timezone.localtime() + dt.timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    form = {
        "title": "2栋楼道清扫",
        "kind": "volunteer",
        "volunteer_work": "clean_up",
        "place": "2栋",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "capacity": 6,
    }
    plain = Client()
    plain.force_login(leader_user)
    assert plain.get("/portal/community/activities/new/").status_code == 403
    residents.set_building_leader(building=a.buildings[0], person=leader, actor=None)
    assert plain.post("/portal/community/activities/new/", form).status_code == 302
    with community_scope(a.community.pk):
        created = Activity.objects.get(title="2栋楼道清扫")
    assert created.organizer_id == leader.pk and created.starts_at == starts and created.is_volunteer


def test_points_and_surveys_consoles(world: World) -> None:
    a = world.a
    client = _client(world, "manager_x")
    points = f"/console/c/{a.community.pk}/community/points/"
    assert client.post(points, {"action": "reward", "name": "雨伞", "cost": 40, "stock": 3}).status_code == 302
    assert client.post(points, {"action": "rule", "rule-action": "check_in", "rule-points": 8}).status_code == 302
    assert client.post(points, {"action": "rule", "rule-action": "nope", "rule-points": 8}).status_code == 200
    from anju.community.services.points import rule_points

    assert rule_points(a.community.pk, "check_in") == 8
    award = client.post(points, {"action": "award", "phone": "139 0000 0001", "amount": 15, "reason": "协助搬运"})
    assert award.status_code == 302
    with community_scope(a.community.pk):
        assert Reward.objects.get(name="雨伞").stock == 3
    from anju.community.services.points import balance_of

    assert balance_of(a.people[0]) == 15
    assert _client(world, "steward").get(points).status_code == 403  # stewards do not run the points scheme

    surveys = f"/console/c/{a.community.pk}/community/surveys/"
    closes = (timezone.localtime() + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        surveys,
        {
            "title": "停车满意度",
            "kind": "satisfaction",
            "per": "household",
            "closes_at": closes,
            "questions": "总体满意度\n最常停放 | 地面 | 地下\n?其他建议",
        },
    )
    assert response.status_code == 302
    with community_scope(a.community.pk):
        survey = Survey.objects.get(title="停车满意度")
        assert [(q.kind, q.choices) for q in survey.questions.order_by("position")] == [
            ("rating", []),
            ("choice", ["地面", "地下"]),
            ("text", []),
        ]
