"""Objects of one estate's community for the tenancy matrix (URL parameters of community life)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from anju.community import services
from anju.community.services.surveys import QuestionSpec
from anju.core.tenancy import community_scope

from .helpers import activity, pdf_upload, png


def samples(world, estate_name: str) -> dict[str, int]:
    estate = getattr(world, estate_name)
    community = estate.community
    person = estate.people[0]
    with community_scope(community.pk):
        announcement = services.publish_announcement(
            community=community, title="停水通知", body="明日9点至12点停水。", category="outage", actor=None
        )
        attachment = services.attach_file(announcement, upload=pdf_upload(), actor=None)
        post = services.create_post(
            person=person, category="mutual_help", title="求借梯子", body="周末用一下", image=png(), actor=None
        )
        event = activity(community)
        photo = services.add_photo(event, upload=png(), actor=None)
        survey = services.create_survey(
            community=community,
            title="年度满意度调查",
            questions=[QuestionSpec("总体满意度")],
            closes_at=timezone.now() + dt.timedelta(days=30),
            actor=None,
        )
    return {
        "announcement_id": announcement.pk,
        "attachment_id": attachment.pk,
        "post_id": post.pk,
        "activity_id": event.pk,
        "activity_photo_id": photo.pk,
        "survey_id": survey.pk,
    }
