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
* **Refund** (``alipay.trade.refund``, synchronous): the signed parameters are POSTed to the gateway
  as a form; ``biz_content`` has ``out_trade_no``, ``refund_amount`` (yuan), ``refund_reason`` and
  ``out_request_no`` — ours, stable, so a repeated request answers the same refund instead of paying
  twice (``fund_change`` is then ``N``). The answer is JSON ``{"alipay_trade_refund_response": {…},
  "sign": …}``; the signature covers the exact text of the response object as sent, which is what
  we verify. ``code`` 10000 means refunded; 40004 is a business refusal (``sub_code``/``sub_msg``);
  20000 or ``ACQ.SYSTEM_ERROR`` mean "ask again".
* **Checkout**: ``alipay.trade.wap.pay`` (mobile web): the payer's browser is sent to the gateway with
  the signed parameters in the query string, so opening a checkout needs no server-to-server call.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric import rsa

from .base import (
    Acknowledgement,
    CallbackRefused,
    Checkout,
    CheckoutStarted,
    Notification,
    ProviderError,
    RefundOutcome,
    RefundRequest,
    RefundResult,
    Transport,
    urllib_transport,
)
from .wechat import load_private_key, load_public_key, rsa_sign, rsa_verify

GATEWAY = "https://openapi.alipay.com/gateway.do"
SHANGHAI = ZoneInfo("Asia/Shanghai")
PAID_STATUSES = frozenset({"TRADE_SUCCESS", "TRADE_FINISHED"})
REFUND_RESPONSE_KEY = "alipay_trade_refund_response"
RETRY_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR"})


def signed_response_text(raw: str, key: str) -> str:
    """The exact JSON text of ``key``'s value in ``raw``: what Alipay signs on a response."""
    marker = raw.find(f'"{key}"')
    if marker < 0:
        raise ValueError(f"no {key}")
    colon = raw.index(":", marker + len(key) + 2)
    start = colon + 1
    while raw[start].isspace():
        start += 1
    _value, end = json.JSONDecoder().raw_decode(raw, start)
    return raw[start:end]


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
    timeout_seconds: float = 10

    @classmethod
    def from_settings(cls, values: Mapping[str, str]) -> AlipayConfig:
        return cls(
            app_id=values["app_id"],
            app_private_key=load_private_key(values["app_private_key"]),
            alipay_public_key=load_public_key(values["alipay_public_key"]),
            gateway=values.get("gateway", GATEWAY),
            timeout_seconds=float(values.get("timeout_seconds", 10)),
        )


class AlipayProvider:
    code = "alipay"
    live = True

    def __init__(
        self,
        config: AlipayConfig,
        *,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.transport: Transport = transport or functools.partial(urllib_transport, timeout=config.timeout_seconds)
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

    def refund(self, request: RefundRequest) -> RefundResult:
        biz: dict[str, object] = {
            "out_trade_no": request.trade_no,
            "refund_amount": yuan_from_fen(request.amount_fen),
            "out_request_no": request.out_refund_no,
        }
        if request.reason:
            biz["refund_reason"] = request.reason[:256]
        body = urlencode(self.signed_params("alipay.trade.refund", biz)).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8", "Accept": "application/json"}
        response = self.transport("POST", self.config.gateway, headers, body)
        if response.status != 200:
            raise ProviderError(f"Alipay answered {response.status}")
        try:
            raw = response.body.decode("utf-8")
            document = json.loads(raw)
            answer = document[REFUND_RESPONSE_KEY]
            signed_text = signed_response_text(raw, REFUND_RESPONSE_KEY)
            code = str(answer["code"])
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, IndexError):
            raise ProviderError("Alipay's refund answer is malformed") from None
        signature = str(document.get("sign", ""))
        if signature and not rsa_verify(self.config.alipay_public_key, signed_text, signature):
            raise ProviderError("Alipay's refund answer did not verify")
        sub_code = str(answer.get("sub_code", ""))
        if code == "10000":
            if not signature:
                raise ProviderError("Alipay's refund answer is unsigned")
            if answer.get("out_trade_no") != request.trade_no:
                raise ProviderError("Alipay answered for another trade")
            return RefundResult(RefundOutcome.SUCCEEDED, provider_refund_id=str(answer.get("trade_no", "")), raw=answer)
        if code == "20000" or sub_code in RETRY_SUB_CODES:
            raise ProviderError(f"Alipay is busy: {sub_code or code}")
        # A refusal (40004 and the like) moves no money: safe to believe even unsigned.
        reason = f"{sub_code or code}: {answer.get('sub_msg') or answer.get('msg', '')}"
        return RefundResult(RefundOutcome.FAILED, reason=reason[:200], raw=answer)
