"""Validators for Chinese identifiers, with messages a resident or clerk understands."""

from __future__ import annotations

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_ID18 = re.compile(r"^\d{17}[\dX]$")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"


def normalize_phone(value: str) -> str:
    """Strip spaces, dashes and a leading +86 / 0086 country code."""
    digits = re.sub(r"[\s\-()]", "", value or "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits


def validate_mobile(value: str) -> str:
    """Return the normalised mainland mobile number or raise with a Chinese-first message."""
    phone = normalize_phone(value)
    if not _MOBILE.match(phone):
        raise ValidationError(
            _("“%(value)s” is not a valid mobile number: it must be 11 digits starting with 13–19."),
            code="invalid_mobile",
            params={"value": value},
        )
    return phone


def id_check_character(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) for the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def normalize_id_number(value: str) -> str:
    return (value or "").strip().replace(" ", "").upper()


def validate_id_number(value: str) -> str:
    """Validate an 18-digit resident identity card number (GB 11643): format, birth date, checksum."""
    number = normalize_id_number(value)
    if not _ID18.match(number):
        raise ValidationError(
            _("The ID number must be 18 characters: 17 digits and a final digit or X."),
            code="invalid_id_format",
        )
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(
            _("The ID number contains an impossible birth date (%(digits)s)."),
            code="invalid_id_birth_date",
            params={"digits": number[6:14]},
        ) from None
    if birth.year < 1900 or birth > timezone.localdate():
        raise ValidationError(
            _("The ID number contains an impossible birth date (%(digits)s)."),
            code="invalid_id_birth_date",
            params={"digits": number[6:14]},
        )
    if id_check_character(number[:17]) != number[17]:
        raise ValidationError(
            _("The ID number's last character does not match its check digit; please check it was typed correctly."),
            code="invalid_id_checksum",
        )
    return number
