"""Server-side SVG charts for the statement page: horizontal bars, no JavaScript, every label escaped.

Twenty lines of SVG per chart are simpler than a charting dependency for two bar charts, and the
same figures feed the PDF's ReportLab charts.
"""

from __future__ import annotations

from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from anju.billing.payments.labels import category_label, fee_item_label, yuan

BAR_HEIGHT = 26
LABEL_WIDTH = 120
CHART_WIDTH = 560


def bar_chart_svg(title: str, items: list[tuple[str, int]]) -> SafeString:
    rows = [(label, amount) for label, amount in items if amount > 0]
    height = 34 + max(len(rows), 1) * BAR_HEIGHT
    largest = max((amount for _label, amount in rows), default=0)
    span = CHART_WIDTH - LABEL_WIDTH - 110
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {CHART_WIDTH} {height}" '
        f'class="chart" aria-label="{escape(title)}">',
        f'<text x="0" y="18" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    if not rows:
        parts.append(f'<text x="0" y="48" font-size="14" fill="#666">{escape(_("none"))}</text>')
    for index, (label, amount) in enumerate(rows):
        y = 30 + index * BAR_HEIGHT
        width = max(1, round(span * amount / largest)) if largest else 1
        parts.append(f'<text x="0" y="{y + 17}" font-size="14">{escape(label)}</text>')
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{width}" height="{BAR_HEIGHT - 8}" fill="#2f6f9f"/>')
        parts.append(f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 17}" font-size="13">{escape(yuan(amount))}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def statement_charts(figures: dict[str, Any]) -> list[SafeString]:
    income = [(fee_item_label(k), v) for k, v in figures.get("fee_income", {}).items()]
    common = figures.get("common_income", {}).get("owners_share", 0)
    if common:
        income.append((_("common-area income"), common))
    expenses = [(category_label(k), v) for k, v in figures.get("expenses", {}).items()]
    if figures.get("remuneration_fen"):
        expenses.append((_("remuneration"), figures["remuneration_fen"]))
    return [bar_chart_svg(_("Income (yuan)"), income), bar_chart_svg(_("Expenses (yuan)"), expenses)]
