"""A printable A4 PDF of an announcement for the physical notice board (公告栏).

ReportLab's built-in CID font ``STSong-Light`` renders Chinese without any font file on the server
(the PDF viewer supplies the glyphs from its Adobe-GB1 collection), so this works on a bare machine.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from anju.community.models import Announcement
from anju.estates.models import Community

FONT = "STSong-Light"


def _register_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def announcement_pdf(announcement: Announcement, community: Community, *, issuer: str = "") -> bytes:
    """The announcement as a one-or-more page A4 PDF: heading, body paragraphs, issuer and date."""
    _register_font()
    title_style = ParagraphStyle(
        "title", fontName=FONT, fontSize=24, leading=32, alignment=TA_CENTER, wordWrap="CJK", spaceAfter=8 * mm
    )
    tag_style = ParagraphStyle(
        "tag",
        fontName=FONT,
        fontSize=12,
        leading=16,
        alignment=TA_CENTER,
        textColor="#b00020",
        wordWrap="CJK",
        spaceAfter=6 * mm,
    )
    body_style = ParagraphStyle(
        "body", fontName=FONT, fontSize=15, leading=25, firstLineIndent=30, wordWrap="CJK", spaceAfter=3 * mm
    )
    sign_style = ParagraphStyle("sign", fontName=FONT, fontSize=14, leading=22, alignment=TA_RIGHT, wordWrap="CJK")
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=25 * mm,
        bottomMargin=20 * mm,
        title=announcement.title,
        author=issuer or community.name,
    )
    story = [Paragraph(escape(announcement.title), title_style)]
    tags = [announcement.get_category_display()]
    if announcement.urgent:
        tags.insert(0, _("urgent"))
    story.append(Paragraph(escape(" · ".join(str(t) for t in tags)), tag_style))
    for paragraph in announcement.body.splitlines():
        if paragraph.strip():
            story.append(Paragraph(escape(paragraph.strip()), body_style))
    story.append(Spacer(1, 12 * mm))
    story.append(Paragraph(escape(issuer or community.name), sign_style))
    published = timezone.localtime(announcement.publish_at)
    story.append(Paragraph(published.strftime("%Y年%m月%d日"), sign_style))
    if announcement.expires_at:
        until = timezone.localtime(announcement.expires_at).strftime("%Y-%m-%d %H:%M")
        story.append(Paragraph(escape(_("Valid until %(until)s") % {"until": until}), sign_style))
    document.build(story)
    return buffer.getvalue()
