"""The ID-number masker recognises what can be an ID number (standing alone, a real birth date in its
place), not any run of 18 or 15 characters: reference numbers in the audit trail stay readable
(issue 18, item 3), while a mistyped ID number (wrong check character) is still masked."""

from __future__ import annotations

from datetime import date

import pytest

from applications.submission.reference import make_reference
from core.masking import looks_like_id_number, mask_text, mask_value
from tests.auth.helpers import make_id_number


@pytest.mark.parametrize("sequence", [1, 5505, 99999, 123456, 999999])
def test_real_reference_numbers_are_not_masked(sequence):
    for day in (date(2026, 12, 6), date(2027, 1, 31), date(2030, 6, 15)):
        reference = make_reference(day, sequence)
        assert mask_text(f"提交 {reference}") == f"提交 {reference}"
        assert mask_value({"reference": reference}) == {"reference": reference}


def test_real_id_numbers_are_still_masked_everywhere():
    number = make_id_number("330102", "19900307", 123)
    assert looks_like_id_number(number)
    assert mask_text(f"身份证{number}，") == f"身份证{number[:4]}**********{number[-4:]}，"
    assert mask_text("旧证 330102900307123") == "旧证 3301*******7123"  # 15-digit, born 1990-03-07


def test_eighteen_digits_that_are_no_id_number_are_left_alone_but_a_typo_is_masked():
    assert not looks_like_id_number("330102199013071230")  # month 13
    assert mask_text("运单 123456789012345678") == "运单 123456789012345678"  # born in 5678-90-12?
    number = make_id_number()
    mistyped = number[:17] + ("0" if number[17] != "0" else "1")
    assert looks_like_id_number(mistyped) and mask_text(mistyped) == mistyped[:4] + "*" * 10 + mistyped[-4:]
