"""Checking an uploaded photo before anything is stored.

Pillow reads the header and verifies the file's structure; only JPEG, PNG and WebP are kept, under a
size limit (``settings.ANJU_WORKORDER_PHOTO_MAX_BYTES``, default 8 MB) and a pixel limit (a small
file that decompresses to gigapixels is refused before decoding). The declared content type and the
file name from the upload are ignored: the bytes decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from PIL import Image, UnidentifiedImageError

from anju.core.errors import DomainError

MAX_PHOTOS = 6
MAX_PIXELS = 50_000_000
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}


def max_bytes() -> int:
    return int(getattr(settings, "ANJU_WORKORDER_PHOTO_MAX_BYTES", 8 * 1024 * 1024))


class PhotoRefused(DomainError):
    code = "photo_refused"
    default_message = _("This file is not a photo we can accept.")


@dataclass(frozen=True)
class CheckedPhoto:
    content: bytes
    extension: str
    content_type: str
    width: int
    height: int


def check_photo(upload: IO[bytes], *, name: str = "") -> CheckedPhoto:
    """Read and verify one upload; :class:`PhotoRefused` (field ``photos``) names what is wrong."""
    limit = max_bytes()
    content = upload.read(limit + 1)
    label = name or _("The photo")
    if len(content) > limit:
        raise PhotoRefused(
            _("%(name)s is larger than %(mb)d MB.") % {"name": label, "mb": limit // (1024 * 1024)},
            code="photo_too_large",
            field="photos",
        )
    if not content:
        raise PhotoRefused(_("%(name)s is empty.") % {"name": label}, code="photo_not_image", field="photos")
    import io

    try:
        with Image.open(io.BytesIO(content)) as image:
            kind = image.format or ""
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise PhotoRefused(
                    _("%(name)s has too many pixels.") % {"name": label}, code="photo_too_large", field="photos"
                )
            image.verify()
    except PhotoRefused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PhotoRefused(
            _("%(name)s is not a JPEG, PNG or WebP image.") % {"name": label}, code="photo_not_image", field="photos"
        ) from None
    if kind not in FORMATS:
        raise PhotoRefused(
            _("%(name)s is not a JPEG, PNG or WebP image.") % {"name": label}, code="photo_not_image", field="photos"
        )
    extension, content_type = FORMATS[kind]
    return CheckedPhoto(content, extension, content_type, width, height)
