"""Billing's entries in the console menu and the portal tabs."""

from django.utils.translation import gettext_lazy as _

from anju.core.permissions import Perm
from anju.web.navigation import console_link, portal_tab

console_link("billing", _("Fees"), "console:billing_overview", perm=Perm.VIEW_BILLING, order=30)
console_link("billing_readings", _("Meter readings"), "console:billing_readings", perm=Perm.ENTER_READINGS, order=31)
portal_tab("billing", _("My bills"), "portal:billing_bills", order=30)
