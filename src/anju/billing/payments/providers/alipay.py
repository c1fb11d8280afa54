"""Alipay (支付宝) open platform, merchant side: RSA2-signed requests and verified async notifications.

* **Signing** (RSA2): take every request parameter except ``sign`` whose value is not empty, sort by
  name (byte order), join as ``name=value`` with ``&`` using the raw, un-encoded values, and sign the
  UTF-8 string SHA256-with-RSA (PKCS #1 v1.5) with the application private key; base64.
* **Async notification** (异步通知) arrives as an ``application/x-www-form-urlencoded`` POST. Verify by
  url-decoding every parameter, dropping ``sign`` *and* ``sign_type``, dropping empty values, sorting
  and joining as above, and checking ``sign`` with the Alipay public key. Then check ``app_id`` is
  ours. ``trade_status`` TRADE_SUCCESS or TRADE_FINISHED means paid; ``total_amount`` is in yuan
  with at most two decimals; ``trade_no`` is Alipay's transaction number.
* **Acknowledgement**: the body ``success``; anything else makes Alipay retry (up to 8 times over 25h).
* **Checkout**: ``alipay.trade.wap.pay`` (mobile web): the payer's browser is sent to the gateway with
  the signed parameters in the query string, so opening a checkout needs no server-to-server call.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric import rsa

from .base import Acknowledgement, CallbackRefused, Checkout, CheckoutStarted, Notification
from .wechat import load_private_key, load_public_key, rsa_sign, rsa_verify

GATEWAY = "https://openapi.alipay.com/gateway.do"
SHANGHAI = ZoneInfo("Asia/Shanghai")
PAID_STATUSES = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})


def sign_content(params: Mapping[str, str], *, exclude: frozenset[str] = frozenset({"sign"})) -> str:
    """The string Alipay signs: non-empty parameters but ``exclude``, sorted, ``k=v`` joined by ``&``."""
    return "&".join(f"{key}={params[key]}" for key in sorted(params) if key not in exclude and params[key] != "")


def fen_from_yuan(value: str) -> int:
    """``"12.34"`` → 1234, exactly; refuses more than two decimals or anything not a plain amount."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise CallbackRefused("malformed", f"amount {value!r}") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise CallbackRefused("malformed", f"amount {value!r}")
    return int(amount * 100)


def yuan_from_fen(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass
class AlipayConfig:
    app_id: str
    app_private_key: rsa.RSAPrivateKey
    alipay_public_key: rsa.RSAPublicKey
    gateway: str = GATEWAY

    @classmethod
    def from_settings(cls, values: Mapping[str, str]) -> AlipayConfig:
        return cls(
            app_id=values["app_id"],
            app_private_key=load_private_key(values["app_private_key"]),
            alipay_public_key=load_public_key(values["alipay_public_key"]),
            gateway=values.get("gateway", GATEWAY),
        )


class AlipayProvider:
    code = "alipay"
    live = True

    def __init__(self, config: AlipayConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock

    def signed_params(self, method: str, biz_content: Mapping[str, object], **extra: str) -> dict[str, str]:
        now = dt.datetime.fromtimestamp(self.clock(), SHANGHAI)
        params = {
            "app_id": self.config.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": now.strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            "biz_content": json.dumps(biz_content, ensure_ascii=False, separators=(",", ":")),
            **extra,
        }
        params["sign"] = rsa_sign(self.config.app_private_key, sign_content(params))
        return params

    def start(self, checkout: Checkout) -> CheckoutStarted:
        extra = {"notify_url": checkout.notify_url}
        if checkout.return_url:
            extra["return_url"] = checkout.return_url
        params = self.signed_params(
            "alipay.trade.wap.pay",
            {
                "out_trade_no": checkout.trade_no,
                "total_amount": yuan_from_fen(checkout.amount_fen),
                "subject": checkout.description[:256],
                "product_code": "QUICK_WAP_WAY",
            },
            **extra,
        )
        return CheckoutStarted(redirect_url=f"{self.config.gateway}?{urlencode(params)}")

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> Notification:
        try:
            params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            raise CallbackRefused("malformed", "not a form body") from None
        signature = params.get("sign", "")
        if not signature:
            raise CallbackRefused("unsigned")
        if params.get("sign_type", "RSA2") != "RSA2":
            raise CallbackRefused("unsupported_algorithm", params.get("sign_type", ""))
        content = sign_content(params, exclude=frozenset({"sign", "sign_type"}))
        if not rsa_verify(self.config.alipay_public_key, content, signature):
            raise CallbackRefused("bad_signature")
        if params.get("app_id") != self.config.app_id:
            raise CallbackRefused("wrong_merchant", params.get("app_id", ""))
        trade_no = params.get("out_trade_no", "")
        if not trade_no:
            raise CallbackRefused("malformed", "no out_trade_no")
        paid_at = None
        if params.get("gmt_payment"):
            try:
                paid_at = dt.datetime.strptime(params["gmt_payment"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
            except ValueError:
                paid_at = None
        return Notification(
            trade_no=trade_no,
            amount_fen=fen_from_yuan(params.get("total_amount", "")),
            succeeded=params.get("trade_status", "") in PAID_STATUSES,
            provider_txn_id=params.get("trade_no", ""),
            paid_at=paid_at,
            raw=params,
        )

    def acknowledge(self, ok: bool) -> Acknowledgement:
        return Acknowledgement(200, "text/plain", b"success") if ok else Acknowledgement(403, "text/plain", b"fail")
