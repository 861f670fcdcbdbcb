"""Helpers shared by the account tests: users in each role, logging in, reading forms back."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient

from auth.identity import id_check_char
from auth.models import Role
from core.db import db
from tests.factories import DEFAULT_PASSWORD, CitizenFactory, StaffFactory

ROLES = ("anonymous", "citizen", "clerk", "unit_lead", "admin", "auditor")
STRONG_PASSWORD = "Lj-2026-strong"


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


def login_as(app: Flask, client: FlaskClient, role: str) -> Account | None:
    """Log ``client`` in as a fresh user in ``role`` through the real login form (None: anonymous)."""
    if role == "anonymous":
        return None
    account = make_account(app, role)
    response = login(client, account.login)
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


def form_alert(page: str) -> str | None:
    match = re.search(r'<div class="alert alert-danger" role="alert">(.*?)</div>', page, re.S)
    return html.unescape(match.group(1)).strip() if match else None


CJK = re.compile(r"[\u4e00-\u9fff]")


def is_chinese(text: str | None) -> bool:
    """Mostly Chinese: has CJK characters and no run of English words."""
    return bool(text) and bool(CJK.search(text)) and not re.search(r"[A-Za-z]{4,}\s+[A-Za-z]{2,}", text)
