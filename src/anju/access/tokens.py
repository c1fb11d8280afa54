"""Compact signed tokens for visitor passes and residents' rotating QR codes.

A token is a fixed 38-byte body followed by its 64-byte Ed25519 signature, written as upper-case
hexadecimal behind the prefix ``AJ`` — only upper-case letters and digits, so a QR code uses its
alphanumeric mode (5.5 bits a character: about what base64 costs in byte mode), and decoding is one
C call (``bytes.fromhex``) where base32 would be a Python loop on every scan. The body::

    version  B   1
    kind     B   1 = visitor pass, 2 = resident QR
    kid      I   the community key that signed it (controllers hold every current public key)
    community I
    subject  I   the pass id, or the resident's QR credential id
    not_before I Unix seconds
    not_after  I Unix seconds (exclusive)
    building I   the host home's building (0: none)            \\
    unit     I   the host home's unit (0: none)                 } a pass's door scope, read by the
    floor    h   the host home's floor                          /  same rule as online decisions
    max_uses H   0 = unlimited (resident QR)
    flags    B   bit 0: the pass names a car plate

Verification needs only the public keys, so a controller does it offline; whether the pass was
revoked, and how often it has been used, it learns from its synced revocation list and its own
counters (:mod:`anju.access.controller`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "AJ"
VERSION = 1
KIND_PASS = 1
KIND_RESIDENT_QR = 2
FLAG_PLATE = 1
_BODY = struct.Struct(">BBIIIIIIIhHB")
SIGNATURE_BYTES = 64
TOKEN_BYTES = _BODY.size + SIGNATURE_BYTES


class TokenError(ValueError):
    """A token that cannot be trusted; ``code`` says why (stable, for logs and the API)."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


@dataclass(frozen=True, slots=True)
class TokenClaims:
    kind: int
    kid: int
    community_id: int
    subject_id: int
    not_before: int
    not_after: int
    building_id: int = 0
    unit_id: int = 0
    floor: int = 0
    max_uses: int = 0
    flags: int = 0

    @property
    def has_plate(self) -> bool:
        return bool(self.flags & FLAG_PLATE)

    def body(self) -> bytes:
        return _BODY.pack(
            VERSION,
            self.kind,
            self.kid,
            self.community_id,
            self.subject_id,
            self.not_before,
            self.not_after,
            self.building_id,
            self.unit_id,
            self.floor,
            self.max_uses,
            self.flags,
        )


def sign(claims: TokenClaims, private_key: Ed25519PrivateKey) -> str:
    body = claims.body()
    raw = body + private_key.sign(body)
    return encode(raw)


def encode(raw: bytes) -> str:
    """The text form of a signed token's bytes."""
    return PREFIX + raw.hex().upper()


def decode(token: str) -> tuple[TokenClaims, bytes, bytes]:
    """The claims, signed body and signature of ``token``, WITHOUT checking the signature."""
    text = token if len(token) == 2 + 2 * TOKEN_BYTES else "".join(token.split())
    if text[:2].upper() != PREFIX:
        raise TokenError("malformed")
    try:
        raw = bytes.fromhex(text[2:])
    except ValueError:
        raise TokenError("malformed") from None
    if len(raw) != TOKEN_BYTES:
        raise TokenError("malformed")
    body, signature = raw[: _BODY.size], raw[_BODY.size :]
    fields = _BODY.unpack(body)
    if fields[0] != VERSION:
        raise TokenError("malformed")
    claims = TokenClaims(*fields[1:])
    return claims, body, signature


def verify(token: str, public_keys: dict[int, Ed25519PublicKey]) -> TokenClaims:
    """The claims of an authentic token, or :class:`TokenError`: ``malformed``, ``unknown_key`` (a
    key the verifier does not hold: never issued, or retired after all its passes expired) or
    ``forged`` (the signature does not match). Time, revocation and uses are the caller's checks."""
    claims, body, signature = decode(token)
    key = public_keys.get(claims.kid)
    if key is None:
        raise TokenError("unknown_key")
    try:
        key.verify(signature, body)
    except InvalidSignature:
        raise TokenError("forged") from None
    return claims


def load_public_key(raw_b64: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(raw_b64))


def normalize_card(uid: str) -> str:
    """A card UID as readers print it in many ways (``04:a2:…``, ``04 A2 …``): upper-case hex only."""
    return "".join(ch for ch in uid.upper() if ch in "0123456789ABCDEF")


def card_key(secret: str, uid: str) -> str:
    """The allow-list key of a card: a keyed hash of its UID under the community's card secret, so
    neither the server's lists nor a controller's memory hold card numbers in the clear."""
    digest = hmac.new(secret.encode(), normalize_card(uid).encode(), hashlib.sha256).hexdigest()
    return "card:" + digest[:32]


def normalize_plate(plate: str) -> str:
    return "".join(plate.split()).upper().replace("·", "").replace("-", "")
