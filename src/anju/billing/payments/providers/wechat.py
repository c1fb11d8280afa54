"""WeChat Pay API v3 (微信支付 APIv3), merchant side: signed requests, verified and decrypted callbacks.

Following the official interface rules (pay.weixin.qq.com, 开发指引 → 接口规则):

* **Request signing** (签名生成): the message is ``METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n`` where URL
  is the absolute path with its query string, TIMESTAMP is Unix seconds and BODY the exact request
  body ("" for a GET). It is signed SHA256-with-RSA (PKCS #1 v1.5) with the merchant's API private
  key and sent as ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",
  timestamp="…",serial_no="…"`` (serial_no: the merchant certificate's serial number).
* **Response and callback verification** (签名验证): WeChat signs ``TIMESTAMP\\nNONCE\\nBODY\\n`` with the
  platform key and sends ``Wechatpay-Timestamp``, ``Wechatpay-Nonce``, ``Wechatpay-Signature`` and
  ``Wechatpay-Serial`` headers. We check the serial names the platform key we hold, the timestamp is
  within five minutes of now (a replayed old notification is refused), and the RSA signature.
* **Callback decryption** (证书和回调报文解密): ``resource`` carries ``algorithm``
  (``AEAD_AES_256_GCM``), ``ciphertext`` (base64 of ciphertext followed by the 16-byte tag),
  ``nonce`` (12 characters) and ``associated_data`` (possibly empty). The key is the 32-byte APIv3 key
  (RFC 5116). The plaintext is the transaction JSON: ``out_trade_no``, ``transaction_id``,
  ``trade_state``, ``amount.total`` (fen), ``success_time`` (RFC 3339), ``mchid``, ``appid``.
* **Refunds** (申请退款): ``POST /v3/refund/domestic/refunds`` with ``out_trade_no``, ``out_refund_no``
  (ours, stable: WeChat refunds a given ``out_refund_no`` once however often it is asked),
  ``amount`` ``{refund, total, currency: "CNY"}`` in fen and optionally ``reason`` and ``notify_url``,
  signed like every request. The platform-signed answer carries ``refund_id`` and ``status``:
  ``SUCCESS``, ``PROCESSING`` (the outcome follows by notification), ``ABNORMAL`` or ``CLOSED``.
  A 4xx answer ``{"code", "message"}`` is a refusal; a 5xx (``SYSTEM_ERROR``) means "ask again".
* **Refund notifications** (退款结果通知): signed and encrypted exactly like payment callbacks;
  ``event_type`` ``REFUND.SUCCESS`` / ``REFUND.ABNORMAL`` / ``REFUND.CLOSED``; the plaintext has
  ``mchid``, ``out_trade_no``, ``out_refund_no``, ``refund_id``, ``refund_status``,
  ``success_time`` and ``amount`` ``{total, refund, payer_total, payer_refund}``.
* **Acknowledgement**: HTTP 200/204 without a body means received; any 4xx/5xx with
  ``{"code": "FAIL", "message": …}`` makes WeChat retry later.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .base import (
    Acknowledgement,
    CallbackRefused,
    Checkout,
    CheckoutStarted,
    Notification,
    ProviderError,
    RefundNotification,
    RefundOutcome,
    RefundRequest,
    RefundResult,
    Transport,
    header,
    urllib_transport,
)

AUTH_SCHEMA = "WECHATPAY2-SHA256-RSA2048"
MAX_CLOCK_SKEW_SECONDS = 300
API_BASE = "https://api.mch.weixin.qq.com"


def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("an RSA private key is required")
    return key


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """A PEM public key, or the public key of a PEM certificate (the platform certificate)."""
    data = pem.encode() if isinstance(pem, str) else pem
    key: object
    if b"CERTIFICATE" in data:
        from cryptography import x509

        key = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("an RSA public key is required")
    return key


def rsa_sign(private_key: rsa.RSAPrivateKey, message: str) -> str:
    """SHA256-with-RSA (PKCS #1 v1.5) of the UTF-8 message, base64: WeChat's and Alipay's RSA2."""
    return base64.b64encode(private_key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_verify(public_key: rsa.RSAPublicKey, message: str | bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        data = message.encode() if isinstance(message, str) else message
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def request_message(method: str, url: str, timestamp: str, nonce: str, body: str) -> str:
    """The canonical request message WeChat Pay v3 signs: ``METHOD\\nURL\\nTIMESTAMP\\nNONCE\\nBODY\\n``."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n{body}\n"


def notification_message(timestamp: str, nonce: str, body: bytes) -> bytes:
    """What the platform signs on a response or callback: ``TIMESTAMP\\nNONCE\\nBODY\\n`` (bytes exact)."""
    return timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"


def decrypt_resource(api_v3_key: bytes, resource: Mapping[str, str]) -> bytes:
    """AEAD_AES_256_GCM decryption of a callback's ``resource`` with the APIv3 key (RFC 5116)."""
    if resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise CallbackRefused("unsupported_algorithm", str(resource.get("algorithm")))
    if len(api_v3_key) != 32:
        raise CallbackRefused("bad_key", "the APIv3 key must be 32 bytes")
    try:
        ciphertext = base64.b64decode(resource["ciphertext"], validate=True)
        nonce = resource["nonce"].encode()
        associated = (resource.get("associated_data") or "").encode()
        return AESGCM(api_v3_key).decrypt(nonce, ciphertext, associated or None)
    except (KeyError, ValueError, InvalidTag, TypeError) as exc:
        raise CallbackRefused("decryption_failed", type(exc).__name__) from None


def encrypt_resource(api_v3_key: bytes, plaintext: bytes, *, nonce: str, associated_data: str) -> dict[str, str]:
    """The inverse of :func:`decrypt_resource` (what WeChat does): for the tests and simulators."""
    sealed = AESGCM(api_v3_key).encrypt(nonce.encode(), plaintext, associated_data.encode() or None)
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode(),
        "nonce": nonce,
        "associated_data": associated_data,
        "original_type": "transaction",
    }


REFUND_OUTCOMES = {
    "SUCCESS": RefundOutcome.SUCCEEDED,
    "PROCESSING": RefundOutcome.PROCESSING,
    "ABNORMAL": RefundOutcome.FAILED,
    "CLOSED": RefundOutcome.FAILED,
}


def _parse_time(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclass
class WechatPayConfig:
    mchid: str
    appid: str
    merchant_serial_no: str
    merchant_private_key: rsa.RSAPrivateKey
    platform_serial_no: str
    platform_public_key: rsa.RSAPublicKey
    api_v3_key: bytes
    api_base: str = API_BASE
    refund_notify_url: str = ""
    timeout_seconds: float = 10

    @classmethod
    def from_settings(cls, values: Mapping[str, str]) -> WechatPayConfig:
        return cls(
            mchid=values["mchid"],
            appid=values["appid"],
            merchant_serial_no=values["merchant_serial_no"],
            merchant_private_key=load_private_key(values["merchant_private_key"]),
            platform_serial_no=values["platform_serial_no"],
            platform_public_key=load_public_key(values["platform_public_key"]),
            api_v3_key=values["api_v3_key"].encode(),
            api_base=values.get("api_base", API_BASE),
            refund_notify_url=values.get("refund_notify_url", ""),
            timeout_seconds=float(values.get("timeout_seconds", 10)),
        )


class WechatPayProvider:
    """Native payment (扫码支付): the payer scans the ``code_url`` QR code in WeChat."""

    code = "wechat"
    live = True

    def __init__(
        self,
        config: WechatPayConfig,
        *,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.transport: Transport = transport or functools.partial(urllib_transport, timeout=config.timeout_seconds)
        self.clock = clock

    # --- signing our requests ----------------------------------------------------------------------

    def authorization(self, method: str, url: str, body: str, *, timestamp: str = "", nonce: str = "") -> str:
        timestamp = timestamp or str(int(self.clock()))
        nonce = nonce or secrets.token_hex(16).upper()
        signature = rsa_sign(self.config.merchant_private_key, request_message(method, url, timestamp, nonce, body))
        return (
            f'{AUTH_SCHEMA} mchid="{self.config.mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{self.config.merchant_serial_no}"'
        )

    # --- verifying what WeChat sends --------------------------------------------------------------

    def verify_signed(self, headers: Mapping[str, str], body: bytes) -> None:
        """Check a platform-signed response or callback; raise :class:`CallbackRefused` otherwise."""
        timestamp = header(headers, "Wechatpay-Timestamp")
        nonce = header(headers, "Wechatpay-Nonce")
        signature = header(headers, "Wechatpay-Signature")
        serial = header(headers, "Wechatpay-Serial")
        if not (timestamp and nonce and signature and serial):
            raise CallbackRefused("unsigned", "Wechatpay-* signature headers missing")
        if serial != self.config.platform_serial_no:
            raise CallbackRefused("unknown_serial", serial)
        try:
            skew = abs(self.clock() - int(timestamp))
        except ValueError:
            raise CallbackRefused("bad_timestamp", timestamp) from None
        if skew > MAX_CLOCK_SKEW_SECONDS:
            raise CallbackRefused("stale_timestamp", timestamp)
        if not rsa_verify(self.config.platform_public_key, notification_message(timestamp, nonce, body), signature):
            raise CallbackRefused("bad_signature")

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> Notification:
        envelope, transaction = self._decrypted(headers, body)
        try:
            trade_no = str(transaction["out_trade_no"])
            total = transaction["amount"]["total"]  # type: ignore[index]
        except (KeyError, TypeError):
            raise CallbackRefused("malformed", "transaction fields missing") from None
        if not isinstance(total, int) or isinstance(total, bool):
            raise CallbackRefused("malformed", "amount.total is not an integer")
        if str(transaction.get("mchid", "")) != self.config.mchid:
            raise CallbackRefused("wrong_merchant", str(transaction.get("mchid", "")))
        succeeded = envelope.get("event_type") == "TRANSACTION.SUCCESS" and transaction.get("trade_state") == "SUCCESS"
        return Notification(
            trade_no=trade_no,
            amount_fen=total,
            succeeded=succeeded,
            provider_txn_id=str(transaction.get("transaction_id", "")),
            paid_at=_parse_time(str(transaction.get("success_time", ""))),
            raw=transaction,
        )

    def _decrypted(self, headers: Mapping[str, str], body: bytes) -> tuple[dict[str, object], dict[str, object]]:
        """The verified envelope and its decrypted resource."""
        self.verify_signed(headers, body)
        try:
            envelope = json.loads(body)
            resource = envelope["resource"]
        except (ValueError, KeyError, TypeError):
            raise CallbackRefused("malformed", "no resource") from None
        if not isinstance(resource, dict):
            raise CallbackRefused("malformed", "resource is not an object")
        try:
            plaintext = json.loads(decrypt_resource(self.config.api_v3_key, resource))
        except ValueError:
            raise CallbackRefused("malformed", "resource is not JSON") from None
        if not isinstance(plaintext, dict):
            raise CallbackRefused("malformed", "resource is not an object")
        return envelope, plaintext

    def parse_refund_callback(self, headers: Mapping[str, str], body: bytes) -> RefundNotification:
        envelope, refund = self._decrypted(headers, body)
        try:
            out_refund_no = str(refund["out_refund_no"])
            amount = refund["amount"]["refund"]  # type: ignore[index]
        except (KeyError, TypeError):
            raise CallbackRefused("malformed", "refund fields missing") from None
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise CallbackRefused("malformed", "amount.refund is not an integer")
        if str(refund.get("mchid", "")) != self.config.mchid:
            raise CallbackRefused("wrong_merchant", str(refund.get("mchid", "")))
        status = str(refund.get("refund_status", ""))
        outcome = REFUND_OUTCOMES.get(status, RefundOutcome.PROCESSING)
        if envelope.get("event_type") != f"REFUND.{status}":
            # The envelope and the encrypted body disagree: believe neither.
            raise CallbackRefused("malformed", f"event {envelope.get('event_type')} for status {status}")
        return RefundNotification(
            out_refund_no=out_refund_no,
            trade_no=str(refund.get("out_trade_no", "")),
            amount_fen=amount,
            outcome=outcome,
            provider_refund_id=str(refund.get("refund_id", "")),
            reason="" if outcome != RefundOutcome.FAILED else status,
            raw=refund,
        )

    def acknowledge(self, ok: bool) -> Acknowledgement:
        if ok:
            return Acknowledgement(204, "application/json", b"")
        body = json.dumps({"code": "FAIL", "message": "失败"}, ensure_ascii=False).encode()
        return Acknowledgement(403, "application/json", body)

    # --- opening a checkout -----------------------------------------------------------------------

    def start(self, checkout: Checkout) -> CheckoutStarted:
        url = f"{self.config.api_base}/v3/pay/transactions/native"
        body = json.dumps(
            {
                "appid": self.config.appid,
                "mchid": self.config.mchid,
                "description": checkout.description[:127],
                "out_trade_no": checkout.trade_no,
                "notify_url": checkout.notify_url,
                "amount": {"total": checkout.amount_fen, "currency": "CNY"},
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        headers = {
            "Authorization": self.authorization("POST", url, body),
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        response = self.transport("POST", url, headers, body.encode())
        if response.status != 200:
            raise ProviderError(f"WeChat Pay answered {response.status}")
        try:
            self.verify_signed(response.headers, response.body)
        except CallbackRefused as exc:
            raise ProviderError(f"WeChat Pay's answer did not verify: {exc}") from None
        try:
            code_url = json.loads(response.body)["code_url"]
        except (ValueError, KeyError, TypeError):
            raise ProviderError("WeChat Pay's answer has no code_url") from None
        return CheckoutStarted(qr_url=str(code_url))

    # --- refunds ----------------------------------------------------------------------------------

    def refund(self, request: RefundRequest) -> RefundResult:
        url = f"{self.config.api_base}/v3/refund/domestic/refunds"
        payload: dict[str, object] = {
            "out_trade_no": request.trade_no,
            "out_refund_no": request.out_refund_no,
            "amount": {"refund": request.amount_fen, "total": request.total_fen, "currency": "CNY"},
        }
        if request.reason:
            payload["reason"] = request.reason[:80]
        if self.config.refund_notify_url:
            payload["notify_url"] = self.config.refund_notify_url
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        headers = {
            "Authorization": self.authorization("POST", url, body),
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        response = self.transport("POST", url, headers, body.encode())
        if response.status >= 500 or response.status in (401, 429):
            # SYSTEM_ERROR, a signature WeChat could not check, FREQUENCY_LIMITED: ask again later.
            raise ProviderError(f"WeChat Pay answered {response.status}")
        if response.status >= 400:
            try:
                error = json.loads(response.body)
                reason = f"{error.get('code', '')}: {error.get('message', '')}"
            except (ValueError, AttributeError):
                reason = f"HTTP {response.status}"
            return RefundResult(RefundOutcome.FAILED, reason=reason[:200])
        try:
            self.verify_signed(response.headers, response.body)
        except CallbackRefused as exc:
            raise ProviderError(f"WeChat Pay's answer did not verify: {exc}") from None
        try:
            answer = json.loads(response.body)
            status = str(answer["status"])
            refunded = answer["amount"]["refund"]
        except (ValueError, KeyError, TypeError):
            raise ProviderError("WeChat Pay's refund answer is malformed") from None
        if answer.get("out_refund_no") != request.out_refund_no or refunded != request.amount_fen:
            raise ProviderError("WeChat Pay answered for another refund or amount")
        outcome = REFUND_OUTCOMES.get(status, RefundOutcome.PROCESSING)
        return RefundResult(
            outcome,
            provider_refund_id=str(answer.get("refund_id", "")),
            reason=status if outcome == RefundOutcome.FAILED else "",
            raw=answer,
        )
