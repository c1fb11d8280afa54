from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from anju.core.models import AuditEntry


def test_audit_rows_cannot_be_updated(world):
    entry = AuditEntry.objects.filter(action="community.create").first()
    assert entry is not None
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="tampered")
    entry.refresh_from_db()
    assert entry.action == "community.create"
