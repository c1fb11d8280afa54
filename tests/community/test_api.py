"""The community-life API: a resident's notices, sign-ups, points, rewards and surveys; staff publishing."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from anju.community import services
from anju.community.services.points import balance_of
from anju.community.services.surveys import QuestionSpec
from anju.core.tenancy import community_scope

from ..api.conftest import assert_error
from ..personas import World
from .helpers import activity


def test_resident_reads_notices_and_marks_them_read(world: World, as_persona) -> None:
    community = world.a.community
    manager = as_persona("manager_x")
    created = manager.post(
        f"/communities/{community.pk}/announcements",
        {"title": "电梯年检", "body": "周四上午", "category": "safety", "urgent": True, "source_ref": "api:1"},
    )
    assert created.status_code == 201, created.content
    again = manager.post(
        f"/communities/{community.pk}/announcements", {"title": "电梯年检", "body": "周四上午", "source_ref": "api:1"}
    )
    assert again.json()["id"] == created.json()["id"]
    assert_error(
        manager.post(f"/communities/{community.pk}/announcements", {"title": "x", "body": "y", "category": "party"}),
        422,
    )
    resident = as_persona("resident_a")
    listed = resident.get("/me/announcements").json()
    assert [(a["title"], a["read"]) for a in listed] == [("电梯年检", False)]
    first = resident.post("/me/announcements/read", {"announcement_id": created.json()["id"]})
    assert first.json() == {"announcement_id": created.json()["id"], "first_read": True}
    assert (
        resident.post("/me/announcements/read", {"announcement_id": created.json()["id"]}).json()["first_read"] is False
    )
    assert resident.get("/me/announcements").json()[0]["read"] is True
    assert manager.get(f"/communities/{community.pk}/announcements").json()[0]["read_count"] == 1
    # Another community's resident: not addressed, 404.
    assert_error(
        as_persona("resident_b").post("/me/announcements/read", {"announcement_id": created.json()["id"]}), 404
    )
    # The steward may publish; the technician may not.
    assert_error(
        as_persona("technician").post(f"/communities/{community.pk}/announcements", {"title": "x", "body": "y"}), 403
    )


def test_resident_signs_up_redeems_and_answers_by_api(world: World, as_persona) -> None:
    community = world.a.community
    event = activity(community, capacity=1)
    resident = as_persona("resident_a")
    listed = resident.get("/me/activities").json()
    assert [(a["id"], a["my_status"]) for a in listed] == [(event.pk, None)]
    signed = resident.post("/me/activities/signups", {"activity_id": event.pk})
    assert signed.status_code == 201 and signed.json()["status"] == "confirmed"
    assert resident.get("/me/activities").json()[0]["my_status"] == "confirmed"
    assert resident.post("/me/activities/cancellations", {"activity_id": event.pk}).json()["status"] == "cancelled"
    assert_error(resident.post("/me/activities/cancellations", {"activity_id": event.pk}), 404)
    assert_error(as_persona("resident_b").post("/me/activities/signups", {"activity_id": event.pk}), 404)

    person = world.a.people[0]
    services.award_points(person=person, amount=25, reason="签到", source_ref="t:1", actor=None)
    reward = services.create_reward(community=community, name="肥皂", cost=10, stock=2, actor=None)
    assert resident.get("/me/points").json()["balance"] == 25
    assert [r["name"] for r in resident.get("/me/rewards").json()] == ["肥皂"]
    bought = resident.post("/me/redemptions", {"reward_id": reward.pk, "key": "k"})
    assert bought.status_code == 201 and bought.json()["balance"] == 15
    assert resident.post("/me/redemptions", {"reward_id": reward.pk, "key": "k"}).json()["id"] == bought.json()["id"]
    assert balance_of(person) == 15
    poor = resident.post("/me/redemptions", {"reward_id": reward.pk, "key": "k2"})
    assert poor.status_code == 201  # 15 >= 10
    assert_error(resident.post("/me/redemptions", {"reward_id": reward.pk, "key": "k3"}), 409, "out_of_stock")

    survey = services.create_survey(
        community=community,
        title="满意度",
        questions=[QuestionSpec("总体")],
        closes_at=timezone.now() + dt.timedelta(days=3),
        actor=None,
    )
    with community_scope(community.pk):
        question = survey.questions.get()
    assert [s["id"] for s in resident.get("/me/surveys").json()] == [survey.pk]
    answered = resident.post("/me/survey-responses", {"survey_id": survey.pk, "answers": {str(question.pk): "5"}})
    assert answered.status_code == 201, answered.content
    assert_error(
        resident.post("/me/survey-responses", {"survey_id": survey.pk, "answers": {str(question.pk): "5"}}),
        409,
        "already_answered",
    )


def test_staff_without_a_home_get_empty_lists(world: World, as_persona) -> None:
    manager = as_persona("manager_x")
    for path in ("/me/announcements", "/me/activities", "/me/rewards", "/me/surveys"):
        response = manager.get(path)
        assert response.status_code == 200 and response.json() == [], path
    assert manager.get("/me/points").json() == {"balance": 0, "entries": []}
    assert_error(manager.post("/me/activities/signups", {"activity_id": 1}), 404)
