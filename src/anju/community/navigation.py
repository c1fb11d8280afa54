"""Console links and portal tabs of community life."""

from django.utils.translation import gettext_lazy as _

from anju.core.permissions import Perm
from anju.web.navigation import console_link, portal_tab

console_link(
    "community_announcements",
    _("Announcements"),
    "console:community_announcements",
    perm=Perm.PUBLISH_ANNOUNCEMENTS,
    order=80,
)
console_link("community_board", _("Neighbour board"), "console:community_board", perm=Perm.MODERATE_BOARD, order=81)
console_link(
    "community_activities", _("Activities"), "console:community_activities", perm=Perm.MANAGE_ACTIVITIES, order=82
)
console_link("community_points", _("Points"), "console:community_points", perm=Perm.MANAGE_POINTS, order=83)
console_link("community_surveys", _("Surveys"), "console:community_surveys", perm=Perm.MANAGE_SURVEYS, order=84)

portal_tab("community_notices", _("Notices"), "portal:community_notices", order=80)
portal_tab("community_board", _("Neighbours"), "portal:community_board", order=81)
portal_tab("community_activities", _("Activities"), "portal:community_activities", order=82)
portal_tab("community_points", _("Points"), "portal:community_points", order=83)
portal_tab("community_surveys", _("Surveys"), "portal:community_surveys", order=84)
