"""``anju verify_statement <id>``: check a published statement against its fingerprint and the ledger.

Exits 0 when the statement verifies, 2 when it does not (or does not exist), printing what differs.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from anju.billing.payments.models import Statement
from anju.billing.payments.services.accounts import verify_statement
from anju.core.tenancy import community_scope, scopes_disabled


class Command(BaseCommand):
    help = "Verify a published statement of accounts against its fingerprint and the ledger's hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("statement_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        with scopes_disabled():
            statement = Statement.objects.filter(pk=options["statement_id"]).select_related("community").first()
        if statement is None:
            raise CommandError(f"statement {options['statement_id']} does not exist", returncode=2)
        with community_scope(statement.community_id):
            result = verify_statement(statement)
        self.stdout.write(
            f"statement {statement.pk} · {statement.community.name} · {statement.starts_on} – {statement.ends_on}\n"
            f"ledger seq {statement.ledger_seq} hash {statement.ledger_hash}\n"
            f"fingerprint {'ok' if result.digest_ok else 'MISMATCH'} · "
            f"ledger chain {'ok' if result.chain_ok else 'BROKEN'} · "
            f"figures {'ok' if result.figures_ok else 'DIFFER: ' + ', '.join(result.differences)}"
        )
        if not result.ok:
            raise CommandError("statement does NOT verify", returncode=2)
        self.stdout.write(self.style.SUCCESS("statement verifies"))
