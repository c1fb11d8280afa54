"""Helpers shared by the community-life pages."""

from __future__ import annotations

import mimetypes
from typing import cast

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse

from anju.community.models import AnnouncementAttachment, Question
from anju.community.services.surveys import QuestionSpec
from anju.core.models import User


def actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def attachment_response(attachment: AnnouncementAttachment) -> HttpResponse:
    """Stream a stored attachment with its checked type, as a download under its original name."""
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    response = FileResponse(handle, content_type=attachment.content_type, as_attachment=True, filename=attachment.name)
    response["X-Content-Type-Options"] = "nosniff"
    return cast(HttpResponse, response)  # streamed; the views' callers only need a response


def image_response(image: FieldFile) -> HttpResponse:
    """Stream a stored picture (checked with Pillow on upload) inline."""
    if not image:
        raise Http404
    try:
        handle = image.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    content_type = mimetypes.guess_type(image.name or "")[0] or "application/octet-stream"
    if not content_type.startswith("image/"):
        raise Http404
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return cast(HttpResponse, response)


def parse_questions(text: str) -> list[QuestionSpec]:
    """The survey form's question lines: plain = rating 1-5; ``?text`` = free text;
    ``question | option | option`` = one choice."""
    specs = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(("?", "？")):
            specs.append(QuestionSpec(line[1:].strip(), kind=Question.Kind.TEXT, required=False))
        elif "|" in line:
            head, *options = (part.strip() for part in line.split("|"))
            specs.append(QuestionSpec(head, kind=Question.Kind.CHOICE, choices=tuple(options)))
        else:
            specs.append(QuestionSpec(line))
    return specs
