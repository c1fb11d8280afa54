"""Local HTTP servers that play WeChat Pay's and Alipay's refund APIs, for the refund tests.

Each runs ``http.server`` in a thread on 127.0.0.1 and is reached through the provider's configured
base URL (``api_base`` / ``gateway`` in ``ANJU_PAYMENTS``) with the real urllib transport, so the
bytes our providers put on the wire — the exact body, the ``Authorization`` header, the RSA2 form
signature — are what these servers check. Like the real services they refund one refund number once:
asking again about the same number answers that refund, and ``paid_out`` counts the money that
actually moved per number.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from anju.billing.payments.providers.alipay import sign_content, yuan_from_fen
from anju.billing.payments.providers.wechat import encrypt_resource, request_message, rsa_sign, rsa_verify

from .fakes import AlipayPlatform, WechatPlatform, private_pem, public_pem


class _Server:
    """What both fakes share: the thread, the recorded requests and the behaviour knobs."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.paid_out: Counter[str] = Counter()
        #: What the next refund requests answer: "success", "processing", "refuse", "busy".
        self.mode = "success"
        #: Seconds to wait before answering (after the refund is made): a slow network.
        self.delay = 0.0
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    @contextmanager
    def running(self) -> Iterator[str]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {key: value for key, value in self.headers.items()}
                status, answer_headers, answer = server.handle("POST", self.path, headers, body)
                if server.delay:
                    time.sleep(server.delay)
                try:
                    self.send_response(status)
                    for key, value in answer_headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{self.httpd.server_address[1]}"
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
            thread.join(5)


