"""Checking a finding's photo before it is stored: an image of an accepted type, not too big."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from anju.core.errors import DomainError

MAX_PHOTO_BYTES = 8 * 1024 * 1024
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "HEIF", "MPO"}
# Decompression bombs: a phone photo is at most ~50 megapixels.
MAX_PIXELS = 60_000_000


def validate_photo(photo: UploadedFile) -> None:
    """Refuse anything that is not a JPEG, PNG or WebP picture of at most 8 MB. Pillow reads the
    header and verifies the file; the file's own name and content type are not trusted."""
    if photo.size is None or photo.size > MAX_PHOTO_BYTES:
        raise DomainError(_("The photo is larger than 8 MB."), code="photo_too_large", field="photo")
    try:
        photo.seek(0)
        with Image.open(photo) as image:
            kind = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise DomainError(_("The photo is not a picture we can read."), code="photo_not_image", field="photo") from None
    finally:
        photo.seek(0)
    if kind not in ACCEPTED_FORMATS or width * height > MAX_PIXELS:
        raise DomainError(_("Send the photo as JPEG, PNG or WebP."), code="photo_not_image", field="photo")
