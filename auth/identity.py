"""Pure rules for identity numbers, mobile numbers and passwords (no Flask, no database).

居民身份证号码 per GB 11643-1999: 6-digit address code, 8-digit birth date, 3-digit sequence and an
ISO 7064 MOD 11-2 check character (``0``–``9`` or ``X``).
"""

from __future__ import annotations

import functools
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


# Foreigners: passports (issue 23) --------------------------------------------------------------

_PASSPORT_SHAPE = re.compile(r"^[A-Z0-9]{5,17}$")
_ENGLISH_NAME = re.compile(r"^[A-Z][A-Z .,'-]*[A-Z.]$")


def normalise_passport_number(value: str) -> str:
    """Strip spaces and dashes and upper-case: ``e1234 5678`` → ``E12345678``."""
    return re.sub(r"[\s-]+", "", value or "").upper()


def validate_passport_number(value: str) -> str:
    """Return the normalised passport number or raise :class:`IdNumberError`: ICAO 9303 allows up to
    9 characters in the machine-readable zone and some countries' numbers run longer, so 5 to 17
    letters or digits."""
    number = normalise_passport_number(value)
    if not _PASSPORT_SHAPE.match(number):
        raise IdNumberError(N_("护照号码应为5至17位英文字母或数字"))
    if not any(c.isdigit() for c in number):
        raise IdNumberError(N_("护照号码应包含数字，请按护照资料页填写"))
    return number


def normalise_english_name(value: str) -> str:
    """Spaces collapsed and upper-cased, as printed in a passport: ``Smith,  john`` → ``SMITH, JOHN``."""
    return re.sub(r"\s+", " ", value or "").strip().upper()


def is_valid_english_name(value: str) -> bool:
    name = normalise_english_name(value)
    return 2 <= len(name) <= 80 and bool(_ENGLISH_NAME.match(name))


def validate_nationality(value: str) -> str:
    """An ISO 3166-1 alpha-3 country code (pycountry's list), upper-cased, or :class:`IdNumberError`.
    China is refused: a Chinese citizen registers with a 居民身份证."""
    import pycountry

    code = (value or "").strip().upper()
    if not code:
        raise IdNumberError(N_("请选择国籍"))
    if len(code) != 3 or pycountry.countries.get(alpha_3=code) is None:
        raise IdNumberError(N_("国籍无效，请从列表中选择"))
    if code == "CHN":
        raise IdNumberError(N_("中国公民请使用居民身份证注册"))
    return code


@functools.cache
def nationality_choices(locale: str = "zh_CN") -> tuple[tuple[str, str], ...]:
    """``(alpha-3, name)`` for every country but China, named in ``locale`` (pycountry's ISO 3166-1
    translations; English when it has none) and sorted by that name."""
    import gettext

    import pycountry

    if locale.startswith("zh"):  # Babel's zh_Hans_CN; pycountry's catalog is zh_CN
        locale = "zh_CN"
    names = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[locale], fallback=True)
    choices = [(c.alpha_3, names.gettext(c.name)) for c in pycountry.countries if c.alpha_3 != "CHN"]
    if locale.startswith("zh"):
        from pypinyin import lazy_pinyin

        return tuple(sorted(choices, key=lambda c: "".join(lazy_pinyin(c[1]))))
    return tuple(sorted(choices, key=lambda c: c[1]))


def nationality_name(code: str | None, locale: str = "zh_CN") -> str:
    """The country's name in ``locale`` (the code itself when unknown)."""
    return dict(nationality_choices(locale)).get(code or "", code or "")
