"""Personal data at rest: authenticated encryption plus a blind index for exact look-ups.

Each sensitive value (a mobile number, an ID number) is stored three ways:

* ``*_encrypted``: Fernet (AES-128-CBC + HMAC-SHA256) ciphertext under a key derived from
  ``ANJU_DATA_KEY``. Only :func:`anju.core.personal_data.reveal` decrypts, and it writes an audit row.
* ``*_index``: HMAC-SHA256 of the normalised value under a second derived key, so "find the person
  with phone 13812345678" is an indexed equality query without decrypting anything. Different
  ``purpose`` strings give unrelated digests, so a phone index cannot be matched against an ID index.
* ``*_masked``: the display form (``138****1234``), which is all that lists and pages ever show.

Both keys come from the one configured key through HKDF, so rotating ``ANJU_DATA_KEY`` is one
operation (re-encrypt and re-index, see docs/security.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"anju-personal-data", info=info).derive(master)


@lru_cache(maxsize=4)
def _keys(configured: str) -> tuple[Fernet, bytes]:
    try:
        master = base64.urlsafe_b64decode(configured.encode())
    except ValueError as exc:  # pragma: no cover - configuration error
        raise ValueError("ANJU_DATA_KEY must be a urlsafe base64 key (see docs/security.md)") from exc
    if len(master) < 32:
        raise ValueError("ANJU_DATA_KEY must hold at least 32 bytes")
    fernet = Fernet(base64.urlsafe_b64encode(_derive(master, b"encrypt")))
    return fernet, _derive(master, b"blind-index")


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    fernet, _ = _keys(settings.ANJU_DATA_KEY)
    return fernet.encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    if not ciphertext:
        return ""
    fernet, _ = _keys(settings.ANJU_DATA_KEY)
    try:
        return fernet.decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("personal data could not be decrypted with the configured ANJU_DATA_KEY") from exc


def blind_index(value: str, *, purpose: str) -> str:
    if not value:
        return ""
    _, key = _keys(settings.ANJU_DATA_KEY)
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Sealed:
    """A personal value ready to store: ciphertext, blind index and masked display form."""

    encrypted: str
    index: str
    masked: str


def mask_phone(phone: str) -> str:
    """``13812341234`` -> ``138****1234``."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id_number(id_number: str) -> str:
    """``110105199001011234`` -> ``110105********1234``; shorter documents keep 1+1 characters."""
    if len(id_number) >= 15:
        return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]
    if len(id_number) <= 2:
        return "*" * len(id_number)
    return id_number[0] + "*" * (len(id_number) - 2) + id_number[-1]


def seal_phone(phone: str) -> Sealed:
    return Sealed(encrypt(phone), blind_index(phone, purpose="phone"), mask_phone(phone) if phone else "")


def seal_id_number(id_number: str) -> Sealed:
    return Sealed(
        encrypt(id_number),
        blind_index(id_number, purpose="id_number"),
        mask_id_number(id_number) if id_number else "",
    )
