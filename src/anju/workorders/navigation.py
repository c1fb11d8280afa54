"""The work-order entries of the console menu and the portal tabs."""

from django.utils.translation import gettext_lazy as _

from anju.core.permissions import Perm
from anju.web.navigation import console_link, portal_tab

console_link("workorders", _("Work orders"), "console:workorders_board", perm=Perm.VIEW_WORKORDERS, order=20)
console_link("workorders_mine", _("My jobs"), "console:workorders_mine", perm=Perm.WORK_WORKORDERS, order=21)
portal_tab("workorders", _("Repairs"), "portal:workorders_requests", order=20)
