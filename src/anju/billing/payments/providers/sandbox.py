"""The sandbox provider the demo and the browser test use: no money moves, the wire path is real.

Opening a checkout sends the payer to anju's own sandbox cashier page (``portal:payments_sandbox``),
which plays the provider: when the payer confirms, it builds a notification exactly as a provider
would — a JSON body signed with HMAC-SHA256 under the sandbox key — and hands it to the same
callback entry point the HTTP hook uses, so storing raw first, verifying, the amount check and
exactly-once posting are the code paths a real provider exercises.

A refund succeeds at once (no money moved in, none moves out); its refund id is derived from our
``out_refund_no``, so asking twice answers the same refund, as a real provider does.

The key comes from ``ANJU_PAYMENTS["sandbox"]["key"]``, else is derived from ``SECRET_KEY``; a
deployment that must never accept sandbox money leaves ``sandbox`` out of ``ANJU_PAYMENTS``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping

from .base import (
    Acknowledgement,
    CallbackRefused,
    Checkout,
    CheckoutStarted,
    Notification,
    RefundOutcome,
    RefundRequest,
    RefundResult,
    header,
)

SIGNATURE_HEADER = "X-Anju-Sandbox-Signature"


class SandboxProvider:
    code = "sandbox"
    live = False

    def __init__(self, key: bytes, *, cashier_url: str = "/portal/payments/sandbox/{trade_no}/") -> None:
        self.key = key
        self.cashier_url = cashier_url

    def start(self, checkout: Checkout) -> CheckoutStarted:
        return CheckoutStarted(redirect_url=self.cashier_url.format(trade_no=checkout.trade_no))

    def sign(self, body: bytes) -> str:
        return hmac.new(self.key, body, hashlib.sha256).hexdigest()

    def notification(self, *, trade_no: str, amount_fen: int, succeeded: bool = True) -> tuple[dict[str, str], bytes]:
        """Headers and body of the notification the sandbox sends when the payer confirms."""
        body = json.dumps(
            {
                "trade_no": trade_no,
                "amount_fen": amount_fen,
                "status": "SUCCESS" if succeeded else "FAILED",
                "txn_id": f"SBX{secrets.token_hex(8).upper()}",
                "paid_at": dt.datetime.now(dt.UTC).isoformat(),
            },
            separators=(",", ":"),
        ).encode()
        return {SIGNATURE_HEADER: self.sign(body), "Content-Type": "application/json"}, body

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> Notification:
        signature = header(headers, SIGNATURE_HEADER)
        if not signature:
            raise CallbackRefused("unsigned")
        if not hmac.compare_digest(signature, self.sign(body)):
            raise CallbackRefused("bad_signature")
        try:
            data = json.loads(body)
            trade_no = str(data["trade_no"])
            amount = data["amount_fen"]
        except (ValueError, KeyError, TypeError):
            raise CallbackRefused("malformed") from None
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise CallbackRefused("malformed", "amount_fen is not an integer")
        try:
            paid_at: dt.datetime | None = dt.datetime.fromisoformat(str(data.get("paid_at", "")))
        except ValueError:
            paid_at = None
        return Notification(
            trade_no=trade_no,
            amount_fen=amount,
            succeeded=data.get("status") == "SUCCESS",
            provider_txn_id=str(data.get("txn_id", "")),
            paid_at=paid_at,
            raw=data,
        )

    def acknowledge(self, ok: bool) -> Acknowledgement:
        return (
            Acknowledgement(200, "application/json", b'{"ok":true}')
            if ok
            else Acknowledgement(403, "application/json", b'{"ok":false}')
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        refund_id = "SBXR" + hmac.new(self.key, request.out_refund_no.encode(), hashlib.sha256).hexdigest()[:16].upper()
        return RefundResult(RefundOutcome.SUCCEEDED, provider_refund_id=refund_id)
