"""Helpers shared by the account tests: users in each role, logging in, reading forms back."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from auth.identity import id_check_char, normalise_mobile
from auth.models import Role
from core.db import db
from core.outbox import OutboxMessage
from tests.factories import DEFAULT_PASSWORD, CitizenFactory, StaffFactory

ROLES = ("anonymous", "citizen", "clerk", "unit_lead", "admin", "auditor")
STRONG_PASSWORD = "Lj-2026-strong"
#: The flash after “获取验证码”, the same whether or not the number can receive an SMS.
CODE_SENT = "如该号码可以接收短信，验证码已发送，5 分钟内有效。"
WRONG_CODE = "验证码错误或已过期，请重新获取"


@dataclass(frozen=True)
class Account:
    id: int
    login: str
    password: str
    id_number: str | None = None
    mobile: str | None = None


def make_id_number(prefix: str = "330102", born: str = "19900307", seq: int = 123) -> str:
    """A valid 居民身份证号码 with the given address code, birth date and sequence number."""
    first17 = f"{prefix}{born}{seq:03d}"
    return first17 + id_check_char(first17)


def make_account(app: Flask, role: str = "citizen", **fields) -> Account:
    """Create and commit a user in ``role`` (factories) and return what a test needs to log in."""
    with app.app_context():
        user = CitizenFactory(**fields) if role == "citizen" else StaffFactory(role=Role(role), **fields)
        db.session.commit()
        return Account(
            id=user.id,
            login=user.mobile or user.username,
            password=DEFAULT_PASSWORD,
            id_number=user.id_number,
            mobile=user.mobile,
        )


def login(client: FlaskClient, identifier: str, password: str = DEFAULT_PASSWORD, **extra):
    return client.post("/login", data={"identifier": identifier, "password": password, **extra})


def login_as(app: Flask, client: FlaskClient, role: str, *, csrf: bool = False) -> Account | None:
    """Log ``client`` in as a fresh user in ``role`` through the real login form (None: anonymous).
    ``csrf``: for an app with CSRF on, post the token the login page carries, as a browser does."""
    if role == "anonymous":
        return None
    account = make_account(app, role)
    extra = {"csrf_token": csrf_token(client.get("/login").text)} if csrf else {}
    response = login(client, account.login, **extra)
    assert response.status_code == 302, response.text
    return account


def registration_data(**overrides) -> dict[str, str]:
    data = {
        "real_name": "李小红",
        "id_number": make_id_number(),
        "mobile": "13912345678",
        "password": STRONG_PASSWORD,
        "password_confirm": STRONG_PASSWORD,
    }
    data.update(overrides)
    return data


# SMS codes -------------------------------------------------------------------------------------


def sms_to(app: Flask, mobile: str) -> list[str]:
    """The texts of every SMS queued to ``mobile`` (outbox rows with ``to_mobile``), oldest first."""
    with app.app_context():
        wanted = normalise_mobile(mobile)  # to_mobile is stored encrypted: compare after reading
        rows = db.session.execute(
            select(OutboxMessage.to_mobile, OutboxMessage.sms_text).order_by(OutboxMessage.id)
        )
        return [text for to, text in rows if to == wanted]


def sms_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage))


def code_for(app: Flask, mobile: str) -> str:
    """The 6-digit code in the newest SMS queued to ``mobile`` — what the person reads on the phone."""
    texts = sms_to(app, mobile)
    assert texts, f"no SMS queued to {mobile}"
    match = re.search(r"(?<!\d)\d{6}(?!\d)", texts[-1])
    assert match, texts[-1]
    return match.group(0)


def with_code(client: FlaskClient, app: Flask, code_url: str, data: dict, *, prefix: str = "") -> dict:
    """Press the page's “获取验证码”: post the page's ``data`` to ``code_url`` (the page comes back,
    everything typed kept, with the neutral flash), read the code from the outbox, and return ``data``
    with ``<prefix>sms_code`` filled in. ``prefix`` is a form prefix such as ``"mb-"``."""
    before = len(sms_to(app, data[f"{prefix}mobile"]))
    response = client.post(code_url, data=data)
    assert response.status_code == 200, response.status_code
    assert CODE_SENT in response.text, field_error(response.text, f"{prefix}mobile")
    assert len(sms_to(app, data[f"{prefix}mobile"])) == before + 1, "no SMS queued"
    return {**data, f"{prefix}sms_code": code_for(app, data[f"{prefix}mobile"])}


def register_with_code(client: FlaskClient, app: Flask, data: dict) -> dict:
    """The registration page's ``data`` with ``sms_code`` filled in from the SMS sent to its mobile."""
    return with_code(client, app, "/register/code", data)


def register(client: FlaskClient, app: Flask, data: dict | None = None, **overrides):
    """Register through the real pages: ask for the code, then post the whole form with it."""
    data = registration_data(**overrides) if data is None else {**data, **overrides}
    return client.post("/register", data=register_with_code(client, app, data))


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert match, "no CSRF token in the page"
    return html.unescape(match.group(1))


def field_error(page: str, field: str) -> str | None:
    """The text of ``<div id="<field>-error" class="invalid-feedback …">``, or None."""
    match = re.search(
        rf'<div id="{re.escape(field)}-error" class="invalid-feedback[^"]*"[^>]*>(.*?)</div>', page, re.S
    )
    return html.unescape(match.group(1)).strip() if match else None


def input_value(page: str, name: str) -> str | None:
    """The ``value`` attribute of the input named ``name`` (None when it has none)."""
    tag = re.search(rf'<input\b[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    assert tag, f"no input named {name}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else None


def flashes(page: str) -> list[str]:
    """The texts of the flash messages at the top of the page (the form's own alert has a role)."""
    return [
        html.unescape(m).strip() for m in re.findall(r'<div class="alert alert-\w+">(.*?)</div>', page, re.S)
    ]


def form_alert(page: str) -> str | None:
    match = re.search(r'<div class="alert alert-danger" role="alert">(.*?)</div>', page, re.S)
    return html.unescape(match.group(1)).strip() if match else None


CJK = re.compile(r"[\u4e00-\u9fff]")


def is_chinese(text: str | None) -> bool:
    """Mostly Chinese: has CJK characters and no run of English words."""
    return bool(text) and bool(CJK.search(text)) and not re.search(r"[A-Za-z]{4,}\s+[A-Za-z]{2,}", text)


SESSION_COOKIE = "portal_session"


def same_cookie_on(app: Flask, source: FlaskClient) -> FlaskClient:
    """A client of ``app`` (another worker) holding ``source``'s session cookie as it is now."""
    cookie = source.get_cookie(SESSION_COOKIE)
    other = app.test_client()
    other.set_cookie(SESSION_COOKIE, cookie.value, domain=cookie.domain)
    return other
