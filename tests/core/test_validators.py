from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from anju.core.crypto import blind_index, decrypt, encrypt, mask_id_number, mask_phone, seal_phone
from anju.core.validators import id_check_character, validate_id_number, validate_mobile


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("13812345678", "13812345678"), ("+86 138-1234-5678", "13812345678"), ("008619912345678", "19912345678")],
)
def test_mobile_numbers_are_normalised(raw, expected):
    assert validate_mobile(raw) == expected


@pytest.mark.parametrize("raw", ["1381234567", "12812345678", "23812345678", "138123456789", "", "abc"])
def test_bad_mobile_numbers_are_refused_with_a_code(raw):
    with pytest.raises(ValidationError) as info:
        validate_mobile(raw)
    assert info.value.code == "invalid_mobile"


def test_known_id_numbers():
    # Check digits computed by hand from the GB 11643 weights.
    assert validate_id_number("11010519491231002x") == "11010519491231002X"
    assert validate_id_number("440524198001010013") == "440524198001010013"
    assert validate_id_number("320102199003071239") == "320102199003071239"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("110105194912310021", "invalid_id_checksum"),
        ("11010519491331002X", "invalid_id_birth_date"),
        ("1101051949123100", "invalid_id_format"),
        ("11010518991231002X", "invalid_id_birth_date"),
    ],
)
def test_bad_id_numbers_say_what_is_wrong(raw, code):
    with pytest.raises(ValidationError) as info:
        validate_id_number(raw)
    assert info.value.code == code


@given(
    st.integers(min_value=110000, max_value=659999),
    st.dates(min_value=__import__("datetime").date(1920, 1, 1), max_value=__import__("datetime").date(2020, 12, 31)),
    st.integers(min_value=0, max_value=999),
)
def test_every_id_with_a_computed_check_digit_validates_and_any_other_digit_fails(area, birth, seq):
    first17 = f"{area:06d}{birth:%Y%m%d}{seq:03d}"
    good = first17 + id_check_character(first17)
    assert validate_id_number(good) == good
    for wrong in "0123456789X":
        if wrong != good[-1]:
            with pytest.raises(ValidationError):
                validate_id_number(first17 + wrong)


def test_masks():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("11010519491231002X") == "110105********002X"


@given(st.text(min_size=1, max_size=60))
def test_encryption_round_trips_and_hides_the_plaintext(text):
    token = encrypt(text)
    assert decrypt(token) == text
    assert text not in token or len(text) < 3


def test_blind_index_is_keyed_and_purpose_bound():
    assert blind_index("13812345678", purpose="phone") == seal_phone("13812345678").index
    assert blind_index("13812345678", purpose="phone") != blind_index("13812345678", purpose="id_number")


def test_ciphertexts_differ_each_time():
    assert encrypt("13812345678") != encrypt("13812345678")
