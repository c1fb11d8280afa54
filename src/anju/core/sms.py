"""Sending SMS through a configured backend (``ANJU_SMS_BACKEND``), like Django's email backends."""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from anju.core.crypto import mask_phone

logger = logging.getLogger(__name__)


class SmsBackend(Protocol):
    def send(self, phone: str, body: str) -> None: ...


class ConsoleSmsBackend:
    """Development: print the message, as Django's console email backend does."""

    def send(self, phone: str, body: str) -> None:
        print(f"[SMS to {mask_phone(phone)}] {body}", flush=True)


outbox: list[tuple[str, str]] = []


class LocmemSmsBackend:
    """Tests: keep messages in :data:`outbox`."""

    def send(self, phone: str, body: str) -> None:
        outbox.append((phone, body))


def send_sms(phone: str, body: str) -> None:
    backend: SmsBackend = import_string(settings.ANJU_SMS_BACKEND)()
    backend.send(phone, body)
