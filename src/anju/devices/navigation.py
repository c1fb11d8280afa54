"""The devices app's entry in the console's community menu."""

from django.utils.translation import gettext_lazy as _

from anju.core.permissions import Perm
from anju.web.navigation import console_link

console_link("devices", _("Devices"), "console:devices_list", perm=Perm.VIEW_DEVICES, order=50)