class FakeWechatRefunds(_Server):
    """``POST /v3/refund/domestic/refunds``: checks the merchant's signature over the exact request,
    answers platform-signed JSON; also builds the refund notifications WeChat would send."""

    def __init__(self, platform: WechatPlatform | None = None) -> None:
        super().__init__()
        self.platform = platform or WechatPlatform()
        self.refunds: dict[str, dict[str, Any]] = {}

    def settings(self, base_url: str, **extra: Any) -> dict[str, Any]:
        p = self.platform
        return {
            "mchid": p.MCHID,
            "appid": p.APPID,
            "merchant_serial_no": p.MERCHANT_SERIAL,
            "merchant_private_key": private_pem(p.merchant_key),
            "platform_serial_no": p.PLATFORM_SERIAL,
            "platform_public_key": public_pem(p.platform_key),
            "api_v3_key": p.api_v3_key.decode(),
            "api_base": base_url,
            "timeout_seconds": 2,
            **extra,
        }

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        self.requests.append({"method": method, "path": path, "headers": headers, "body": body})
        auth = headers.get("Authorization", "")
        if not auth.startswith("WECHATPAY2-SHA256-RSA2048 ") or path != "/v3/refund/domestic/refunds":
            return 404, {}, b'{"code":"NOT_FOUND","message":"no such api"}'
        fields = dict(part.split("=", 1) for part in auth.split(" ", 1)[1].split(","))
        fields = {key: value.strip('"') for key, value in fields.items()}
        message = request_message(method, path, fields["timestamp"], fields["nonce_str"], body.decode())
        if (
            fields.get("mchid") != self.platform.MCHID
            or fields.get("serial_no") != self.platform.MERCHANT_SERIAL
            or not rsa_verify(self.platform.merchant_key.public_key(), message, fields["signature"])
        ):
            return 401, {}, b'{"code":"SIGN_ERROR","message":"signature"}'
        data = json.loads(body)
        if self.mode == "busy":
            return 500, {}, b'{"code":"SYSTEM_ERROR","message":"busy"}'
        if self.mode == "refuse":
            answer = json.dumps({"code": "NOT_ENOUGH", "message": "基本账户余额不足"}, ensure_ascii=False).encode()
            return 403, {"Content-Type": "application/json"}, answer
        with self.lock:
            number = data["out_refund_no"]
            if number not in self.refunds:
                status = "PROCESSING" if self.mode == "processing" else "SUCCESS"
                self.refunds[number] = {
                    "refund_id": "50300" + secrets.token_hex(8),
                    "out_refund_no": number,
                    "out_trade_no": data["out_trade_no"],
                    "status": status,
                    "amount": data["amount"],
                }
                self.paid_out[number] += data["amount"]["refund"]
            refund = self.refunds[number]
        answer = json.dumps(
            {
                "refund_id": refund["refund_id"],
                "out_refund_no": number,
                "transaction_id": "4200000000" + "0" * 18,
                "out_trade_no": refund["out_trade_no"],
                "channel": "ORIGINAL",
                "user_received_account": "支付用户零钱",
                "create_time": "2026-11-24T10:00:00+08:00",
                "status": refund["status"],
                "funds_account": "AVAILABLE",
                "amount": {
                    "total": refund["amount"]["total"],
                    "refund": refund["amount"]["refund"],
                    "payer_total": refund["amount"]["total"],
                    "payer_refund": refund["amount"]["refund"],
                    "currency": "CNY",
                },
            },
            ensure_ascii=False,
        ).encode()
        return 200, {**self.platform.signed_headers(answer), "Content-Type": "application/json"}, answer

    def notification(
        self,
        out_refund_no: str,
        trade_no: str,
        amount_fen: int,
        *,
        status: str = "SUCCESS",
        api_v3_key: bytes | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of WeChat's refund notification (``REFUND.<status>``), signed and
        encrypted (with ``api_v3_key`` when given: a notification sealed with the wrong key)."""
        refund = {
            "mchid": self.platform.MCHID,
            "out_trade_no": trade_no,
            "transaction_id": "4200000000" + "0" * 18,
            "out_refund_no": out_refund_no,
            "refund_id": self.refunds.get(out_refund_no, {}).get("refund_id", "50300" + secrets.token_hex(8)),
            "refund_status": status,
            "success_time": "2026-11-24T10:00:05+08:00",
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": amount_fen,
                "refund": amount_fen,
                "payer_total": amount_fen,
                "payer_refund": amount_fen,
            },
        }
        resource = encrypt_resource(
            api_v3_key or self.platform.api_v3_key,
            json.dumps(refund, ensure_ascii=False).encode(),
            nonce=secrets.token_hex(6),
            associated_data="refund",
        )
        resource["original_type"] = "refund"
        envelope = {
            "id": "EV-" + secrets.token_hex(8),
            "create_time": "2026-11-24T10:00:06+08:00",
            "resource_type": "encrypt-resource",
            "event_type": f"REFUND.{status}",
            "summary": "退款成功",
            "resource": resource,
        }
        body = json.dumps(envelope, ensure_ascii=False).encode()
        return self.platform.signed_headers(body), body


class FakeAlipayRefunds(_Server):
    """The Alipay gateway's ``alipay.trade.refund``: checks the RSA2 signature of the form, answers
    JSON signed over the exact response object text."""

    def __init__(self, platform: AlipayPlatform | None = None) -> None:
        super().__init__()
        self.platform = platform or AlipayPlatform()
        self.refunded: dict[str, dict[str, str]] = {}
        self.sign_answers_with = self.platform.alipay_key

    def settings(self, base_url: str) -> dict[str, Any]:
        return {
            "app_id": self.platform.APP_ID,
            "app_private_key": private_pem(self.platform.app_key),
            "alipay_public_key": public_pem(self.platform.alipay_key),
            "gateway": f"{base_url}/gateway.do",
            "timeout_seconds": 2,
        }

    def _answer(self, response: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        # Alipay's own serialisation (spaces after separators): the signature covers these bytes.
        text = json.dumps(response, ensure_ascii=False, separators=(", ", ": "))
        sign = rsa_sign(self.sign_answers_with, text)
        body = '{"alipay_trade_refund_response": ' + text + ', "sign": "' + sign + '"}'
        return 200, {"Content-Type": "application/json;charset=utf-8"}, body.encode()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        self.requests.append({"method": method, "path": path, "headers": headers, "body": body})
        params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        if (
            path != "/gateway.do"
            or params.get("method") != "alipay.trade.refund"
            or params.get("app_id") != self.platform.APP_ID
            or params.get("sign_type") != "RSA2"
            or not rsa_verify(self.platform.app_key.public_key(), sign_content(params), params.get("sign", ""))
        ):
            return self._answer({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"})
        biz = json.loads(params["biz_content"])
        if self.mode == "busy":
            busy = {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error"}
            return self._answer(busy)
        if self.mode == "refuse":
            return self._answer(
                {
                    "code": "40004",
                    "msg": "Business Failed",
                    "sub_code": "ACQ.SELLER_BALANCE_NOT_ENOUGH",
                    "sub_msg": "卖家余额不足",
                }
            )
        with self.lock:
            number = biz["out_request_no"]
            fund_change = "N"
            if number not in self.refunded:
                self.refunded[number] = biz
                cents = int(biz["refund_amount"].replace(".", ""))
                self.paid_out[number] += cents
                fund_change = "Y"
            total = sum(self.paid_out.values())
        return self._answer(
            {
                "code": "10000",
                "msg": "Success",
                "buyer_logon_id": "159****5620",
                "fund_change": fund_change,
                "gmt_refund_pay": "2026-11-24 10:00:05",
                "out_trade_no": biz["out_trade_no"],
                "refund_fee": yuan_from_fen(total),
                "trade_no": "2026112422001" + "0" * 12,
            }
        )
