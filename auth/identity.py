"""Pure rules for identity numbers, mobile numbers and passwords (no Flask, no database).

居民身份证号码 per GB 11643-1999: 6-digit address code, 8-digit birth date, 3-digit sequence and an
ISO 7064 MOD 11-2 check character (``0``–``9`` or ``X``).
"""

from __future__ import annotations

import re
from datetime import date

from core.clock import local_today
from core.i18n import N_

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


class IdNumberError(ValueError):
    """Why an ID number is not valid; ``str()`` is a Chinese message for the form field."""


def normalise_id_number(value: str) -> str:
    """Strip spaces and upper-case a trailing ``x``."""
    return re.sub(r"\s+", "", value or "").upper()


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def id_birth_date(number: str) -> date:
    """The birth date encoded in an 18-character ID number (raises ``ValueError`` if impossible)."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def validate_id_number(value: str, *, today: date | None = None) -> str:
    """Return the normalised number or raise :class:`IdNumberError` with the reason in Chinese."""
    number = normalise_id_number(value)
    if not _ID_SHAPE.match(number):
        raise IdNumberError(N_("身份证号码应为18位，前17位为数字，最后一位为数字或X"))
    try:
        born = id_birth_date(number)
    except ValueError as exc:
        raise IdNumberError(N_("身份证号码中的出生日期不存在")) from exc
    today = today or local_today()
    if born > today:
        raise IdNumberError(N_("身份证号码中的出生日期晚于今天"))
    if born.year < 1900:
        raise IdNumberError(N_("身份证号码中的出生日期不合理"))
    if id_check_char(number[:17]) != number[17]:
        raise IdNumberError(N_("身份证号码校验位不正确，请核对后重新输入"))
    return number


def is_valid_id_number(value: str) -> bool:
    try:
        validate_id_number(value)
    except IdNumberError:
        return False
    return True


def normalise_mobile(value: str) -> str:
    """Drop spaces, dashes and a leading +86 / 86."""
    digits = re.sub(r"[\s-]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def is_valid_mobile(value: str) -> bool:
    return bool(MOBILE_RE.match(normalise_mobile(value)))


PASSWORD_MIN_LENGTH = 8


def password_problems(password: str, *, id_number: str = "", mobile: str = "") -> list[str]:
    """Every reason (in Chinese) why ``password`` is not acceptable; empty when it is fine.

    Rules: at least 8 characters; not all of one class (digits, letters, other); not the ID number
    or mobile number (nor contain them).
    """
    problems: list[str] = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(N_("密码至少需要8个字符"))
    classes = {
        "digit": any(c.isdigit() for c in password),
        "letter": any(c.isalpha() for c in password),
        "other": any(not c.isalnum() for c in password),
    }
    if password and sum(classes.values()) < 2:
        problems.append(N_("密码不能只由同一类字符组成，请混合使用字母、数字或符号"))
    lowered = password.upper()
    if id_number and id_number.upper() in lowered:
        problems.append(N_("密码不能包含您的身份证号码"))
    if mobile and mobile in password:
        problems.append(N_("密码不能包含您的手机号码"))
    return problems
