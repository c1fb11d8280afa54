"""QR codes for inspection points (segno): the code holds the URL of the point's scan page, whose
last segment is the point's secret token. Any phone camera opens it; the page then records the
check-in for the patroller's open round on that route."""

from __future__ import annotations

import io

import segno
from django.http import HttpRequest
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from anju.workorders.preventive.models import Point


def scan_path(point: Point) -> str:
    return reverse("console:preventive_scan", args=[point.community_id, point.token])


def scan_url(request: HttpRequest, point: Point) -> str:
    """The absolute URL a sticker encodes, on the host the sheet was printed from."""
    return request.build_absolute_uri(scan_path(point))


def qr_svg(content: str, *, scale: int = 4) -> SafeString:
    """An inline ``<svg>`` of ``content`` with error correction level M (a sticker may get dirty)."""
    code = segno.make(content, error="m", boost_error=False)
    return mark_safe(code.svg_inline(scale=scale, border=2, omitsize=False))  # segno's own markup, no user input


def qr_png(content: str, *, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    segno.make(content, error="m", boost_error=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
