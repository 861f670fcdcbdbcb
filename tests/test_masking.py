"""Masking of 居民身份证号 and mobile numbers: the functions, the log filter, and real requests'
HTML and log output."""

from __future__ import annotations

import io
import json
import logging

import pytest

from core.logging import PIIMaskingFilter, configure_logging
from core.masking import mask_id_number, mask_login_identifier, mask_mobile, mask_text, mask_value
from tests.auth.helpers import login, make_id_number, register_with_code, registration_data

ID = make_id_number("330106", "19851112", 457)
ID_X = "11010519491231002X"
MOBILE = "13957112345"


def test_mask_id_number():
    assert mask_id_number(ID) == ID[:4] + "*" * 10 + ID[-4:]
    assert mask_id_number(ID_X) == "1101**********002X"
    assert mask_id_number(f" {ID} ") == mask_id_number(ID)
    assert mask_id_number(None) == ""
    assert mask_id_number("") == ""
    assert mask_id_number("1234") == "****"


def test_mask_mobile():
    assert mask_mobile(MOBILE) == "139****2345"
    assert mask_mobile(None) == ""
    assert mask_mobile("12345") == "*****"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"身份证{ID}，手机{MOBILE}", f"身份证{mask_id_number(ID)}，手机{mask_mobile(MOBILE)}"),
        (f"id={ID_X.lower()}", "id=1101**********002x"),
        (f"identifier: {MOBILE}", "identifier: 139****2345"),
        ("legacy 330106851112457 ok", "legacy 3301*******2457 ok"),
        ("order 12345678901234567890 stays", "order 12345678901234567890 stays"),
        ("token deadbeef139571123450 stays", "token deadbeef139571123450 stays"),
    ],
)
def test_mask_text(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (MOBILE, "139****2345"),
        ("139 5711 2345", "139****2345"),
        ("139-5711-2345", "139****2345"),
        ("+86 13957112345", "139****2345"),
        ("1395711234", "139***1234"),  # one digit short
        (ID_X, "1101**********002X"),
        ("110105 19491231 002x", "1101**********002x"),
        ("11010519491231002", "1101*********1002"),  # one character short
        ("admin", "admin"),
        ("clerk_ps_dc_01", "clerk_ps_dc_01"),
    ],
)
def test_mask_login_identifier(typed, stored):
    assert mask_login_identifier(typed) == stored


def test_mask_value_walks_nested_structures():
    masked = mask_value({"a": [ID, {"b": MOBILE}], "n": 3, "none": None})
    assert masked == {"a": [mask_id_number(ID), {"b": mask_mobile(MOBILE)}], "n": 3, "none": None}


@pytest.fixture
def json_log():
    """The production handler (JSON formatter + masking filter) writing to a buffer."""
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer)
    yield buffer
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "stream", None) is buffer:
            root.removeHandler(handler)


def _records(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_filter_masks_message_arguments_extras_and_tracebacks(json_log):
    log = logging.getLogger("tests.masking")
    log.warning("login failed for %s", MOBILE, extra={"who": {"id_number": ID}, "ids": [ID_X]})
    try:
        raise ValueError(f"duplicate key (id_number)=({ID}), mobile {MOBILE}")
    except ValueError:
        log.exception("insert failed")
    log.info("stack", stack_info=True, extra={"note": f"caller {MOBILE}"})
    out = json_log.getvalue()
    for secret in (ID, ID_X, MOBILE):
        assert secret not in out
    records = _records(json_log)
    assert records[0]["message"] == "login failed for 139****2345"
    assert records[0]["who"] == {"id_number": mask_id_number(ID)}
    assert records[0]["ids"] == [mask_id_number(ID_X)]
    assert "ValueError: duplicate key (id_number)=(" + mask_id_number(ID) in records[1]["exc_info"]
    assert records[2]["note"] == "caller 139****2345"


def test_filter_on_a_plain_handler():
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(PIIMaskingFilter())
    log = logging.getLogger("tests.masking.plain")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.error("%s / %s", ID, MOBILE)
    finally:
        log.removeHandler(handler)
        log.propagate = True
    assert buffer.getvalue().strip() == f"{mask_id_number(ID)} / {mask_mobile(MOBILE)}"


def test_register_and_login_never_log_or_show_full_numbers(make_app, json_log):
    app = make_app(LOG_LEVEL="INFO")
    configure_logging("INFO", stream=json_log)  # the new app replaced the fixture's handler
    client = app.test_client()
    data = register_with_code(client, app, registration_data(id_number=ID, mobile=MOBILE))
    registered = client.post("/register", data=data, follow_redirects=True)
    client.post("/logout")
    # A failed login form keeps what the visitor typed (their own input), so it is not checked here.
    login(client, MOBILE, "wrong-password-1")
    login(client, ID, "wrong-password-1")
    assert login(client, ID.lower(), data["password"]).status_code == 302
    profile = client.get("/profile")
    for page in (registered, client.get("/"), profile):
        assert page.status_code == 200
        assert ID not in page.text and MOBILE not in page.text
    for page in (registered, profile):
        assert mask_id_number(ID) in page.text and mask_mobile(MOBILE) in page.text

    out = json_log.getvalue()
    assert ID not in out and ID.lower() not in out and MOBILE not in out
    assert mask_id_number(ID) in out
    assert mask_mobile(MOBILE) in out
    actions = [r["message"] for r in _records(json_log) if r["name"] == "portal.audit"]
    assert actions == [
        "audit account.register",
        "audit logout",
        "audit login.failure",
        "audit login.failure",
        "audit login.success",
    ]
