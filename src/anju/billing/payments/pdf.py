"""PDF receipts and statements with ReportLab.

Chinese text uses ReportLab's built-in CID font ``STSong-Light`` (Adobe-GB1, encoding UniGB-UCS2-H):
the PDF names the font and every PDF reader supplies the glyphs, so no font file is needed on the
server or embedded. The receipt's QR code (segno) is drawn as an image holding the verification URL;
statement charts are ReportLab graphics (vector) drawn from the same figures as the page's SVG.
"""

from __future__ import annotations

import io
from typing import Any

import segno
from django.utils import timezone
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, A5, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from anju.billing.payments.labels import category_label, fee_item_label, income_kind_label, method_label, yuan

FONT = "STSong-Light"


def _register_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def qr_png(url: str) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=6, border=4)
    return out.getvalue()


def receipt_pdf(content: dict[str, Any], *, verify_url: str, intact: bool = True) -> bytes:
    """An A5 landscape receipt (收据) from the receipt's frozen content."""
    _register_font()
    buffer = io.BytesIO()
    width, height = landscape(A5)
    pdf = canvas.Canvas(buffer, pagesize=(width, height), pageCompression=1)
    pdf.setTitle(f"收据 {content['number']}")
    pdf.setFont(FONT, 18)
    pdf.drawCentredString(width / 2, height - 18 * mm, f"{content.get('community_name', '')} 物业服务收费收据")
    pdf.setFont(FONT, 10)
    y = height - 30 * mm
    rows = [
        ("收据编号", content["number"]),
        ("房屋", content.get("home", "")),
        ("缴款人", content.get("payer") or "—"),
        ("付款方式", method_label(content.get("method", ""))),
        ("交易号", content.get("trade_no", "")),
        ("收款时间", content.get("paid_at", "")),
    ]
    for label, value in rows:
        pdf.drawString(15 * mm, y, f"{label}：{value}")
        y -= 6 * mm
    y -= 2 * mm
    pdf.setFont(FONT, 11)
    pdf.drawString(15 * mm, y, "账单")
    pdf.drawRightString(120 * mm, y, "金额（元）")
    y -= 6 * mm
    pdf.setFont(FONT, 10)
    for line in content.get("lines", []):
        pdf.drawString(15 * mm, y, f"物业费 {line['period']}")
        pdf.drawRightString(120 * mm, y, yuan(line["amount_fen"]))
        y -= 5.5 * mm
    if content.get("prepaid_fen"):
        pdf.drawString(15 * mm, y, "转入预存款")
        pdf.drawRightString(120 * mm, y, yuan(content["prepaid_fen"]))
        y -= 5.5 * mm
    pdf.line(15 * mm, y + 2 * mm, 120 * mm, y + 2 * mm)
    pdf.setFont(FONT, 12)
    pdf.drawString(15 * mm, y - 4 * mm, "合计")
    pdf.drawRightString(120 * mm, y - 4 * mm, f"¥ {yuan(content['amount_fen'])}")
    qr_size = 36 * mm
    pdf.drawImage(ImageReader(io.BytesIO(qr_png(verify_url))), width - qr_size - 12 * mm, 22 * mm, qr_size, qr_size)
    pdf.setFont(FONT, 8)
    pdf.drawCentredString(width - qr_size / 2 - 12 * mm, 17 * mm, "扫码核验本收据")
    pdf.drawString(15 * mm, 10 * mm, f"核验网址：{verify_url}")
    if not intact:
        pdf.setFillColor(colors.red)
        pdf.setFont(FONT, 14)
        pdf.drawString(15 * mm, 16 * mm, "警告：收据内容与登记指纹不符")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _bar_chart(title: str, items: list[tuple[str, int]], width: float) -> Drawing:
    """A horizontal bar chart of amounts in yuan, one bar per item."""
    bar_height = 7 * mm
    height = max(len(items), 1) * bar_height + 16 * mm
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 5 * mm, title, fontName=FONT, fontSize=11))
    if not items:
        drawing.add(String(0, height - 12 * mm, "（无）", fontName=FONT, fontSize=9))
        return drawing
    chart = HorizontalBarChart()
    chart.x = 35 * mm
    chart.y = 4 * mm
    chart.width = width - 50 * mm
    chart.height = len(items) * bar_height
    chart.data = [[amount / 100 for _label, amount in items]]
    chart.categoryAxis.categoryNames = [label for label, _amount in items]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = colors.HexColor("#2f6f9f")
    drawing.add(chart)
    return drawing


