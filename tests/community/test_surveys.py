"""Surveys: one response per household or person, the anonymous option, results with SVG charts,
and the satisfaction figures the KPI issue reads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.test import Client
from django.utils import timezone

from anju.community import services
from anju.community.charts import bar_chart
from anju.community.models import Question, Response
from anju.community.services.surveys import QuestionSpec
from anju.core.errors import Conflict, DomainError
from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope

from ..personas import World
from .helpers import resident


def _survey(community, **kwargs):
    values = {
        "title": "2026年度满意度调查",
        "questions": [
            QuestionSpec("总体服务"),
            QuestionSpec("保洁"),
            QuestionSpec("最满意的方面", kind=Question.Kind.CHOICE, choices=("安保", "保洁", "维修")),
            QuestionSpec("建议", kind=Question.Kind.TEXT, required=False),
        ],
        "closes_at": timezone.now() + dt.timedelta(days=10),
    }
    values.update(kwargs)
    return services.create_survey(community=community, actor=None, **values)


def _answers(survey, overall: int, cleaning: int, choice: str = "安保", text: str = "") -> dict[int, str]:
    with community_scope(survey.community_id):
        q = list(survey.questions.order_by("position"))
    return {q[0].pk: str(overall), q[1].pk: str(cleaning), q[2].pk: choice, q[3].pk: text}


def test_one_response_per_household_and_results(world: World) -> None:
    a = world.a
    survey = _survey(a.community)
    owner = a.people[0]
    family, _u = resident(a.homes[0], role="family")
    neighbour, _u2 = resident(a.homes[1])
    third, _u3 = resident(a.homes[2])
    services.submit_response(survey=survey, person=owner, home=a.homes[0], answers=_answers(survey, 5, 4), actor=None)
    with pytest.raises(Conflict):  # the same household, another member
        services.submit_response(
            survey=survey, person=family, home=a.homes[0], answers=_answers(survey, 1, 1), actor=None
        )
    with pytest.raises(DomainError):  # a home they do not live in
        services.submit_response(
            survey=survey, person=neighbour, home=a.homes[0], answers=_answers(survey, 1, 1), actor=None
        )
    with pytest.raises(DomainError):  # a required question left out
        services.submit_response(survey=survey, person=neighbour, home=a.homes[1], answers={}, actor=None)
    services.submit_response(
        survey=survey, person=neighbour, home=a.homes[1], answers=_answers(survey, 2, 3, "维修", "电梯太慢"), actor=None
    )
    services.submit_response(
        survey=survey, person=third, home=a.homes[2], answers=_answers(survey, 4, 5, "维修"), actor=None
    )
    results = services.survey_results(survey)
    assert results.responses == 3
    overall, cleaning, choice, text = results.questions
    assert overall.counts == [("1", 0), ("2", 1), ("3", 0), ("4", 1), ("5", 1)]
    assert overall.average == Decimal("3.67") and overall.satisfied_percent == Decimal("66.7")
    assert cleaning.average == Decimal("4.00") and cleaning.satisfied_percent == Decimal("66.7")
    assert choice.counts == [("安保", 1), ("保洁", 0), ("维修", 2)]
    assert text.texts == ["电梯太慢"]
    # Satisfaction for the KPIs: 4 of 6 rating answers are 4 or 5.
    figures = services.satisfaction(a.community.pk)
    assert (figures.surveys, figures.responses, figures.rating_answers, figures.satisfied_answers) == (1, 3, 6, 4)
    assert figures.satisfied_percent == Decimal("66.7") and figures.average_rating == Decimal("3.83")
    assert services.satisfaction(world.b.community.pk).satisfied_percent is None


def test_per_person_and_anonymous_surveys(world: World) -> None:
    a = world.a
    survey = _survey(a.community, per="person", anonymous=True, kind="other", title="停车意见")
    owner = a.people[0]
    family, _u = resident(a.homes[0], role="family")
    services.submit_response(survey=survey, person=owner, home=None, answers=_answers(survey, 3, 3), actor=None)
    services.submit_response(survey=survey, person=family, home=a.homes[0], answers=_answers(survey, 4, 4), actor=None)
    with pytest.raises(Conflict):
        services.submit_response(survey=survey, person=owner, home=None, answers=_answers(survey, 5, 5), actor=None)
    with community_scope(a.community.pk):
        stored = list(Response.objects.filter(survey=survey).values_list("home_id", "person_id"))
    assert stored == [(None, None), (None, None)]
    # "other" surveys do not count toward satisfaction.
    assert services.satisfaction(a.community.pk).surveys == 0


def test_closed_surveys_refuse_answers(world: World) -> None:
    a = world.a
    survey = _survey(
        a.community, opens_at=timezone.now() - dt.timedelta(days=5), closes_at=timezone.now() - dt.timedelta(days=1)
    )
    with pytest.raises(Conflict):
        services.submit_response(
            survey=survey, person=a.people[0], home=a.homes[0], answers=_answers(survey, 5, 5), actor=None
        )


def test_the_svg_chart_is_well_formed_and_proportional() -> None:
    svg = bar_chart([("1", 0), ("2", 5), ("3", 10)], title="保洁 <评分>")
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    widths = [float(rect.get("width")) for rect in root.iter(f"{ns}rect")]
    assert widths[0] == 0 and widths[2] == 2 * widths[1] > 0
    counts = [t.get("data-count") for t in root.iter(f"{ns}text") if t.get("data-count")]
    assert counts == ["0", "5", "10"]


def test_portal_answer_and_console_results(world: World) -> None:
    a = world.a
    survey = _survey(a.community)
    client = Client()
    client.force_login(world.user("resident_a"))
    with community_scope(a.community.pk):
        q = list(survey.questions.order_by("position"))
    url = f"/portal/community/surveys/{survey.pk}/"
    assert client.post(url, {f"q{q[0].pk}": "9"}).status_code == 400
    response = client.post(url, {f"q{q[0].pk}": "5", f"q{q[1].pk}": "4", f"q{q[2].pk}": "保洁"})
    assert response.status_code == 302
    assert "data-answered" in client.get(url).content.decode()
    staff = Client()
    staff.force_login(world.user("manager_x"))
    page = staff.get(f"/console/c/{a.community.pk}/community/surveys/{survey.pk}/").content.decode()
    assert "<svg" in page and "data-responses>1<" in page
    # Another community's resident cannot open it.
    other = Client()
    other.force_login(world.user("resident_b"))
    assert other.get(url).status_code == 404


@pytest.mark.parametrize("anonymous", [True, False])
def test_an_anonymous_answer_leaves_no_name_or_address_in_the_audit_log(world: World, anonymous: bool) -> None:
    a = world.a
    survey = _survey(a.community, per="person", anonymous=anonymous, kind="other", title="垃圾分类意见")
    _person, user = resident(a.homes[1])
    client = Client(REMOTE_ADDR="203.0.113.7")
    client.force_login(user)
    with community_scope(a.community.pk):
        posted = {f"q{q}": v for q, v in _answers(survey, 4, 5).items()}
    response = client.post(f"/portal/community/surveys/{survey.pk}/", {**posted, "home": a.homes[1].pk})
    assert response.status_code == 302
    with community_scope(a.community.pk):
        row = AuditEntry.objects.get(action="survey.respond", object_type="community.response")
    expected = (None, None) if anonymous else (user.pk, "203.0.113.7")
    assert (row.actor_id, row.ip_address) == expected
