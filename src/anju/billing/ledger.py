"""The one writer of the double-entry ledger, and its verifier.

Every money movement in anju — a bill run, a one-off charge, a credit, a payment, a refund — is
posted here as a :class:`~anju.billing.models.LedgerEntry` of balanced :class:`LedgerLine` s in
integer fen. The writer

* refuses an entry whose debits and credits differ, that has no lines, a line with both or neither
  side, a negative or non-integer amount, or an unknown account;
* is idempotent by ``key`` (unique per community): posting the same key with the same content again
  returns the stored entry and writes nothing; the same key with *different* content is refused,
  because that is a bug in the caller, not a retry;
* never changes an entry (the tables refuse UPDATE; a correction is :func:`reverse_entry`);
* extends the community's SHA-256 hash chain: each entry's hash covers the previous entry's hash, its
  header and its lines in a canonical order. The community's :class:`LedgerChainHead` row is locked
  (``SELECT … FOR UPDATE``) and then advanced with a conditional UPDATE on the sequence number it
  was read at, so two concurrent writers can never both append after the same entry.

:func:`post_entries` is the bulk path (one lock, one audit row, lines written with COPY on
PostgreSQL); :func:`post_entry` posts one. :func:`verify_ledger` recomputes all of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.billing.bulk import insert_rows
from anju.billing.models import Account, Bill, LedgerChainHead, LedgerEntry, LedgerEntryLine
from anju.core import audit
from anju.core.errors import Conflict, DomainError, NotFound
from anju.core.models import User
from anju.core.tenancy import community_scope

GENESIS_HASH = "0" * 64
EXPENSE_ACCOUNT = re.compile(r"^expense:[a-z][a-z0-9_]{0,30}$")
ACCOUNTS = frozenset(Account.values)


class LedgerError(DomainError):
    code = "ledger_invalid"
    default_message = _("The ledger entry is invalid.")


class UnbalancedEntry(LedgerError):
    code = "ledger_unbalanced"
    default_message = _("Debits and credits of a ledger entry must be equal.")


class KeyReused(Conflict):
    code = "ledger_key_reused"
    default_message = _("This idempotency key was already used for a different ledger entry.")


class LedgerLine(NamedTuple):
    """One side of an entry, as callers write it. Exactly one of the amounts is positive. (A named
    tuple rather than a frozen dataclass: a bill run makes one per home, and a tuple is made in
    less than half the time.)"""

    account: str
    debit_fen: int = 0
    credit_fen: int = 0
    home_id: int | None = None

    def canonical(self) -> tuple[str, int, int, int]:
        return (self.account, self.home_id or 0, self.debit_fen, self.credit_fen)


@dataclass
class EntryDraft:
    """An entry to post with :func:`post_entries`."""

    key: str
    lines: Sequence[LedgerLine]
    memo: str = ""
    source_type: str = ""
    source_id: str = ""
    reverses_id: int | None = None
    total_fen: int = field(init=False, default=0)


def is_account(code: str) -> bool:
    return code in ACCOUNTS or bool(EXPENSE_ACCOUNT.match(code))


def _validate(draft: EntryDraft) -> None:
    if not draft.key or len(draft.key) > 120:
        raise LedgerError(_("A ledger entry needs an idempotency key of at most 120 characters."), field="key")
    if not draft.lines:
        raise LedgerError(_("A ledger entry needs at least two lines."))
    debit = credit = 0
    for line in draft.lines:
        debit_fen, credit_fen = line.debit_fen, line.credit_fen
        if type(debit_fen) is not int or type(credit_fen) is not int or debit_fen < 0 or credit_fen < 0:
            raise LedgerError(_("Ledger amounts are whole, non-negative numbers of fen."))
        if (debit_fen > 0) == (credit_fen > 0):
            raise LedgerError(_("Each ledger line is either a debit or a credit, and not zero."))
        debit += debit_fen
        credit += credit_fen
    # Accounts checked once each: a bill run's entry has one receivable line per home.
    for account in {line.account for line in draft.lines}:
        if not is_account(account):
            raise LedgerError(_("Unknown ledger account “%(account)s”.") % {"account": account})
    if debit != credit:
        raise UnbalancedEntry()
    draft.total_fen = debit


def canonical_lines_text(canonical_lines: Iterable[tuple[str, int, int, int]]) -> str:
    """An entry's lines as the hash chain reads them: ``account|home|debit|credit`` per line, sorted,
    one per line. Writers outside this module (the payments bridge) hash with the same text."""
    return "\n".join(f"{a}|{h}|{d}|{c}" for a, h, d, c in sorted(canonical_lines))


def entry_hash(
    *,
    prev_hash: str,
    community_id: int,
    seq: int,
    key: str,
    memo: str,
    source_type: str,
    source_id: str,
    posted_at: dt.datetime,
    reverses_id: int | None,
    total_fen: int,
    lines_text: str,
) -> str:
    """SHA-256 over the previous hash, the entry's header (JSON, UTC timestamp) and its lines sorted
    as ``account|home_id|debit|credit`` — the same bytes whichever order the lines were written in."""
    header = json.dumps(
        [
            community_id,
            seq,
            key,
            memo,
            source_type,
            source_id,
            posted_at.astimezone(dt.UTC).isoformat(),
            reverses_id,
            total_fen,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    digest = hashlib.sha256()
    digest.update(prev_hash.encode())
    digest.update(b"\n")
    digest.update(header.encode())
    digest.update(b"\n")
    digest.update(lines_text.encode())
    return digest.hexdigest()


def _stored_lines(entry: LedgerEntry) -> list[tuple[str, int, int, int]]:
    return [
        (account, home_id or 0, debit, credit)
        for account, home_id, debit, credit in LedgerEntryLine.objects.filter(entry=entry).values_list(
            "account", "home_id", "debit_fen", "credit_fen"
        )
    ]


def _same_content(entry: LedgerEntry, draft: EntryDraft) -> bool:
    return (
        entry.total_fen == draft.total_fen
        and entry.reverses_id == draft.reverses_id
        and sorted(_stored_lines(entry)) == sorted(line.canonical() for line in draft.lines)
    )


def _lock_head(community_id: int) -> LedgerChainHead:
    LedgerChainHead.objects.bulk_create(
        [LedgerChainHead(community_id=community_id, seq=0, hash=GENESIS_HASH)], ignore_conflicts=True
    )
    return LedgerChainHead.objects.select_for_update().get(community_id=community_id)


@transaction.atomic
def post_entries(
    *, community_id: int, drafts: Sequence[EntryDraft], actor: User | None, now: dt.datetime | None = None
) -> list[LedgerEntry]:
    """Post several entries in one transaction under one lock of the chain head; the bulk path.

    Returns the entries in the order of ``drafts``: stored ones for keys already posted with the same
    content, new ones otherwise. Refuses everything (writes nothing) if any draft is invalid or
    reuses a key with different content.
    """
    keys = [draft.key for draft in drafts]
    if len(set(keys)) != len(keys):
        raise LedgerError(_("Two entries in one posting share an idempotency key."))
    for draft in drafts:
        _validate(draft)
    posted_at = now or timezone.now()
    with community_scope(community_id):
        head = _lock_head(community_id)
        existing = {entry.key: entry for entry in LedgerEntry.objects.filter(key__in=keys)}
        for draft in drafts:
            if draft.key in existing and not _same_content(existing[draft.key], draft):
                raise KeyReused(field="key")
        start_seq, prev_hash = head.seq, head.hash
        seq = start_seq
        new_entries: list[tuple[LedgerEntry, EntryDraft]] = []
        for draft in drafts:
            if draft.key in existing:
                continue
            seq += 1
            canonical = [(line.account, line.home_id or 0, line.debit_fen, line.credit_fen) for line in draft.lines]
            entry = LedgerEntry(
                community_id=community_id,
                seq=seq,
                key=draft.key,
                memo=draft.memo[:200],
                source_type=draft.source_type,
                source_id=str(draft.source_id),
                posted_at=posted_at,
                actor_id=actor.pk if actor is not None else None,
                actor_label=(str(actor) if actor is not None else "system")[:150],
                reverses_id=draft.reverses_id,
                total_fen=draft.total_fen,
                line_count=len(canonical),
                prev_hash=prev_hash,
            )
            entry.hash = entry_hash(
                prev_hash=prev_hash,
                community_id=community_id,
                seq=seq,
                key=entry.key,
                memo=entry.memo,
                source_type=entry.source_type,
                source_id=entry.source_id,
                posted_at=posted_at,
                reverses_id=draft.reverses_id,
                total_fen=draft.total_fen,
                lines_text=canonical_lines_text(canonical),
            )
            prev_hash = entry.hash
            new_entries.append((entry, draft))
        if new_entries:
            created = LedgerEntry.objects.bulk_create([entry for entry, _draft in new_entries], batch_size=1000)
            if any(entry.pk is None for entry in created):  # a backend that cannot return ids
                by_key = dict(LedgerEntry.objects.filter(key__in=[e.key for e in created]).values_list("key", "pk"))
                for entry in created:
                    entry.pk = by_key[entry.key]
            insert_rows(
                LedgerEntryLine,
                ("community_id", "entry_id", "account", "home_id", "debit_fen", "credit_fen"),
                (
                    (community_id, entry.pk, line.account, line.home_id, line.debit_fen, line.credit_fen)
                    for entry, draft in new_entries
                    for line in draft.lines
                ),
            )
            moved = LedgerChainHead.objects.filter(community_id=community_id, seq=start_seq).update(
                seq=seq, hash=prev_hash
            )
            if moved != 1:  # cannot happen under the row lock; refuse rather than fork the chain
                raise Conflict(_("The ledger moved on while posting; try again."))
            first, last = new_entries[0][0], new_entries[-1][0]
            audit.record(
                actor=actor,
                action="ledger.post",
                object_type="billing.ledgerentry",
                object_id=str(first.pk),
                object_label=first.memo or first.key,
                community_id=community_id,
                after={
                    "entries": len(new_entries),
                    "seq": [first.seq, last.seq],
                    "keys": [e.key for e, _d in new_entries[:20]],
                    "total_fen": sum(e.total_fen for e, _d in new_entries),
                },
            )
    created_by_key = {entry.key: entry for entry, _draft in new_entries}
    return [existing.get(key) or created_by_key[key] for key in keys]


def post_entry(
    *,
    community_id: int,
    lines: Sequence[LedgerLine],
    key: str,
    memo: str = "",
    source_type: str = "",
    source_id: str | int = "",
    actor: User | None,
    reverses_id: int | None = None,
) -> LedgerEntry:
    """Post one balanced entry (see the module docstring); idempotent by ``key``."""
    draft = EntryDraft(
        key=key, lines=lines, memo=memo, source_type=source_type, source_id=str(source_id), reverses_id=reverses_id
    )
    return post_entries(community_id=community_id, drafts=[draft], actor=actor)[0]


@transaction.atomic
def reverse_entry(*, community_id: int, entry_id: int, reason: str, actor: User | None) -> LedgerEntry:
    """Post the mirror image of an entry (debits and credits swapped). An entry is reversed at most
    once: reversing it again returns the existing reversal."""
    with community_scope(community_id):
        entry = LedgerEntry.objects.filter(pk=entry_id).first()
        if entry is None:
            raise NotFound()
        lines = [
            LedgerLine(account=a, debit_fen=c, credit_fen=d, home_id=h)
            for a, h, d, c in LedgerEntryLine.objects.filter(entry=entry).values_list(
                "account", "home_id", "debit_fen", "credit_fen"
            )
        ]
    return post_entry(
        community_id=community_id,
        lines=lines,
        key=f"reversal:{entry.pk}",
        memo=(_("Reversal of #%(seq)s: %(reason)s") % {"seq": entry.seq, "reason": reason})[:200],
        source_type="reversal",
        source_id=str(entry.pk),
        actor=actor,
        reverses_id=entry.pk,
    )


# --- Reading balances ----------------------------------------------------------------------------


def balance_fen(account: str, *, home_id: int | None = None) -> int:
    """Debits minus credits of ``account`` (for one home when given), inside a community scope."""
    lines = LedgerEntryLine.objects.filter(account=account)
    if home_id is not None:
        lines = lines.filter(home_id=home_id)
    sums = lines.aggregate(d=Sum("debit_fen"), c=Sum("credit_fen"))
    return (sums["d"] or 0) - (sums["c"] or 0)


def home_balances(account: str) -> dict[int, int]:
    """Debits minus credits of ``account`` per home, in the active scope."""
    rows = (
        LedgerEntryLine.objects.filter(account=account, home_id__isnull=False)
        .values("home_id")
        .annotate(d=Sum("debit_fen"), c=Sum("credit_fen"))
        .order_by()
    )
    return {row["home_id"]: (row["d"] or 0) - (row["c"] or 0) for row in rows}


# --- Verification --------------------------------------------------------------------------------

Verifier = Callable[[int], list[str]]
_VERIFIERS: list[Verifier] = []


def register_verifier(verifier: Verifier) -> None:
    """Add a check run by :func:`verify_ledger` for each community (e.g. "every payment is posted").
    It returns a list of problems, empty when all is well, and runs inside the community's scope."""
    if verifier not in _VERIFIERS:
        _VERIFIERS.append(verifier)