def statement_pdf(statement: Any, figures: dict[str, Any], *, community_name: str, verify_url: str) -> bytes:
    """An A4 statement of accounts with the figures, two charts and the ledger hash it came from."""
    _register_font()
    buffer = io.BytesIO()
    width, height = A4
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(f"{community_name} 账目公示 {figures['from']} — {figures['to']}")
    pdf.setFont(FONT, 16)
    pdf.drawCentredString(width / 2, height - 20 * mm, f"{community_name} 账目公示")
    pdf.setFont(FONT, 10)
    pdf.drawCentredString(width / 2, height - 27 * mm, f"{figures['from']} 至 {figures['to']}")
    y = height - 40 * mm

    def line(label: str, amount: int, indent: float = 0) -> None:
        nonlocal y
        pdf.drawString((20 + indent) * mm, y, label)
        pdf.drawRightString(width - 20 * mm, y, yuan(amount))
        y -= 5.5 * mm

    pdf.setFont(FONT, 12)
    pdf.drawString(20 * mm, y, "一、物业服务费收入")
    y -= 6 * mm
    pdf.setFont(FONT, 10)
    for item, amount in figures["fee_income"].items():
        line(fee_item_label(item), amount, 6)
    line("合计", figures["fee_income_total"], 6)
    line("本期实收（扣除退款）", figures["collected_fen"], 6)
    pdf.setFont(FONT, 12)
    pdf.drawString(20 * mm, y, "二、支出")
    y -= 6 * mm
    pdf.setFont(FONT, 10)
    for category, amount in figures["expenses"].items():
        line(category_label(category), amount, 6)
    line("合计", figures["expenses_total"], 6)
    common = figures["common_income"]
    pdf.setFont(FONT, 12)
    pdf.drawString(20 * mm, y, "三、公共收益（归全体业主）")
    y -= 6 * mm
    pdf.setFont(FONT, 10)
    line("收入总额", common["gross"], 6)
    line("物业公司合理成本", common["cost_kept"], 6)
    for kind, amount in common["owners_share_by_kind"].items():
        line(f"业主共有部分 · {income_kind_label(kind)}", amount, 6)
    line("业主共有收益合计", common["owners_share"], 6)
    if figures["fee_model"] == "cost_plus":
        pdf.setFont(FONT, 12)
        pdf.drawString(20 * mm, y, "四、物业公司酬金（酬金制）")
        y -= 6 * mm
        pdf.setFont(FONT, 10)
        line("酬金", figures["remuneration_fen"], 6)
    pdf.setFont(FONT, 12)
    line("本期结余", figures["result_fen"])
    y -= 4 * mm
    charts = [
        _bar_chart(
            "收入构成（元）", [(fee_item_label(k), v) for k, v in figures["fee_income"].items()], width - 40 * mm
        ),
        _bar_chart("支出构成（元）", [(category_label(k), v) for k, v in figures["expenses"].items()], width - 40 * mm),
    ]
    for drawing in charts:
        if y - drawing.height < 35 * mm:
            pdf.showPage()
            y = height - 20 * mm
        drawing.drawOn(pdf, 20 * mm, y - drawing.height)
        y -= drawing.height + 4 * mm
    pdf.setFont(FONT, 8)
    pdf.drawString(20 * mm, 24 * mm, f"账本哈希链位置 {statement.ledger_seq}，哈希 {statement.ledger_hash}")
    pdf.drawString(20 * mm, 19 * mm, f"公示指纹 {statement.digest}")
    pdf.drawString(20 * mm, 14 * mm, f"核验：{verify_url}  或运行 anju verify_statement {statement.pk}")
    pdf.drawString(20 * mm, 9 * mm, f"发布时间 {timezone.localtime(statement.published_at):%Y-%m-%d %H:%M}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
