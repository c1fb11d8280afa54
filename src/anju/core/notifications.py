"""In-app notifications, with SMS and e-mail copies through the configured providers.

Every app tells people about what happened through :func:`notify`, called inside the service's
transaction: the in-app rows are part of the change (they commit or roll back with it), while the
SMS and e-mail copies leave only after the commit, so nobody is texted about something that did not
happen. Residents and staff read theirs at ``/notifications/`` and ``GET /api/v1/notifications``.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from anju.core import sms as sms_provider
from anju.core.crypto import decrypt
from anju.core.models import Notification, User


def _phone_of(user: User) -> str:
    """The account's mobile number, decrypted only to hand it to the SMS provider (not shown to
    anyone, so not an audited read)."""
    return decrypt(user.phone_encrypted) if user.phone_encrypted else ""


def notify(
    recipients: Iterable[User],
    *,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    community_id: int | None = None,
    sms: bool = False,
    email: bool = False,
) -> list[Notification]:
    """Notify each distinct active recipient in the app; optionally also by SMS and e-mail after
    commit. ``title`` and ``body`` are final text: translate them before calling."""
    users = {user.pk: user for user in recipients if user is not None and user.is_active}
    now = timezone.now()
    rows = Notification.objects.bulk_create(
        [
            Notification(
                recipient=user,
                community_id=community_id,
                kind=kind,
                title=title[:200],
                body=body,
                url=url,
                created_at=now,
            )
            for user in users.values()
        ]
    )
    if sms:
        text = f"{title} {body}".strip()
        phones = [phone for phone in (_phone_of(user) for user in users.values()) if phone]
        transaction.on_commit(lambda: _send_sms(phones, text))
    if email:
        addresses = [user.email for user in users.values() if user.email]
        if addresses:
            transaction.on_commit(
                lambda: send_mail(title, body or title, settings.DEFAULT_FROM_EMAIL, addresses, fail_silently=True)
            )
    return rows


def _send_sms(phones: list[str], text: str) -> None:
    for phone in phones:
        sms_provider.send_sms(phone, text)


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


@transaction.atomic
def mark_read(user: User, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all of them when ``ids`` is None). Reading one's own
    notifications is not audited: it changes nothing anybody else sees."""
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())
