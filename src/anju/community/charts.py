"""Server-side SVG bar charts for survey results: plain markup, no JavaScript, printable."""

from __future__ import annotations

from xml.sax.saxutils import escape

BAR_HEIGHT = 26
GAP = 10
LABEL_WIDTH = 140
CHART_WIDTH = 520


def bar_chart(rows: list[tuple[str, int]], *, title: str = "") -> str:
    """A horizontal bar chart of ``(label, count)`` rows, with each bar's count and percentage."""
    total = sum(count for _label, count in rows)
    peak = max((count for _label, count in rows), default=0) or 1
    bar_space = CHART_WIDTH - LABEL_WIDTH - 90
    height = len(rows) * (BAR_HEIGHT + GAP) + GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {CHART_WIDTH} {height}" '
        f'width="100%" aria-label="{escape(title, {chr(34): "&quot;"})}">'
    ]
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    for index, (label, count) in enumerate(rows):
        y = GAP + index * (BAR_HEIGHT + GAP)
        width = round(bar_space * count / peak)
        percent = f"{count * 100 / total:.0f}%" if total else "0%"
        baseline = f"{y + BAR_HEIGHT * 0.7:.0f}"
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{baseline}" text-anchor="end" font-size="14">{escape(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width}" height="{BAR_HEIGHT}" fill="#2f6f4f" rx="3"/>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{baseline}" font-size="14" data-count="{count}">'
            f"{count} ({percent})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
