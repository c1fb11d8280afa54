"""Domain errors: what a service raises when the caller asked for something it may not have.

Each carries a stable machine ``code`` and a translatable human ``message``. The API turns them into
``{"code", "message"}`` with :attr:`status`; pages turn them into a form error or a flash message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    status = 400
    code = "invalid"
    default_message: Any = _("The request could not be carried out.")
    #: For a bulk service: the position in its input of the record refused, so a caller can say which.
    item: int | None = None

    def __init__(self, message: Any = None, *, code: str | None = None, field: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.field = field
        super().__init__(str(self.message))


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _("Not found, or not yours to see.")


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    default_message = _("You do not have permission to do this.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _("This conflicts with the current state; reload and try again.")


@contextmanager
def for_item(index: int) -> Iterator[None]:
    """In a bulk service's loop: a refusal raised inside names the record (``item``) it is about."""
    try:
        yield
    except DomainError as exc:
        exc.item = index
        raise
