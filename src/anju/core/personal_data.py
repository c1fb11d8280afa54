"""Reading personal data in the clear: permitted, purposeful, and always audited."""

from __future__ import annotations

from typing import Literal

from django.db import models, transaction

from anju.core import audit
from anju.core.crypto import decrypt
from anju.core.models import User

PersonalField = Literal["phone", "id_number"]


@transaction.atomic
def reveal(obj: models.Model, field: PersonalField, *, actor: User, reason: str = "") -> str:
    """Decrypt ``obj.<field>_encrypted`` and log who read it, when and why.

    The caller has already checked ``Perm.REVEAL_PERSONAL_DATA``; this function makes sure the read
    leaves a trace even if a future caller forgets to.
    """
    plaintext = decrypt(getattr(obj, f"{field}_encrypted"))
    audit.record(
        actor=actor,
        action="personal_data.reveal",
        obj=obj,
        after={"field": field, "reason": reason[:200]},
    )
    return plaintext
