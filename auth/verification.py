"""SMS verification codes: proving a mobile number (registration, a new number, password reset).

A code is 6 digits, sent through the outbox to the number itself (``to_mobile``), stored only as an
HMAC keyed with the app's secret, valid for :data:`CODE_TTL`, single use, and dead after
:data:`MAX_TRIES` wrong tries. Requests are limited: one per :data:`RESEND_AFTER` for a number and
purpose, :data:`DAILY_PER_NUMBER` a day per number and :data:`DAILY_PER_IP` a day per address (the
address itself is never stored, only a keyed hash). Every answer a person sees is neutral: whether a
number belongs to an account is never told (for a password reset to an unknown number no SMS is sent,
and the page says exactly what it says when one is).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from auth.models import VerificationCode
from core import clock
from core.crypto import blind_index
from core.db import db
from core.errors import DomainError
from core.i18n import N_
from core.outbox import queue_message

CODE_TTL = timedelta(minutes=5)
MAX_TRIES = 5
RESEND_AFTER = timedelta(seconds=60)
DAILY_PER_NUMBER = 10
DAILY_PER_IP = 30
PURPOSES = ("register", "change_mobile", "reset_password")
SENT = N_("如该号码可以接收短信，验证码已发送，5 分钟内有效。")


class CodeThrottled(DomainError):
    """Too soon or too many: the message says when to try again, in Chinese."""


def _index(mobile: str) -> str:
    """The number as stored with a code: its blind index, never the number."""
    return blind_index("mobile", mobile.strip()) or ""


def _digest(purpose: str, mobile: str, code: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{purpose}:{mobile}:{code}".encode(), hashlib.sha256).hexdigest()


def ip_digest(ip: str | None) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"ip:{ip or ''}".encode(), hashlib.sha256).hexdigest()


def request_code(purpose: str, mobile: str, *, ip: str | None, send: bool = True) -> None:
    """Issue a code for ``purpose`` to ``mobile`` and queue its SMS (unless ``send`` is False: a
    password reset for a number no account holds is counted and timed like any other, but sends
    nothing). Raises :class:`CodeThrottled` when asked again within a minute or past a daily cap, and
    ValueError for an unknown purpose. Flushes; the caller commits."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    now = clock.now()
    day_ago = now - timedelta(days=1)
    last = db.session.scalar(
        select(func.max(VerificationCode.created_at)).where(
            VerificationCode.mobile_bidx == _index(mobile), VerificationCode.purpose == purpose
        )
    )
    if last is not None and now - last < RESEND_AFTER:
        wait = int((RESEND_AFTER - (now - last)).total_seconds()) + 1
        raise CodeThrottled(N_("验证码发送过于频繁，请 %(seconds)s 秒后再试。") % {"seconds": wait})
    per_number = db.session.scalar(
        select(func.count()).where(
            VerificationCode.mobile_bidx == _index(mobile), VerificationCode.created_at > day_ago
        )
    )
    ip_hash = ip_digest(ip)
    per_ip = db.session.scalar(
        select(func.count()).where(VerificationCode.ip_hash == ip_hash, VerificationCode.created_at > day_ago)
    )
    if per_number >= DAILY_PER_NUMBER or per_ip >= DAILY_PER_IP:
        raise CodeThrottled(N_("今日获取验证码次数已达上限，请明天再试，或到任一公安窗口办理。"))
    code = f"{secrets.randbelow(10**6):06d}"
    db.session.add(
        VerificationCode(
            purpose=purpose,
            mobile_bidx=_index(mobile),
            code_hash=_digest(purpose, mobile, code),
            ip_hash=ip_hash,
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    )
    if send:
        queue_message(f"code_{purpose}", to_mobile=mobile, code=code)
    db.session.flush()


def consume_code(purpose: str, mobile: str, code: str) -> bool:
    """True (and the code used up) when ``code`` is the live code for ``purpose`` and ``mobile``.

    A wrong code counts a try on the newest live code, which dies after :data:`MAX_TRIES`; the count is
    flushed, so the caller commits it even when the rest of its work is refused. Compared in constant
    time."""
    now = clock.now()
    row = db.session.scalar(
        select(VerificationCode)
        .where(
            VerificationCode.mobile_bidx == _index(mobile),
            VerificationCode.purpose == purpose,
            VerificationCode.used_at.is_(None),
            VerificationCode.expires_at > now,
            VerificationCode.attempts < MAX_TRIES,
        )
        .order_by(VerificationCode.created_at.desc(), VerificationCode.id.desc())
        .limit(1)
    )
    if row is None:
        return False
    if hmac.compare_digest(row.code_hash, _digest(purpose, mobile, (code or "").strip())):
        row.used_at = now
        db.session.flush()
        return True
    row.attempts += 1
    db.session.flush()
    return False


def purge_expired(before: datetime) -> int:
    """Delete codes that expired before ``before`` (the retention job); returns how many."""
    rows = db.session.scalars(select(VerificationCode).where(VerificationCode.expires_at < before)).all()
    for row in rows:
        db.session.delete(row)
    return len(rows)
