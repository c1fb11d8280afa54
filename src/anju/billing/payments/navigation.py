"""The console link and the portal tabs of payments."""

from django.utils.translation import gettext_lazy as _

from anju.core.permissions import Perm
from anju.web.navigation import console_link, portal_tab

console_link("payments", _("Payments and accounts"), "console:payments_index", perm=Perm.VIEW_BILLING, order=35)
portal_tab("payments", _("Pay fees"), "portal:payments_bills", order=30)
portal_tab("payments_statements", _("Accounts"), "portal:payments_statements", order=31)
