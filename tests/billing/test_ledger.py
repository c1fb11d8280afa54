"""The ledger writer: balanced, idempotent, immutable, hash-chained, and verifiable."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from anju.billing import ledger
from anju.billing.ledger import LedgerLine
from anju.billing.models import Account, LedgerChainHead, LedgerEntry, LedgerEntryLine
from anju.core.errors import Conflict, DomainError
from anju.core.tenancy import community_scope, scopes_disabled

pytestmark = pytest.mark.django_db


def _charge(world, key: str, fen: int = 12_345, home_index: int = 0):
    estate = world.a
    return ledger.post_entry(
        community_id=estate.community.pk,
        lines=[
            LedgerLine(Account.RECEIVABLE, debit_fen=fen, home_id=estate.homes[home_index].pk),
            LedgerLine(Account.INCOME_PROPERTY_FEE, credit_fen=fen),
        ],
        key=key,
        memo="test charge",
        source_type="test",
        source_id=key,
        actor=world.user("finance"),
    )


def test_balanced_entry_is_posted_with_a_linked_hash(world):
    first = _charge(world, "k1")
    second = _charge(world, "k2", 500)
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == ledger.GENESIS_HASH
    assert second.prev_hash == first.hash
    with community_scope(world.a.community.pk):
        head = LedgerChainHead.objects.get(community_id=world.a.community.pk)
        assert (head.seq, head.hash) == (2, second.hash)
        assert ledger.balance_fen(Account.RECEIVABLE, home_id=world.a.homes[0].pk) == 12_845
        assert ledger.balance_fen(Account.INCOME_PROPERTY_FEE) == -12_845
    assert ledger.verify_ledger(world.a.community.pk) == []


@pytest.mark.parametrize(
    "lines",
    [
        [LedgerLine(Account.CASH, debit_fen=100), LedgerLine(Account.INCOME_FIXED, credit_fen=99)],
        [LedgerLine(Account.CASH, debit_fen=100)],
        [],
        [LedgerLine(Account.CASH, debit_fen=100, credit_fen=100), LedgerLine(Account.BANK, credit_fen=0)],
        [LedgerLine(Account.CASH, debit_fen=-5), LedgerLine(Account.BANK, credit_fen=-5)],
        [LedgerLine(Account.CASH, debit_fen=1.5), LedgerLine(Account.BANK, credit_fen=1.5)],  # type: ignore[arg-type]
        [LedgerLine("no_such_account", debit_fen=5), LedgerLine(Account.BANK, credit_fen=5)],
    ],
)
def test_invalid_entries_are_refused_and_write_nothing(world, lines):
    with pytest.raises(DomainError) as refused:
        ledger.post_entry(community_id=world.a.community.pk, lines=lines, key="bad", actor=None)
    assert refused.value.status == 400
    with community_scope(world.a.community.pk):
        assert LedgerEntry.objects.count() == 0
        assert LedgerEntryLine.objects.count() == 0


def test_unbalanced_entry_has_its_own_code(world):
    with pytest.raises(ledger.UnbalancedEntry) as refused:
        ledger.post_entry(
            community_id=world.a.community.pk,
            lines=[LedgerLine(Account.CASH, debit_fen=2), LedgerLine(Account.INCOME_FIXED, credit_fen=1)],
            key="x",
            actor=None,
        )
    assert refused.value.code == "ledger_unbalanced"


def test_same_key_same_content_is_idempotent_but_different_content_is_refused(world):
    first = _charge(world, "once")
    again = _charge(world, "once")
    assert again.pk == first.pk
    with pytest.raises(Conflict) as refused:
        _charge(world, "once", fen=1)
    assert refused.value.code == "ledger_key_reused"
    with community_scope(world.a.community.pk):
        assert LedgerEntry.objects.count() == 1


def test_keys_are_per_community(world):
    _charge(world, "shared-key")
    other = ledger.post_entry(
        community_id=world.b.community.pk,
        lines=[LedgerLine(Account.CASH, debit_fen=7), LedgerLine(Account.INCOME_FIXED, credit_fen=7)],
        key="shared-key",
        actor=None,
    )
    assert other.seq == 1


def test_entries_and_lines_refuse_update(world):
    entry = _charge(world, "immutable")
    with scopes_disabled(), pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(total_fen=1)
    with scopes_disabled(), pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntryLine.objects.filter(entry=entry).update(debit_fen=1)


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="DELETE is refused by trigger on PostgreSQL only")
def test_entries_refuse_delete_on_postgresql(world):
    entry = _charge(world, "nodelete")
    with scopes_disabled(), pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntryLine.objects.filter(entry=entry).delete()


def test_reversal_mirrors_the_entry_once(world):
    entry = _charge(world, "to-reverse", 800)
    reversal = ledger.reverse_entry(community_id=world.a.community.pk, entry_id=entry.pk, reason="typo", actor=None)
    assert reversal.reverses_id == entry.pk
    again = ledger.reverse_entry(community_id=world.a.community.pk, entry_id=entry.pk, reason="typo", actor=None)
    assert again.pk == reversal.pk
    with community_scope(world.a.community.pk):
        assert ledger.balance_fen(Account.RECEIVABLE, home_id=world.a.homes[0].pk) == 0
    assert ledger.verify_ledger(world.a.community.pk) == []


def _tamper(sql: str, params: list) -> None:
    """Change stored rows behind the writer's back, as someone with database access would: the
    append-only triggers have to be bypassed first (superuser replica mode on PostgreSQL, dropping
    the trigger on SQLite)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
            cursor.execute(sql, params)
            cursor.execute("SET session_replication_role = origin")
            return
        for table in ("billing_ledgerentry", "billing_ledgerentryline"):
            cursor.execute(f"DROP TRIGGER {table}_append_only")
        cursor.execute(sql, params)
        for table in ("billing_ledgerentry", "billing_ledgerentryline"):
            cursor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
            )


