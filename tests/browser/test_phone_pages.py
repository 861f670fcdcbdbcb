"""At 375 px no citizen page scrolls sideways (issue 17, item 8): 我的办件 becomes stacked cards."""

from __future__ import annotations

import pytest

from auth.cli import ensure_demo_accounts
from catalog.loader import load
from core.db import db
from tests.conftest import ROOT

pytestmark = pytest.mark.browser

PAGES = ("/", "/me/applications", "/me/wallet", "/me/messages", "/profile", "/items/LJ-HJ-001", "/forgot")


def test_no_citizen_page_is_wider_than_a_phone(live_server, phone_page, screenshot):
    with live_server.app.app_context():
        load(ROOT / "catalog" / "data")
        ensure_demo_accounts()
        db.session.commit()
    base = live_server.url
    phone_page.goto(f"{base}/login")
    phone_page.locator("input[name=identifier]").fill("13800000001")
    phone_page.locator("input[name=password]").fill("Demo-2026")
    phone_page.get_by_role("button", name="登录", exact=True).click()
    phone_page.wait_for_url(f"{base}/**")
    # one application so that 我的办件 has a row to lay out
    phone_page.goto(f"{base}/apply/LJ-CR-001")
    phone_page.get_by_role("button", name="开始申请").click()
    phone_page.wait_for_url("**/form")
    for path in PAGES:
        phone_page.goto(f"{base}{path}")
        wide = phone_page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        screenshot(phone_page, path.strip("/").replace("/", "-") or "home")
        assert wide <= 0, f"{path} scrolls sideways by {wide}px at 375 px"
    phone_page.goto(f"{base}/me/applications")
    assert phone_page.locator("td[data-label]").first.is_visible()  # the row is there, stacked
