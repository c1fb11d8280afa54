"""The console link of preventive work."""

from django.utils.translation import gettext_lazy as _

from anju.core.permissions import Perm
from anju.web.navigation import console_link

console_link(
    "preventive", _("Patrols and maintenance"), "console:preventive_rounds", perm=Perm.VIEW_WORKORDERS, order=25
)
