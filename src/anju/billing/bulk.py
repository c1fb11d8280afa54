"""Fast inserts for the bill run and the ledger's bulk path.

On PostgreSQL rows go in with ``COPY … FROM STDIN`` (psycopg 3's binary-free text COPY), an order of
magnitude faster than INSERT for the hundreds of thousands of rows a city-scale bill run writes; ids
for rows that others must reference are reserved beforehand from the table's sequence. Elsewhere
(SQLite) the same rows go through ``executemany`` in batches.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, models

BATCH = 2000


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration. A bill run builds a few hundred
    thousand line tuples (no reference cycles among them), and each of the collections their
    allocation triggers walks every live object again: a sixth of the run's time on a large
    community. Turned back on afterwards, unless it was off already."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` fresh primary keys for ``model``. PostgreSQL: from its identity sequence, so they
    never collide with concurrent inserts. Elsewhere (SQLite, where writers are serialized by the
    database lock the surrounding transaction holds): the next ids after the current maximum."""
    if count <= 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence is looked up first: as an argument of nextval() in the same query it would be
            # resolved again for every id, several times the cost of the nextval calls themselves.
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count])
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f'SELECT COALESCE(MAX("{pk}"), 0) FROM "{table}"')
        start = int(cursor.fetchone()[0]) + 1
        return list(range(start, start + count))


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (tuples in the order of ``columns``, database column names) into ``model``'s
    table without model instances. Returns the number of rows written. Runs inside the caller's
    transaction; constraints and triggers apply as for any insert."""
    table = model._meta.db_table
    column_list = ", ".join(f'"{column}"' for column in columns)
    written = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f'COPY "{table}" ({column_list}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
            return written
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f'INSERT INTO "{table}" ({column_list}) VALUES ({placeholders})'
        batch: list[Sequence[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                cursor.executemany(sql, batch)
                written += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            written += len(batch)
    return written
