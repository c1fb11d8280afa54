"""Payment providers behind one interface (:class:`~.base.Provider`) and the registry that builds them.

Configuration is ``settings.ANJU_PAYMENTS`` (a dict by provider code), e.g.::

    ANJU_PAYMENTS = {
        "sandbox": {},                                   # the demo cashier; leave out in production
        "wechat": {"mchid": ..., "appid": ..., "merchant_serial_no": ..., "merchant_private_key": PEM,
                   "platform_serial_no": ..., "platform_public_key": PEM, "api_v3_key": 32 chars,
                   "api_base": optional, "refund_notify_url": optional absolute URL of the refund hook},
        "alipay": {"app_id": ..., "app_private_key": PEM, "alipay_public_key": PEM, "gateway": optional},
    }

Without the setting only the sandbox is enabled (development and the demo). Tests replace a
provider with :func:`override_provider`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

from .alipay import AlipayConfig, AlipayProvider
from .base import (
    Acknowledgement,
    CallbackRefused,
    Checkout,
    CheckoutStarted,
    Notification,
    Provider,
    ProviderError,
    RefundNotification,
    RefundNotifier,
    RefundOutcome,
    RefundRequest,
    RefundResult,
)
from .sandbox import SandboxProvider
from .wechat import WechatPayConfig, WechatPayProvider

__all__ = [
    "Acknowledgement",
    "CallbackRefused",
    "Checkout",
    "CheckoutStarted",
    "Notification",
    "Provider",
    "ProviderError",
    "RefundNotification",
    "RefundNotifier",
    "RefundOutcome",
    "RefundRequest",
    "RefundResult",
    "enabled_codes",
    "get_provider",
    "override_provider",
]

ONLINE_CODES = ("wechat", "alipay", "sandbox")
_overrides: dict[str, Provider] = {}


def _config() -> dict[str, Any]:
    configured = getattr(settings, "ANJU_PAYMENTS", None)
    return dict(configured) if configured is not None else {"sandbox": {}}


def enabled_codes() -> list[str]:
    """Online providers a resident may choose, in display order."""
    config = _config()
    return [code for code in ONLINE_CODES if code in config or code in _overrides]


def sandbox_key(values: dict[str, Any]) -> bytes:
    key = values.get("key")
    if key:
        return str(key).encode()
    return hashlib.sha256(b"anju-payments-sandbox:" + settings.SECRET_KEY.encode()).digest()


def get_provider(code: str) -> Provider | None:
    """The configured provider ``code``, or None when it is unknown or not enabled here."""
    if code in _overrides:
        return _overrides[code]
    values = _config().get(code)
    if values is None:
        return None
    if code == "sandbox":
        return SandboxProvider(sandbox_key(values))
    if code == "wechat":
        return WechatPayProvider(WechatPayConfig.from_settings(values))
    if code == "alipay":
        return AlipayProvider(AlipayConfig.from_settings(values))
    return None


@contextmanager
def override_provider(provider: Provider) -> Iterator[Provider]:
    """Use ``provider`` for its code while the block runs (tests with generated keys)."""
    previous = _overrides.get(provider.code)
    _overrides[provider.code] = provider
    try:
        yield provider
    finally:
        if previous is None:
            _overrides.pop(provider.code, None)
        else:
            _overrides[provider.code] = previous
