"""The access pages in the console menu and the portal tabs."""

from django.utils.translation import gettext_lazy as _

from anju.core.permissions import Perm
from anju.web.navigation import console_link, portal_tab

console_link("access", _("Doors"), "console:access_doors", perm=Perm.VIEW_ACCESS, order=70)
console_link("access_guard", _("Guard desk"), "console:access_guard", perm=Perm.GUARD_DESK, order=71)
console_link("access_shifts", _("Staff shifts"), "console:access_shifts", perm=Perm.MANAGE_ACCESS, order=72)
console_link("access_settings", _("Access settings"), "console:access_settings", perm=Perm.MANAGE_ACCESS, order=73)
portal_tab("access", _("My QR"), "portal:access_qr", order=70)
portal_tab("access_visitors", _("Visitors"), "portal:access_visitors", order=71)
