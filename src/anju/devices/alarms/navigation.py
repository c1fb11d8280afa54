"""The alarms' console link and the residents' outage tab."""

from django.utils.translation import gettext_lazy as _

from anju.core.permissions import Perm
from anju.web.navigation import console_link, portal_tab

console_link("alarms", _("Alarms"), "console:alarms_list", perm=Perm.VIEW_DEVICES, order=55)
portal_tab("alarms", _("Outages"), "portal:alarms_outages", order=55)
