"""GB 11643 居民身份证号码 checks, mobile numbers and the password rules (pure functions)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from faker import Faker

from auth.identity import (
    IdNumberError,
    id_check_char,
    is_valid_id_number,
    is_valid_mobile,
    normalise_mobile,
    password_problems,
    validate_id_number,
)
from core.clock import local_today
from tests.auth.helpers import make_id_number

# A published GB 11643 example whose check character is X.
X_NUMBER = "11010519491231002X"


def test_faker_zh_cn_numbers_are_all_valid():
    fake = Faker("zh_CN")
    Faker.seed(20261122)
    numbers = [fake.ssn() for _ in range(400)]
    assert any(n.endswith("X") for n in numbers), "sample should include X check characters"
    invalid = [n for n in numbers if not is_valid_id_number(n)]
    assert invalid == []


def test_known_x_check_digit_number():
    assert id_check_char(X_NUMBER[:17]) == "X"
    assert validate_id_number(X_NUMBER) == X_NUMBER


def test_lowercase_x_is_normalised_to_upper_case():
    assert validate_id_number(X_NUMBER.lower()) == X_NUMBER
    assert validate_id_number(" 110105 19491231 002x ") == X_NUMBER


def _with_wrong_check(number: str) -> str:
    right = number[17]
    wrong = next(c for c in "0123456789X" if c != right)
    return number[:17] + wrong


GOOD = make_id_number()


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (_with_wrong_check(GOOD), "校验位"),
        (_with_wrong_check(X_NUMBER), "校验位"),
        (GOOD[:17], "18位"),
        (GOOD + "1", "18位"),
        ("", "18位"),
        ("33010219900307A23X", "18位"),
        ("X30102199003071230", "18位"),
        ("33010219900307123Y", "18位"),
        (make_id_number(born="19901307"), "出生日期不存在"),  # month 13
        (make_id_number(born="19900230"), "出生日期不存在"),  # 30 February
        (make_id_number(born="19900229"), "出生日期不存在"),  # 1990 is no leap year
        (make_id_number(born="19900100"), "出生日期不存在"),  # day 0
        (make_id_number(born="18991231"), "出生日期不合理"),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(number, reason):
    assert not is_valid_id_number(number)
    with pytest.raises(IdNumberError) as info:
        validate_id_number(number)
    assert reason in str(info.value)


def test_leap_day_birth_date_is_valid():
    assert is_valid_id_number(make_id_number(born="20000229"))


def test_future_birth_date_is_refused():
    tomorrow = local_today() + timedelta(days=1)  # tomorrow in Beijing (not the server's UTC date)
    number = make_id_number(born=tomorrow.strftime("%Y%m%d"))
    with pytest.raises(IdNumberError, match="晚于今天"):
        validate_id_number(number)
    # Born today is fine; ``today`` can be pinned.
    assert validate_id_number(number, today=tomorrow) == number
    with pytest.raises(IdNumberError, match="晚于今天"):
        validate_id_number(make_id_number(born="20250101"), today=date(2024, 12, 31))


@pytest.mark.parametrize(
    ("raw", "valid"),
    [
        ("13812345678", True),
        ("138 1234 5678", True),
        ("138-1234-5678", True),
        ("+8613812345678", True),
        ("8613812345678", True),
        ("19912345678", True),
        ("12812345678", False),
        ("1381234567", False),
        ("138123456789", False),
        ("23812345678", False),
        ("1381234567a", False),
        ("", False),
    ],
)
def test_mobile_numbers(raw, valid):
    assert is_valid_mobile(raw) is valid


def test_normalise_mobile():
    assert normalise_mobile("+86 138-1234-5678") == "13812345678"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Ab1!", "至少需要8个字符"),
        ("abcdefghijk", "同一类字符"),
        ("12345678901", "同一类字符"),
        ("!@#$%^&*()", "同一类字符"),
        ("密码密码密码密码", "同一类字符"),
    ],
)
def test_weak_passwords(password, problem):
    problems = password_problems(password)
    assert any(problem in p for p in problems), problems


def test_password_may_not_contain_id_number_or_mobile():
    id_number, mobile = X_NUMBER, "13812345678"
    assert any("身份证" in p for p in password_problems(id_number, id_number=id_number, mobile=mobile))
    assert any("身份证" in p for p in password_problems("a" + id_number.lower(), id_number=id_number))
    assert any("手机" in p for p in password_problems(f"pw{mobile}", id_number=id_number, mobile=mobile))


@pytest.mark.parametrize("password", ["Lj-2026-strong", "abcd1234", "abcd-efgh", "1234-5678", "长城长城2026"])
def test_acceptable_passwords(password):
    assert password_problems(password, id_number=X_NUMBER, mobile="13812345678") == []
