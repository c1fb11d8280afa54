"""Building blocks shared by the apps' API schemas."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.utils import timezone
from ninja import Field, Schema
from pydantic import ConfigDict, StringConstraints, model_validator

# No control characters: PostgreSQL refuses NUL in text, and nothing a clerk types contains them.
_PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def text(max_length: int, *, min_length: int = 0) -> StringConstraints:
    """Constraints for ``Annotated[str, text(n)]``: stripped, fits its database column (PostgreSQL
    enforces lengths that SQLite ignores), no control characters."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=_PRINTABLE)


SearchText = Annotated[str, text(100)]
# A row id as the databases store it (64-bit): larger numbers are refused as input rather than
# overflowing inside the database driver.
ObjectId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class Input(Schema):
    """Request bodies: unknown fields are an error (a typo must not be silently ignored) and enum
    members arrive as their plain string values, ready for the services."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)


class Patch(Input):
    """A partial update: omit a field to keep it; ``null`` is refused rather than guessed at."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(key for key, value in data.items() if value is None)
            if nulls:
                raise ValueError(f"omit a field to leave it unchanged instead of sending null: {', '.join(nulls)}")
        return data

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


def local(value: dt.datetime | None) -> dt.datetime | None:
    """Times go out in Asia/Shanghai (the configured zone), with their offset."""
    return timezone.localtime(value) if value is not None else None
