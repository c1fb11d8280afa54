"""The community's Ed25519 signing keys and the tokens signed with them.

Private keys are stored encrypted with the project's personal-data key (:func:`anju.core.crypto.encrypt`);
public keys in the clear, since every controller of the community holds them. Key ids are random
31-bit numbers (unique per community), so a token does not reveal how many keys there were.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.db.models import Q
from django.utils import timezone

from anju.access import tokens
from anju.access.models import Credential, SigningKey, VisitorPass
from anju.core.crypto import decrypt, encrypt


def new_key(community_id: int) -> SigningKey:
    """An unsaved new key for ``community_id`` with a fresh key id."""
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    taken = set(SigningKey.objects.filter(community_id=community_id).values_list("kid", flat=True))
    kid = secrets.randbelow(2**31 - 1) + 1
    while kid in taken:  # pragma: no cover - one chance in two billion
        kid = secrets.randbelow(2**31 - 1) + 1
    return SigningKey(
        community_id=community_id,
        kid=kid,
        public_key=base64.b64encode(raw_public).decode(),
        private_key_encrypted=encrypt(base64.b64encode(raw_private).decode()),
    )


@lru_cache(maxsize=256)
def _private(encrypted: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(decrypt(encrypted)))


def private_key(key: SigningKey) -> Ed25519PrivateKey:
    return _private(key.private_key_encrypted)


def public_key(key: SigningKey) -> Ed25519PublicKey:
    return _loaded_public_key(key.public_key)


@lru_cache(maxsize=1024)
def _loaded_public_key(raw_b64: str) -> Ed25519PublicKey:
    return tokens.load_public_key(raw_b64)


def active_key(community_id: int) -> SigningKey | None:
    return SigningKey.objects.filter(community_id=community_id, retired_at__isnull=True).first()


def published_keys(community_id: int, now: dt.datetime | None = None) -> list[SigningKey]:
    """The keys controllers must hold: the active one and every retired one with passes still valid."""
    moment = now or timezone.now()
    return list(
        SigningKey.objects.filter(community_id=community_id)
        .filter(Q(retired_at__isnull=True) | Q(publish_until__gt=moment))
        .order_by("pk")
    )


def public_keys(community_id: int) -> dict[int, Ed25519PublicKey]:
    return {key.kid: public_key(key) for key in published_keys(community_id)}


def _ts(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def pass_claims(visitor_pass: VisitorPass) -> tokens.TokenClaims:
    home = visitor_pass.host_home
    return tokens.TokenClaims(
        kind=tokens.KIND_PASS,
        kid=visitor_pass.key.kid,
        community_id=visitor_pass.community_id,
        subject_id=visitor_pass.pk,
        not_before=_ts(visitor_pass.valid_from),
        not_after=_ts(visitor_pass.valid_until),
        building_id=home.building_id or 0,
        unit_id=home.unit_id or 0,
        floor=home.floor,
        max_uses=visitor_pass.max_uses,
        flags=tokens.FLAG_PLATE if visitor_pass.plate else 0,
    )


def pass_token(visitor_pass: VisitorPass) -> str:
    """The pass's QR token. Ed25519 signatures are deterministic, so it is the same every time it is
    shown and need not be stored."""
    return tokens.sign(pass_claims(visitor_pass), private_key(visitor_pass.key))


def resident_qr_token(credential: Credential, key: SigningKey, *, lifetime_seconds: int, now: dt.datetime) -> str:
    """A short-lived token for a resident's QR credential: the QR on the phone changes every
    ``lifetime_seconds``, so a screenshot passed on is useless a minute later."""
    start = _ts(now)
    claims = tokens.TokenClaims(
        kind=tokens.KIND_RESIDENT_QR,
        kid=key.kid,
        community_id=credential.community_id,
        subject_id=credential.pk,
        not_before=start - 5,  # a controller's clock a few seconds behind still accepts it
        not_after=start + lifetime_seconds,
    )
    return tokens.sign(claims, private_key(key))
