"""The citizen's bundle pages on a 375-px phone: the card in 我的办件, the detail page and the
combined correction page fit the width, and the correction page's one submit works with CSRF on."""

from __future__ import annotations

import re

from core.db import db
from core.transaction import commit
from tests.bundles.view_helpers import NEW_CAR, ask_correction, finish_handoff, submitted_bundle
from tests.clerk.helpers import DEMO_CITIZEN_MOBILE, DEMO_PASSWORD, load_world


def test_bundle_pages_fit_a_phone(live_server, phone_page, screenshot):
    with live_server.app.app_context():
        load_world()
        ba = submitted_bundle(NEW_CAR)
        finish_handoff(ba, "tax")
        ask_correction(ba, "temp_plate", [{"target": "其他", "note": "说明车辆用途"}])
        ask_correction(ba, "registration", [{"target": "其他", "note": "说明购车用途"}])
        commit()
        bid = ba.id
        db.session.remove()
    base, page = live_server.url, phone_page
    page.goto(f"{base}/login")
    page.locator("input[name=identifier]").fill(DEMO_CITIZEN_MOBILE)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()

    page.goto(f"{base}/me/applications")
    assert page.get_by_test_id("bundle-card").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "bundle-card")
    page.get_by_test_id("bundle-link").click()
    page.wait_for_url(re.compile(rf"/my/bundles/{bid}$"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "bundle-detail")

    page.get_by_test_id("corrections-link").click()
    page.wait_for_url(re.compile(r"/corrections$"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    boxes = page.locator("textarea")
    assert boxes.count() == 2
    boxes.nth(0).fill("家庭自用")
    page.get_by_role("button", name="提交全部补正").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("corrections-error").is_visible()  # the second item still unanswered
    assert page.locator("textarea").nth(0).input_value() == "家庭自用"  # kept
    page.locator("textarea").nth(1).fill("上下班通勤")
    page.get_by_role("button", name="提交全部补正").click()
    page.wait_for_url(re.compile(rf"/my/bundles/{bid}$"))
    assert "已提交 2 个事项的补正材料" in page.content()