def verify_chain(community_id: int) -> list[str]:
    """Each entry balanced, sequence numbers contiguous, every hash recomputed and linked."""
    problems: list[str] = []
    prev_hash = GENESIS_HASH
    expected_seq = 1
    lines_by_entry: dict[int, list[tuple[str, int, int, int]]] = defaultdict(list)
    entries = list(LedgerEntry.objects.order_by("seq"))
    lines = LedgerEntryLine.objects.order_by("entry_id").values_list(
        "entry_id", "account", "home_id", "debit_fen", "credit_fen"
    )
    for entry_id, account, home_id, debit, credit in lines.iterator(chunk_size=20000):
        lines_by_entry[entry_id].append((account, home_id or 0, debit, credit))
    for entry in entries:
        own = lines_by_entry.get(entry.pk, [])
        debit = sum(line[2] for line in own)
        credit = sum(line[3] for line in own)
        if debit != credit or debit != entry.total_fen or len(own) != entry.line_count:
            problems.append(f"entry #{entry.seq} ({entry.key}) does not balance or lost lines")
        if entry.seq != expected_seq:
            problems.append(f"entry #{entry.seq}: expected sequence number {expected_seq}")
        if entry.prev_hash != prev_hash:
            problems.append(f"entry #{entry.seq}: previous hash does not link to the entry before it")
        recomputed = entry_hash(
            prev_hash=entry.prev_hash,
            community_id=community_id,
            seq=entry.seq,
            key=entry.key,
            memo=entry.memo,
            source_type=entry.source_type,
            source_id=entry.source_id,
            posted_at=entry.posted_at,
            reverses_id=entry.reverses_id,
            total_fen=entry.total_fen,
            lines_text=canonical_lines_text(own),
        )
        if recomputed != entry.hash:
            problems.append(f"entry #{entry.seq} ({entry.key}): hash does not match its contents")
        prev_hash = entry.hash
        expected_seq = entry.seq + 1
    head = LedgerChainHead.objects.filter(community_id=community_id).first()
    if entries and (head is None or head.hash != prev_hash or head.seq != entries[-1].seq):
        problems.append("the chain head does not point at the last entry")
    return problems


