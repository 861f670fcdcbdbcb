"""The account journey in Debian's chromium: register (获取验证码, the SMS code read from the outbox
as the phone would show it) → log out → log in → the profile shows the masked ID number.
Screenshots go to test-artifacts/; axe-core checks the pages; the register page fits a 375-px phone."""

from __future__ import annotations

import re

import pytest

from auth.population import import_residents
from core.db import db
from core.masking import mask_id_number, mask_mobile
from tests.auth.helpers import CODE_SENT, STRONG_PASSWORD, code_for, make_id_number, sms_to
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

REAL_NAME = "陈晓燕"
ID_NUMBER = make_id_number("330105", "19880615", 624)
MOBILE = "13566778899"


AXE = ROOT / "tests" / "vendor" / "axe.min.js"


def run_axe(page) -> list[dict]:
    """Serious/critical axe-core violations, like ``tests.conftest.run_axe`` — which cannot inject
    axe into these pages: ``add_script_tag`` adds an inline script, and the portal's CSP (nonces,
    no 'unsafe-inline') rightly blocks it. Evaluating the source over the DevTools protocol is not
    subject to the page's CSP."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in {"serious", "critical"}]


def _no_serious_axe_violations(page) -> None:
    violations = run_axe(page)
    summary = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert violations == [], summary


def test_register_logout_login_profile(live_server, page, screenshot):
    base = live_server.url
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    with live_server.app.app_context():  # 陈晓燕 is in the population register: the account is L2
        import_residents([{"身份证号码": ID_NUMBER, "姓名": REAL_NAME}])
        db.session.commit()
    page.goto(f"{base}/register")
    screenshot(page, "register-form")
    _no_serious_axe_violations(page)

    page.get_by_label("真实姓名").fill(REAL_NAME)
    page.get_by_label("居民身份证号码").fill(ID_NUMBER)
    page.get_by_label("手机号码", exact=True).fill(MOBILE)
    page.get_by_test_id("send-code").click()
    page.wait_for_url(re.compile(r"/register/code$"))
    assert CODE_SENT in page.locator(".flash-messages").inner_text()
    # what was typed is still there (the passwords were not typed yet)
    assert page.get_by_label("真实姓名").input_value() == REAL_NAME
    assert page.get_by_label("居民身份证号码").input_value() == ID_NUMBER
    assert page.get_by_label("手机号码", exact=True).input_value() == MOBILE
    assert len(sms_to(live_server.app, MOBILE)) == 1
    screenshot(page, "register-code-sent")
    _no_serious_axe_violations(page)

    page.get_by_label("短信验证码").fill(code_for(live_server.app, MOBILE))
    page.get_by_label("设置密码").fill(STRONG_PASSWORD)
    page.get_by_label("确认密码").fill(STRONG_PASSWORD)
    screenshot(page, "register-filled")
    page.get_by_role("button", name="注册", exact=True).click()

    page.wait_for_url(re.compile(r"/profile$"))
    assert "实名认证（L2）" in page.get_by_test_id("assurance").inner_text()
    masked = page.get_by_test_id("masked-id")
    assert masked.inner_text().strip() == mask_id_number(ID_NUMBER)
    assert page.get_by_test_id("masked-mobile").inner_text().strip() == mask_mobile(MOBILE)
    assert ID_NUMBER not in page.content() and MOBILE not in page.content()
    screenshot(page, "registered-profile")
    _no_serious_axe_violations(page)

    page.locator("header").get_by_role("button", name="退出").click()
    page.wait_for_url(f"{base}/")
    assert page.locator("header").get_by_role("link", name="登录").is_visible()
    screenshot(page, "logged-out")

    page.locator("header").get_by_role("link", name="登录").click()
    page.get_by_label("身份证号码", exact=False).fill(ID_NUMBER)
    page.get_by_label("密码", exact=True).fill(STRONG_PASSWORD)
    screenshot(page, "login-filled")
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(f"{base}/")
    screenshot(page, "logged-in")

    page.locator("header").get_by_role("link", name=REAL_NAME).click()
    page.wait_for_url(re.compile(r"/profile$"))
    assert page.get_by_role("heading", level=1).inner_text().strip() == "个人中心"
    assert page.get_by_test_id("masked-id").inner_text().strip() == mask_id_number(ID_NUMBER)
    content = page.content()
    assert ID_NUMBER not in content
    assert MOBILE not in content
    screenshot(page, "profile")
    # The pages work under their own CSP: nothing was blocked, no script failed.
    assert console_errors == []


def test_register_errors_shown_next_to_fields(live_server, page, screenshot):
    page.goto(f"{live_server.url}/register")
    page.get_by_label("真实姓名").fill(REAL_NAME)
    page.get_by_label("居民身份证号码").fill(ID_NUMBER[:17] + ("1" if ID_NUMBER[17] == "0" else "0"))
    page.get_by_label("手机号码", exact=True).fill("1234")
    page.get_by_label("设置密码").fill("short")
    page.get_by_role("button", name="注册", exact=True).click()
    id_input = page.get_by_label("居民身份证号码")
    assert id_input.get_attribute("aria-invalid") == "true"
    assert "校验位" in page.locator("#id_number-error").inner_text()
    assert "11位" in page.locator("#mobile-error").inner_text()
    assert page.get_by_label("真实姓名").input_value() == REAL_NAME
    assert page.get_by_label("设置密码").input_value() == ""
    screenshot(page, "register-errors")
    _no_serious_axe_violations(page)


def test_register_page_fits_a_phone(live_server, phone_page, screenshot):
    phone_page.goto(f"{live_server.url}/register")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"horizontal overflow: {width}px"
    assert phone_page.get_by_label("居民身份证号码").is_visible()
    assert phone_page.get_by_test_id("send-code").is_visible()
    screenshot(phone_page, "register-phone")
