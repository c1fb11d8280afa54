"""Writing the audit log. Services call :func:`record` inside their transaction."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec

from django.db import models

from anju.core.middleware import current_ip
from anju.core.models import AuditEntry, User

P = ParamSpec("P")


def _jsonable(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """The audited state of ``obj``: concrete fields by attribute name, personal data only masked.

    Ciphertext and blind-index columns (``*_encrypted``, ``*_index``) are left out; the masked form
    says what changed without putting the plaintext into the log.
    """
    result: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        name = field.attname
        if fields is not None and field.name not in fields and name not in fields:
            continue
        if name.endswith(("_encrypted", "_index")) or name in {"password"}:
            continue
        result[name] = _jsonable(getattr(obj, name))
    return result


def entry(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    community_id: int | None = None,
    organization_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    keep_ip: bool = True,
) -> AuditEntry:
    """One audit row, not yet saved. Single writes save it through :func:`record`; bulk services
    build one per record and write them all with ``AuditEntry.objects.bulk_create`` in their
    transaction, so a thousand homes cost one insert of audit rows, not a thousand.

    ``keep_ip=False`` leaves the request's address out, for writes that must not be traceable to a
    person (an anonymous survey answer)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_label = object_label or str(obj)[:200]
        if community_id is None:
            community_id = getattr(obj, "community_id", None)
    return AuditEntry(
        actor_id=actor.pk if actor is not None else None,
        actor_label=(str(actor) if actor is not None else "system")[:150],
        organization_id=organization_id,
        community_id=community_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_label=object_label,
        before=before,
        after=after,
        ip_address=current_ip() if keep_ip else None,
    )


def _saved(build: Callable[P, AuditEntry]) -> Callable[P, AuditEntry]:
    def record(*args: P.args, **kwargs: P.kwargs) -> AuditEntry:
        """Append one audit row (arguments as for :func:`entry`). Call it inside the service's
        transaction so both commit or neither."""
        row = build(*args, **kwargs)
        row.save(force_insert=True)
        return row

    return record


record = _saved(entry)


def record_all(entries: list[AuditEntry]) -> None:
    """Write the rows :func:`entry` built, in batches; call it inside the bulk service's transaction."""
    AuditEntry.objects.bulk_create(entries, batch_size=500)


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, so an update's audit row shows what actually changed."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}