def verify_bills_posted(community_id: int) -> list[str]:
    """Every bill with an amount is posted, and each posting's receivable per home equals the bills
    it covers."""
    problems: list[str] = []
    unposted = Bill.objects.filter(ledger_entry__isnull=True, total_fen__gt=0).count()
    if unposted:
        problems.append(f"{unposted} bill(s) are not posted to the ledger")
    billed = {
        (row["ledger_entry_id"], row["home_id"]): row["t"]
        for row in Bill.objects.filter(ledger_entry__isnull=False)
        .values("ledger_entry_id", "home_id")
        .annotate(t=Sum("total_fen"))
        .order_by()
    }
    entry_ids = {entry_id for entry_id, _home in billed}
    posted = {
        (row["entry_id"], row["home_id"]): (row["d"] or 0) - (row["c"] or 0)
        for row in LedgerEntryLine.objects.filter(entry_id__in=entry_ids, account=Account.RECEIVABLE)
        .values("entry_id", "home_id")
        .annotate(d=Sum("debit_fen"), c=Sum("credit_fen"))
        .order_by()
    }
    mismatched = [key for key in billed if posted.get(key, 0) != billed[key]]
    mismatched += [key for key in posted if key not in billed]
    if mismatched:
        problems.append(f"{len(mismatched)} home posting(s) differ from their bills, e.g. entry/home {mismatched[0]}")
    return problems


def verify_ledger(community_id: int) -> list[str]:
    """All problems found in one community's ledger (empty when it verifies)."""
    with community_scope(community_id):
        problems = verify_chain(community_id)
        problems += verify_bills_posted(community_id)
        for verifier in _VERIFIERS:
            problems += verifier(community_id)
    return problems