def test_verify_detects_a_changed_amount(world):
    _charge(world, "a1", 1000)
    target = _charge(world, "a2", 2000)
    _charge(world, "a3", 3000)
    assert ledger.verify_ledger(world.a.community.pk) == []
    _tamper(
        "UPDATE billing_ledgerentryline SET debit_fen = debit_fen + 100 WHERE entry_id = %s AND debit_fen > 0",
        [target.pk],
    )
    problems = ledger.verify_ledger(world.a.community.pk)
    assert any(f"#{target.seq}" in problem for problem in problems)


def test_verify_detects_a_rewritten_memo_even_with_balanced_lines(world):
    _charge(world, "m1")
    target = _charge(world, "m2")
    _tamper("UPDATE billing_ledgerentry SET memo = %s WHERE id = %s", ["changed", target.pk])
    problems = ledger.verify_ledger(world.a.community.pk)
    assert problems and "hash" in problems[0]


def test_verify_detects_a_removed_entry(world):
    _charge(world, "r1")
    middle = _charge(world, "r2")
    _charge(world, "r3")
    _tamper("DELETE FROM billing_ledgerentryline WHERE entry_id = %s", [middle.pk])
    _tamper("DELETE FROM billing_ledgerentry WHERE id = %s", [middle.pk])
    problems = ledger.verify_ledger(world.a.community.pk)
    assert any("sequence" in problem or "previous hash" in problem for problem in problems)


def test_bulk_path_posts_many_entries_in_one_chain(world):
    drafts = [
        ledger.EntryDraft(
            key=f"bulk:{n}",
            lines=[
                LedgerLine(Account.RECEIVABLE, debit_fen=100 + n, home_id=world.a.homes[n % 3].pk),
                LedgerLine(Account.INCOME_FIXED, credit_fen=100 + n),
            ],
        )
        for n in range(50)
    ]
    entries = ledger.post_entries(community_id=world.a.community.pk, drafts=drafts, actor=None)
    assert [e.seq for e in entries] == list(range(1, 51))
    again = ledger.post_entries(community_id=world.a.community.pk, drafts=drafts, actor=None)
    assert [e.pk for e in again] == [e.pk for e in entries]
    assert ledger.verify_ledger(world.a.community.pk) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locking needs PostgreSQL")
def test_concurrent_writers_never_fork_the_chain():
    from tests.personas import build_world

    world = build_world()
    community_id = world.a.community.pk
    home_id = world.a.homes[0].pk
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(5):
                ledger.post_entry(
                    community_id=community_id,
                    lines=[
                        LedgerLine(Account.RECEIVABLE, debit_fen=10 + i, home_id=home_id),
                        LedgerLine(Account.INCOME_FIXED, credit_fen=10 + i),
                    ],
                    key=f"t{n}:{i}",
                    actor=None,
                )
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with community_scope(community_id):
        seqs = sorted(LedgerEntry.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, 41))
    assert ledger.verify_ledger(community_id) == []
