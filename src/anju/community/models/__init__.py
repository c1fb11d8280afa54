"""Community life: announcements, the neighbour board, activities and volunteering, points, surveys."""

from anju.community.models.activities import Activity, ActivityPhoto, Signup
from anju.community.models.announcements import (
    Announcement,
    AnnouncementAttachment,
    AnnouncementRead,
    AnnouncementTarget,
)
from anju.community.models.board import DEFAULT_SENSITIVE_WORDS, Ban, LifeSettings, Post, Reply, Report, Visibility
from anju.community.models.points import (
    HazardReport,
    PointsAccount,
    PointsEntry,
    PointsRule,
    Redemption,
    Reward,
)
from anju.community.models.surveys import Answer, Question, Response, Survey

__all__ = [
    "DEFAULT_SENSITIVE_WORDS",
    "Activity",
    "ActivityPhoto",
    "Announcement",
    "AnnouncementAttachment",
    "AnnouncementRead",
    "AnnouncementTarget",
    "Answer",
    "Ban",
    "HazardReport",
    "LifeSettings",
    "PointsAccount",
    "PointsEntry",
    "PointsRule",
    "Post",
    "Question",
    "Redemption",
    "Reply",
    "Report",
    "Response",
    "Reward",
    "Signup",
    "Survey",
    "Visibility",
]
