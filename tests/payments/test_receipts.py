"""Receipts: the PDF carries the Chinese text in the built-in CID font, its QR code decodes to the
verification URL, and that public page confirms the receipt (or refuses a wrong code)."""

from __future__ import annotations

import datetime as dt
import io
from urllib.parse import urlsplit

import pypdf
import zxingcpp
from django.test import Client

from anju.billing.payments.models import Receipt
from anju.billing.payments.services import payments
from anju.core.tenancy import community_scope

from ..personas import World
from .helpers import issue_bill


def _paid(world: World) -> Receipt:
    home = world.a.homes[0]
    with community_scope(world.a.community.pk):
        issue_bill(home, 26_550, dt.date(2026, 1, 1))
        order = payments.take_counter_payment(
            home=home, amount_fen=30_000, method="cash", payer_name="张三", actor=world.user("finance")
        )
        return order.receipt


def test_receipt_pdf_has_chinese_text_and_a_qr_code_that_verifies(world: World) -> None:
    receipt = _paid(world)
    client = Client()
    client.force_login(world.user("resident_a"))
    response = client.get(f"/portal/payments/receipts/{receipt.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    page = pypdf.PdfReader(io.BytesIO(response.content)).pages[0]
    fonts = {str(font.get_object().get("/BaseFont")) for font in page["/Resources"]["/Font"].values()}
    assert "/STSong-Light" in fonts
    text = page.extract_text()
    for expected in ("物业服务收费收据", "甲小区", "张三", "265.50", "300.00", "转入预存款", "34.50", receipt.number):
        assert expected in text, expected
    decoded = [code.text for image in page.images for code in zxingcpp.read_barcodes(image.image)]
    assert len(decoded) == 1
    url = urlsplit(decoded[0])
    assert url.path == "/receipts/verify/" and f"no={receipt.number}" in url.query and receipt.code in url.query
    anonymous = Client().get(f"{url.path}?{url.query}")
    assert anonymous.status_code == 200
    assert "300.00" in anonymous.content.decode() and 'data-verified="yes"' in anonymous.content.decode()


def test_wrong_code_or_altered_receipt(world: World) -> None:
    receipt = _paid(world)
    client = Client()
    assert client.get(f"/receipts/verify/?no={receipt.number}&code=WRONG").status_code == 404
    assert client.get("/receipts/verify/").status_code == 404
    with community_scope(world.a.community.pk):
        Receipt.objects.filter(pk=receipt.pk).update(content={**receipt.content, "amount_fen": 1})
    page = client.get(f"/receipts/verify/?no={receipt.number}&code={receipt.code}")
    assert page.status_code == 200 and 'data-verified="no"' in page.content.decode()


def test_other_residents_cannot_download_the_receipt(world: World) -> None:
    receipt = _paid(world)
    client = Client()
    client.force_login(world.user("resident_b"))
    assert client.get(f"/portal/payments/receipts/{receipt.pk}/pdf/").status_code == 404
