"""Links the apps add to the console's community menu and the portal's tabs.

An app registers its entries in ``AppConfig.ready`` (or its ``navigation.py``)::

    console_link("workorders", _("Work orders"), "console:workorders_board", perm=Perm.VIEW_WORKORDERS, order=20)
    portal_tab("workorders", _("Repairs"), "portal:workorders_requests", order=20)

Console links take the community id as their only URL argument and show only to users holding
``perm`` there; portal tabs take no URL arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise

from anju.core.permissions import Perm


@dataclass(frozen=True)
class NavLink:
    key: str
    label: str | Promise
    url_name: str
    perm: Perm | None
    order: int


CONSOLE_LINKS: dict[str, NavLink] = {}
PORTAL_TABS: dict[str, NavLink] = {}


def console_link(key: str, label: str | Promise, url_name: str, *, perm: Perm | None = None, order: int = 100) -> None:
    CONSOLE_LINKS[key] = NavLink(key, label, url_name, perm, order)


def portal_tab(key: str, label: str | Promise, url_name: str, *, order: int = 100) -> None:
    PORTAL_TABS[key] = NavLink(key, label, url_name, None, order)


def console_links(permissions: dict[str, bool]) -> list[NavLink]:
    """The registered console links the user may follow, given ``can`` (perm value → bool)."""
    links = sorted(CONSOLE_LINKS.values(), key=lambda link: (link.order, link.key))
    return [link for link in links if link.perm is None or permissions.get(link.perm.value, False)]


def portal_tabs() -> list[NavLink]:
    return sorted(PORTAL_TABS.values(), key=lambda link: (link.order, link.key))
