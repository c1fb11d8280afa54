"""The other side of each provider, for tests: keys generated here, no network.

``WechatPlatform`` plays WeChat Pay's servers (it holds the platform private key and the APIv3 key and
signs and encrypts what it sends); ``AlipayPlatform`` plays Alipay's. Both build providers configured
with the matching public halves, exactly as a merchant would configure them.
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
import time
from collections.abc import Mapping
from urllib.parse import urlencode

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from anju.billing.payments.providers.alipay import AlipayConfig, AlipayProvider, sign_content, yuan_from_fen
from anju.billing.payments.providers.base import HttpResponseData
from anju.billing.payments.providers.wechat import (
    WechatPayConfig,
    WechatPayProvider,
    encrypt_resource,
    notification_message,
    request_message,
    rsa_sign,
    rsa_verify,
)


@functools.cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """One 2048-bit key per name per test session (generating keys is the slow part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class WechatPlatform:
    MCHID = "1900000109"
    APPID = "wxd678efh567hg6787"
    PLATFORM_SERIAL = "PUB_KEY_ID_0114232134912410000000000000000"
    MERCHANT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"

    def __init__(self, *, platform_key: str = "wechat-platform", api_v3_key: bytes | None = None) -> None:
        self.platform_key = rsa_key(platform_key)
        self.merchant_key = rsa_key("wechat-merchant")
        self.api_v3_key = api_v3_key or b"0123456789abcdef0123456789ABCDEF"
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []

    def provider(self, *, trusted_platform_key: rsa.RSAPrivateKey | None = None) -> WechatPayProvider:
        config = WechatPayConfig.from_settings(
            {
                "mchid": self.MCHID,
                "appid": self.APPID,
                "merchant_serial_no": self.MERCHANT_SERIAL,
                "merchant_private_key": private_pem(self.merchant_key),
                "platform_serial_no": self.PLATFORM_SERIAL,
                "platform_public_key": public_pem(trusted_platform_key or self.platform_key),
                "api_v3_key": self.api_v3_key.decode(),
            }
        )
        return WechatPayProvider(config, transport=self.serve)

    def signed_headers(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(16)
        signature = rsa_sign(self.platform_key, notification_message(ts, nonce, body).decode())
        return {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signature,
            "Wechatpay-Serial": self.PLATFORM_SERIAL,
            "Content-Type": "application/json",
        }

    def callback(
        self, trade_no: str, amount_fen: int, *, state: str = "SUCCESS", timestamp: int | None = None
    ) -> tuple[dict[str, str], bytes]:
        transaction = {
            "mchid": self.MCHID,
            "appid": self.APPID,
            "out_trade_no": trade_no,
            "transaction_id": "4200000000" + secrets.token_hex(8),
            "trade_type": "NATIVE",
            "trade_state": state,
            "trade_state_desc": "支付成功",
            "success_time": "2026-11-24T10:00:00+08:00",
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {"total": amount_fen, "payer_total": amount_fen, "currency": "CNY", "payer_currency": "CNY"},
        }
        resource = encrypt_resource(
            self.api_v3_key,
            json.dumps(transaction, ensure_ascii=False).encode(),
            nonce=secrets.token_hex(6),
            associated_data="transaction",
        )
        envelope = {
            "id": "EV-" + secrets.token_hex(8),
            "create_time": "2026-11-24T10:00:01+08:00",
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS" if state == "SUCCESS" else "TRANSACTION.CLOSED",
            "summary": "支付成功",
            "resource": resource,
        }
        body = json.dumps(envelope, ensure_ascii=False).encode()
        return self.signed_headers(body, timestamp=timestamp), body

    def serve(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> HttpResponseData:
        """WeChat's Native-order endpoint: check the merchant's signature, answer a signed code_url."""
        self.requests.append((method, url, dict(headers), body))
        auth = headers["Authorization"]
        assert auth.startswith("WECHATPAY2-SHA256-RSA2048 ")
        fields = dict(part.split("=", 1) for part in auth.split(" ", 1)[1].split(","))
        fields = {key: value.strip('"') for key, value in fields.items()}
        message = request_message(method, url, fields["timestamp"], fields["nonce_str"], body.decode())
        if fields["mchid"] != self.MCHID or not rsa_verify(
            self.merchant_key.public_key(), message, fields["signature"]
        ):
            return HttpResponseData(401, {}, b'{"code":"SIGN_ERROR"}')
        answer = json.dumps({"code_url": "weixin://wxpay/bizpayurl?pr=" + secrets.token_hex(4)}).encode()
        return HttpResponseData(200, self.signed_headers(answer), answer)


class AlipayPlatform:
    APP_ID = "2021000000000001"

    def __init__(self, *, alipay_key: str = "alipay-platform") -> None:
        self.alipay_key = rsa_key(alipay_key)
        self.app_key = rsa_key("alipay-app")

    def provider(self, *, trusted_alipay_key: rsa.RSAPrivateKey | None = None) -> AlipayProvider:
        return AlipayProvider(
            AlipayConfig.from_settings(
                {
                    "app_id": self.APP_ID,
                    "app_private_key": private_pem(self.app_key),
                    "alipay_public_key": public_pem(trusted_alipay_key or self.alipay_key),
                }
            )
        )

    def notify_params(self, trade_no: str, amount_fen: int, *, status: str = "TRADE_SUCCESS") -> dict[str, str]:
        params = {
            "notify_time": "2026-11-24 10:00:02",
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(12),
            "app_id": self.APP_ID,
            "charset": "utf-8",
            "version": "1.0",
            "trade_no": "2026112422001" + secrets.token_hex(6),
            "out_trade_no": trade_no,
            "trade_status": status,
            "total_amount": yuan_from_fen(amount_fen),
            "subject": "物业费 3栋2单元1102",
            "gmt_payment": "2026-11-24 10:00:01",
            "fund_bill_list": json.dumps([{"amount": yuan_from_fen(amount_fen), "fundChannel": "ALIPAYACCOUNT"}]),
            "passback_params": "",
        }
        params["sign_type"] = "RSA2"
        params["sign"] = rsa_sign(self.alipay_key, sign_content(params, exclude=frozenset({"sign", "sign_type"})))
        return params

    def callback(
        self, trade_no: str, amount_fen: int, *, status: str = "TRADE_SUCCESS"
    ) -> tuple[dict[str, str], bytes]:
        body = urlencode(self.notify_params(trade_no, amount_fen, status=status)).encode()
        return {"Content-Type": "application/x-www-form-urlencoded"}, body


def tamper_b64(signature: str) -> str:
    raw = bytearray(base64.b64decode(signature))
    raw[0] ^= 0xFF
    return base64.b64encode(bytes(raw)).decode()
