"""Server-rendered SVG line charts of telemetry: no JavaScript, printable, embeddable in PDFs.

:func:`series_for_device` reads a device's recent telemetry and returns one :class:`Series` per
numeric point; :func:`line_chart` draws one series as an SVG string. Long windows are thinned to
at most ``max_points`` by keeping, per time bucket, the minimum and the maximum (so a spike stays
visible, which averaging would hide).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from anju.devices.models import Device, MessageKind, Telemetry, TelemetryHourly

WIDTH = 640
HEIGHT = 180
PAD_LEFT = 56
PAD_RIGHT = 12
PAD_TOP = 14
PAD_BOTTOM = 28
MAX_ROWS = 20_000


@dataclass
class Series:
    metric: str
    points: list[tuple[dt.datetime, float]] = field(default_factory=list)

    @property
    def latest(self) -> float | None:
        return self.points[-1][1] if self.points else None


def series_for_device(device: Device, *, hours: int = 24, now: dt.datetime | None = None) -> list[Series]:
    """Numeric points of the last ``hours``: raw messages when there are any, else hourly rollups."""
    now = now or timezone.now()
    since = now - dt.timedelta(hours=hours)
    rows = (
        Telemetry.objects.filter(device=device, kind=MessageKind.TELEMETRY, ts__gte=since, ts__lte=now)
        .order_by("-ts")
        .values_list("ts", "data")[:MAX_ROWS]
    )
    by_metric: dict[str, Series] = {}
    for ts, data in reversed(list(rows)):
        for key, value in (data or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                by_metric.setdefault(key, Series(key)).points.append((ts, float(value)))
    if not by_metric:
        hourly = (
            TelemetryHourly.objects.filter(device=device, hour__gte=since)
            .order_by("hour")
            .values_list("metric", "hour", "total", "count")
        )
        for metric, hour, total, count in hourly:
            by_metric.setdefault(metric, Series(metric)).points.append((hour, total / count if count else 0.0))
    return [by_metric[key] for key in sorted(by_metric)]


def thin(points: list[tuple[dt.datetime, float]], max_points: int) -> list[tuple[dt.datetime, float]]:
    """At most about ``max_points`` points, keeping each bucket's extremes in time order."""
    if len(points) <= max_points:
        return points
    buckets = max(1, max_points // 2)
    size = math.ceil(len(points) / buckets)
    kept: list[tuple[dt.datetime, float]] = []
    for start in range(0, len(points), size):
        chunk = points[start : start + size]
        low = min(chunk, key=lambda p: p[1])
        high = max(chunk, key=lambda p: p[1])
        kept.extend(sorted({low, high}, key=lambda p: p[0]))
    return kept


def _nice(value: float) -> str:
    if abs(value) >= 1000 or value == int(value):
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def line_chart(
    series: Series,
    *,
    start: dt.datetime,
    end: dt.datetime,
    title: str = "",
    max_points: int = 300,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> SafeString:
    """One series over [start, end] as an accessible SVG (role img, a title, axis labels)."""
    points = thin(series.points, max_points)
    label = escape(title or series.metric)
    plot_w = width - PAD_LEFT - PAD_RIGHT
    plot_h = height - PAD_TOP - PAD_BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{label}" data-metric="{escape(series.metric)}" data-points="{len(points)}">',
        f"<title>{label}</title>",
        f'<rect x="{PAD_LEFT}" y="{PAD_TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#ddd"/>',
    ]
    if points:
        values = [value for _, value in points]
        low, high = min(values), max(values)
        if high == low:
            low, high = low - 1, high + 1
        span = (end - start).total_seconds() or 1.0

        def x(when: dt.datetime) -> float:
            return PAD_LEFT + plot_w * min(max((when - start).total_seconds() / span, 0.0), 1.0)

        def y(value: float) -> float:
            return PAD_TOP + plot_h * (1 - (value - low) / (high - low))

        path = " ".join(f"{x(when):.1f},{y(value):.1f}" for when, value in points)
        parts.append(f'<polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="{path}"/>')
        for value in (low, (low + high) / 2, high):
            parts.append(
                f'<text x="{PAD_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11">'
                f"{_nice(value)}</text>"
            )
    else:
        parts.append(
            f'<text x="{PAD_LEFT + plot_w / 2}" y="{PAD_TOP + plot_h / 2}" text-anchor="middle" font-size="12">–</text>'
        )
    for fraction in (0.0, 0.5, 1.0):
        when = timezone.localtime(start + (end - start) * fraction)
        parts.append(
            f'<text x="{PAD_LEFT + plot_w * fraction:.1f}" y="{height - 8}" '
            f'text-anchor="{"start" if fraction == 0 else "end" if fraction == 1 else "middle"}" '
            f'font-size="11">{when:%m-%d %H:%M}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text above is escaped or numeric
