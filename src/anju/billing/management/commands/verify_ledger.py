"""``anju verify_ledger [--community CODE ...]``: recompute every community's ledger.

Checks that each entry balances and keeps its lines, that the hash chain is unbroken from the first
entry to the chain head, that every bill is posted and matches its posting per home, and whatever
other apps registered (payments). Exits 2 when anything is wrong, listing the problems.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from anju.billing.ledger import verify_ledger
from anju.estates.models import Community


class Command(BaseCommand):
    help = "Verify the ledger of every community (balance, hash chain, bills and payments posted)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--community", action="append", default=[], help="community code (repeatable)")

    def handle(self, *args: Any, community: list[str], **options: Any) -> None:
        communities = Community.objects.order_by("pk")
        if community:
            communities = communities.filter(code__in=community)
            missing = set(community) - set(communities.values_list("code", flat=True))
            if missing:
                raise CommandError(
                    _("Unknown community: %(codes)s") % {"codes": ", ".join(sorted(missing))}, returncode=2
                )
        failed = 0
        for item in communities:
            problems = verify_ledger(item.pk)
            if problems:
                failed += 1
                self.stdout.write(
                    _("%(community)s: %(count)d problem(s)") % {"community": item.code, "count": len(problems)}
                )
                for problem in problems[:50]:
                    self.stdout.write(f"  - {problem}")
            else:
                self.stdout.write(_("%(community)s: ledger verified") % {"community": item.code})
        if failed:
            raise CommandError(
                _("The ledger of %(count)d community(ies) does not verify.") % {"count": failed}, returncode=2
            )
