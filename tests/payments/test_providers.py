"""Provider crypto: round trips with keys generated here, and every refusal the issue names."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from anju.billing.payments.providers import CallbackRefused, Checkout, ProviderError
from anju.billing.payments.providers.alipay import fen_from_yuan, sign_content
from anju.billing.payments.providers.sandbox import SIGNATURE_HEADER, SandboxProvider
from anju.billing.payments.providers.wechat import (
    decrypt_resource,
    encrypt_resource,
    request_message,
    rsa_verify,
)

from .fakes import AlipayPlatform, WechatPlatform, public_pem, rsa_key, tamper_b64

CHECKOUT = Checkout(trade_no="P20261124ABC", amount_fen=26_550, description="物业费", notify_url="https://x/hook/")


# --- WeChat Pay v3 ----------------------------------------------------------------------------------


def test_wechat_request_message_is_the_canonical_five_lines() -> None:
    message = request_message("post", "https://api.mch.weixin.qq.com/v3/pay/transactions/native?x=1", "1", "N", "{}")
    assert message == "POST\n/v3/pay/transactions/native?x=1\n1\nN\n{}\n"
    assert request_message("GET", "https://h/v3/certificates", "2", "M", "") == "GET\n/v3/certificates\n2\nM\n\n"


def test_wechat_authorization_header_verifies_with_the_merchant_public_key() -> None:
    platform = WechatPlatform()
    provider = platform.provider()
    url = "https://api.mch.weixin.qq.com/v3/pay/transactions/native"
    auth = provider.authorization("POST", url, '{"a":1}', timestamp="1700000000", nonce="ABC")
    fields = {k: v.strip('"') for k, v in (p.split("=", 1) for p in auth.split(" ", 1)[1].split(","))}
    assert fields["mchid"] == platform.MCHID and fields["serial_no"] == platform.MERCHANT_SERIAL
    message = request_message("POST", url, "1700000000", "ABC", '{"a":1}')
    assert rsa_verify(platform.merchant_key.public_key(), message, fields["signature"])
    assert not rsa_verify(platform.merchant_key.public_key(), message.replace('"a":1', '"a":2'), fields["signature"])


def test_wechat_start_signs_the_order_and_verifies_the_answer() -> None:
    platform = WechatPlatform()
    started = platform.provider().start(CHECKOUT)
    assert started.qr_url.startswith("weixin://wxpay/bizpayurl?pr=")
    method, url, _headers, body = platform.requests[0]
    order = json.loads(body)
    assert (method, urlsplit(url).path) == ("POST", "/v3/pay/transactions/native")
    assert order["out_trade_no"] == CHECKOUT.trade_no and order["amount"] == {"total": 26_550, "currency": "CNY"}


def test_wechat_start_refuses_an_answer_signed_by_someone_else() -> None:
    platform = WechatPlatform()
    provider = platform.provider(trusted_platform_key=rsa_key("impostor"))
    with pytest.raises(ProviderError):
        provider.start(CHECKOUT)


def test_wechat_resource_round_trip_and_tamper() -> None:
    key = b"0123456789abcdef0123456789ABCDEF"
    sealed = encrypt_resource(key, "支付成功".encode(), nonce="abcdefghijkl", associated_data="transaction")
    assert decrypt_resource(key, sealed).decode() == "支付成功"
    for change in (
        {"associated_data": "certificate"},
        {"nonce": "abcdefghijkm"},
        {"ciphertext": sealed["ciphertext"][:-4] + "AAAA"},
    ):
        with pytest.raises(CallbackRefused) as refused:
            decrypt_resource(key, {**sealed, **change})
        assert refused.value.reason == "decryption_failed"
    with pytest.raises(CallbackRefused):
        decrypt_resource(b"1" * 32, sealed)


def test_wechat_callback_verifies_and_decrypts() -> None:
    platform = WechatPlatform()
    headers, body = platform.callback("P1", 12_345)
    notification = platform.provider().parse_callback(headers, body)
    assert (notification.trade_no, notification.amount_fen, notification.succeeded) == ("P1", 12_345, True)
    assert notification.provider_txn_id.startswith("4200000000")
    assert notification.paid_at is not None and notification.paid_at.utcoffset() is not None


def test_wechat_closed_trade_is_not_a_success() -> None:
    platform = WechatPlatform()
    headers, body = platform.callback("P1", 100, state="CLOSED")
    assert platform.provider().parse_callback(headers, body).succeeded is False


@pytest.mark.parametrize("attack", ["wrong_key", "changed_amount", "stale", "wrong_serial", "unsigned", "bad_v3_key"])
def test_wechat_callback_refusals(attack: str) -> None:
    platform = WechatPlatform()
    provider = platform.provider()
    headers, body = platform.callback("P1", 100)
    expected = "bad_signature"
    if attack == "wrong_key":
        impostor = WechatPlatform(platform_key="impostor")
        headers, body = impostor.callback("P1", 100)
    elif attack == "changed_amount":
        # Re-encrypting a changed amount needs the APIv3 key, but the signature covers the body anyway.
        envelope = json.loads(body)
        envelope["resource"] = encrypt_resource(
            platform.api_v3_key,
            json.dumps({"mchid": platform.MCHID, "out_trade_no": "P1", "amount": {"total": 1}}).encode(),
            nonce="000000000000",
            associated_data="transaction",
        )
        body = json.dumps(envelope).encode()
    elif attack == "stale":
        headers, body = platform.callback("P1", 100, timestamp=int(time.time()) - 3600)
        expected = "stale_timestamp"
    elif attack == "wrong_serial":
        headers["Wechatpay-Serial"] = "SOMEONE-ELSE"
        expected = "unknown_serial"
    elif attack == "unsigned":
        del headers["Wechatpay-Signature"]
        expected = "unsigned"
    elif attack == "bad_v3_key":
        provider = WechatPlatform(api_v3_key=b"X" * 32).provider()
        expected = "decryption_failed"
    with pytest.raises(CallbackRefused) as refused:
        provider.parse_callback(headers, body)
    assert refused.value.reason == expected


def test_wechat_signature_tamper_is_refused() -> None:
    platform = WechatPlatform()
    headers, body = platform.callback("P1", 100)
    headers["Wechatpay-Signature"] = tamper_b64(headers["Wechatpay-Signature"])
    with pytest.raises(CallbackRefused):
        platform.provider().parse_callback(headers, body)


def test_wechat_acknowledgements() -> None:
    provider = WechatPlatform().provider()
    assert provider.acknowledge(True).status in (200, 204)
    failed = provider.acknowledge(False)
    assert failed.status >= 400 and json.loads(failed.body)["code"] == "FAIL"


# --- Alipay ------------------------------------------------------------------------------------------


def test_alipay_sign_content_sorts_and_skips_empty_and_sign() -> None:
    params = {"b": "2", "a": "1", "sign": "zzz", "c": "", "sign_type": "RSA2"}
    assert sign_content(params) == "a=1&b=2&sign_type=RSA2"
    assert sign_content(params, exclude=frozenset({"sign", "sign_type"})) == "a=1&b=2"


def test_alipay_start_is_a_signed_gateway_url() -> None:
    platform = AlipayPlatform()
    started = platform.provider().start(CHECKOUT)
    params = dict(parse_qsl(urlsplit(started.redirect_url).query))
    assert params["method"] == "alipay.trade.wap.pay" and params["sign_type"] == "RSA2"
    assert json.loads(params["biz_content"])["total_amount"] == "265.50"
    assert rsa_verify(platform.app_key.public_key(), sign_content(params), params["sign"])


def test_alipay_notify_round_trip() -> None:
    platform = AlipayPlatform()
    headers, body = platform.callback("P9", 26_550)
    notification = platform.provider().parse_callback(headers, body)
    assert (notification.trade_no, notification.amount_fen, notification.succeeded) == ("P9", 26_550, True)
    waiting = platform.callback("P9", 26_550, status="WAIT_BUYER_PAY")
    assert platform.provider().parse_callback(*waiting).succeeded is False


@pytest.mark.parametrize("attack", ["wrong_key", "changed_amount", "unsigned", "other_app"])
def test_alipay_notify_refusals(attack: str) -> None:
    platform = AlipayPlatform()
    provider = platform.provider()
    params = platform.notify_params("P9", 26_550)
    expected = "bad_signature"
    if attack == "wrong_key":
        params = AlipayPlatform(alipay_key="impostor").notify_params("P9", 26_550)
    elif attack == "changed_amount":
        params["total_amount"] = "0.01"
    elif attack == "unsigned":
        del params["sign"]
        expected = "unsigned"
    elif attack == "other_app":
        provider = AlipayPlatform().provider()
        provider.config.app_id = "2021000000009999"
        expected = "wrong_merchant"
    with pytest.raises(CallbackRefused) as refused:
        provider.parse_callback({}, urlencode(params).encode())
    assert refused.value.reason == expected


def test_alipay_amounts_are_exact() -> None:
    assert fen_from_yuan("0.01") == 1 and fen_from_yuan("265.50") == 26_550 and fen_from_yuan("100") == 10_000
    for bad in ("1.005", "-1", "abc", "NaN", ""):
        with pytest.raises(CallbackRefused):
            fen_from_yuan(bad)


def test_public_key_may_be_given_as_pem() -> None:
    assert "BEGIN PUBLIC KEY" in public_pem(rsa_key("alipay-platform"))


# --- Sandbox -----------------------------------------------------------------------------------------


def test_sandbox_round_trip_and_refusals() -> None:
    provider = SandboxProvider(b"k" * 32)
    headers, body = provider.notification(trade_no="P5", amount_fen=500)
    notification = provider.parse_callback(headers, body)
    assert (notification.trade_no, notification.amount_fen, notification.succeeded) == ("P5", 500, True)
    with pytest.raises(CallbackRefused):
        SandboxProvider(b"other-key").parse_callback(headers, body)
    changed = body.replace(b'"amount_fen":500', b'"amount_fen":5')
    with pytest.raises(CallbackRefused):
        provider.parse_callback(headers, changed)
    with pytest.raises(CallbackRefused):
        provider.parse_callback({}, body)
    assert SIGNATURE_HEADER in headers
    assert provider.start(CHECKOUT).redirect_url.endswith(f"/{CHECKOUT.trade_no}/")
