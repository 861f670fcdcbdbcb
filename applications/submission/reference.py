"""Reference numbers (办件编号): ``LJ`` + date + 6-digit daily sequence + a check character; a 一件事
application's number (联办编号) is the same with ``YJ``, drawn from the same daily counter.

Readable over the phone, unique (a unique index), and checked before any look-up so a mistyped
number is caught at once. It is never the only key to data: pages still check ownership.
"""

from __future__ import annotations

from datetime import date

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUVWXY"  # 32 characters, no I O S Z
PREFIX = "LJ"
BUNDLE_PREFIX = "YJ"  # 一件事: one number for the bundle, its items keep their own


def check_char(body: str) -> str:
    """A weighted checksum over the digits (position-sensitive, catches swaps and single errors)."""
    total = sum((i + 1) * int(c) for i, c in enumerate(body) if c.isdigit())
    return ALPHABET[total % 31]


def make_reference(day: date, sequence: int, prefix: str = PREFIX) -> str:
    body = f"{day:%Y%m%d}{sequence:06d}"
    return f"{prefix}{body}{check_char(body)}"


def is_valid_reference(value: str, prefix: str = PREFIX) -> bool:
    value = (value or "").strip().upper()
    if len(value) != 17 or not value.startswith(prefix):
        return False
    body = value[2:16]
    return body.isdigit() and check_char(body) == value[16]
