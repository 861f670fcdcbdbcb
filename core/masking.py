"""Masking of personal numbers (居民身份证号, mobile numbers) for screens, exports and logs."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

# 18-digit ID numbers (last may be X) and 15-digit legacy ones, standing alone (not inside a reference
# number such as LJ202612060005505); 11-digit mainland mobiles. A candidate is masked only when it can be
# an ID number: a real birth date in its place. The check character is deliberately not required: a
# mistyped ID number in a log line is still somebody's ID number.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_ID15_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{6})(\d{3})(?![0-9A-Za-z])")


def _real_birth_date(text: str) -> bool:
    try:
        born = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return False
    return 1880 <= born.year <= 2100


def looks_like_id_number(value: str) -> bool:
    """True for an 18-character number (the last may be X) with a real birth date (YYYYMMDD), or a
    15-digit legacy number with a real birth date (19YYMMDD)."""
    value = value.strip().upper()
    if len(value) == 18 and value[:17].isdigit() and (value[17].isdigit() or value[17] == "X"):
        return _real_birth_date(value[6:14])
    if len(value) == 15 and value.isdigit():
        return _real_birth_date("19" + value[6:12])
    return False


_MOBILE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_id_number(value: str | None) -> str:
    """``33030219900101123X`` → ``3303**********123X`` (first 4 and last 4 kept)."""
    if not value:
        return ""
    value = value.strip()
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_passport_number(value: str | None) -> str:
    """``E12345678`` → ``E1*****78`` (first 2 and last 2 kept; short numbers fully masked)."""
    if not value:
        return ""
    value = value.strip()
    if len(value) < 8:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def mask_mobile(value: str | None) -> str:
    """``13812345678`` → ``138****5678``."""
    if not value:
        return ""
    value = value.strip()
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_login_identifier(value: str) -> str:
    """What someone typed to log in, fit for the audit trail and logs.

    Numbers are masked whatever their shape — with spaces, dashes or +86, or mistyped (too short,
    too long), which :func:`mask_text` would not recognise; a staff username is kept as typed.
    """
    compact = re.sub(r"[\s-]", "", value or "")
    if compact.startswith("+86"):
        compact = compact[3:]
    if re.fullmatch(r"\d[\dXx]{6,}", compact):
        return mask_id_number(compact) if len(compact) >= 15 else mask_mobile(compact)
    if re.fullmatch(r"[A-Za-z0-9]{5,17}", compact) and sum(c.isdigit() for c in compact) >= 5:
        return mask_passport_number(compact)  # a passport number (a username has no five digits)
    return mask_text(value)


def mask_text(text: str) -> str:
    """Mask every ID number and mobile number found inside free text."""
    text = _ID_RE.sub(
        lambda m: mask_id_number(m.group(0)) if looks_like_id_number(m.group(0)) else m.group(0), text
    )
    text = _ID15_RE.sub(
        lambda m: mask_id_number(m.group(0)) if looks_like_id_number(m.group(0)) else m.group(0), text
    )
    return _MOBILE_RE.sub(lambda m: mask_mobile(m.group(0)), text)


def mask_value(value: Any) -> Any:
    """Mask strings inside nested dicts/lists (used for audit details and log records)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value
