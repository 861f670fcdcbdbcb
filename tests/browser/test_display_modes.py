"""长辈版 and English in a real browser (issue 23): axe-core finds nothing serious, no page scrolls
sideways at 200 % zoom (a 1280-px screen at 200 % lays out like a 640-px viewport at 2x) or on a
375-px phone, and 长辈版 really has large type and large touch targets."""

from __future__ import annotations

import pytest

from catalog.loader import load
from core.db import db
from tests.conftest import ROOT, run_axe

pytestmark = pytest.mark.browser

PAGES = ("/", "/category/exit_entry", "/items/LJ-CR-001", "/search?q=护照", "/login", "/register")
MODES = {
    "standard": {},
    "elder": {"elder": "1"},
    "english": {"lang": "en"},
    "english-elder": {"lang": "en", "elder": "1"},
}
WIDE = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def catalog_server(live_server):
    with live_server.app.app_context():
        load(ROOT / "catalog" / "data")
        db.session.commit()
    return live_server


def _set_mode(context, base: str, mode: dict) -> None:
    context.clear_cookies()
    cookies = [{"name": k, "value": v, "url": base} for k, v in mode.items()]
    if cookies:
        context.add_cookies(cookies)


@pytest.mark.parametrize("mode", MODES)
def test_axe_and_200_percent_zoom(catalog_server, browser_instance, screenshot, mode):
    base = catalog_server.url
    context = browser_instance.new_context(
        locale="zh-CN", viewport={"width": 640, "height": 800}, device_scale_factor=2
    )
    pg = context.new_page()
    pg.set_default_timeout(15000)
    _set_mode(context, base, MODES[mode])
    try:
        for path in PAGES:
            pg.goto(f"{base}{path}")
            if "lang" in MODES[mode]:
                assert pg.locator("html").get_attribute("lang") == "en"
            wide = pg.evaluate(WIDE)
            screenshot(pg, f"{mode}-{path.strip('/').split('?')[0].replace('/', '-') or 'home'}")
            assert wide <= 0, f"{mode} {path} scrolls sideways by {wide}px at 200 % zoom"
            violations = run_axe(pg)
            assert violations == [], f"{mode} {path}: {violations}"
    finally:
        context.close()


def test_elder_mode_on_a_phone_is_large_and_never_scrolls_sideways(catalog_server, phone_page, screenshot):
    base = catalog_server.url
    phone_page.goto(f"{base}/")
    phone_page.get_by_test_id("elder-switch").click()
    phone_page.wait_for_selector("body.elder")
    for path in PAGES:
        phone_page.goto(f"{base}{path}")  # remembered: no argument in the URL
        assert phone_page.locator("body.elder").count() == 1, path
        assert phone_page.evaluate(WIDE) <= 0, f"{path} scrolls sideways at 375 px in 长辈版"
        sizes = phone_page.evaluate(
            """() => ({
                body: parseFloat(getComputedStyle(document.body).fontSize),
                heading: Math.min(...[...document.querySelectorAll('main h1, main h2, main h3')]
                    .map(h => parseFloat(getComputedStyle(h).fontSize))),
                smallest: Math.min(...[...document.querySelectorAll(
                        'main p, main li, main label, main a, main dd')]
                    .filter(e => e.offsetParent !== null && e.textContent.trim())
                    .map(e => parseFloat(getComputedStyle(e).fontSize))),
                target: Math.min(...[...document.querySelectorAll(
                        'main .btn, .display-bar a, main .form-control')]
                    .filter(e => e.offsetParent !== null).map(e => e.getBoundingClientRect().height)),
            })"""
        )
        assert sizes["body"] >= 18 and sizes["smallest"] >= 18, (path, sizes)
        assert sizes["heading"] >= 20, (path, sizes)
        assert sizes["target"] >= 44, (path, sizes)
        help_line = phone_page.get_by_test_id("help-line")
        assert help_line.is_visible() and "tel:" in help_line.locator("a").get_attribute("href")
        screenshot(phone_page, "elder-" + (path.strip("/").split("?")[0].replace("/", "-") or "home"))


def test_the_language_switch_is_remembered_across_pages(catalog_server, page):
    base = catalog_server.url
    page.goto(f"{base}/items/LJ-CR-001")
    page.get_by_test_id("lang-switch").click()
    page.wait_for_selector("html[lang=en]")
    assert page.get_by_role("link", name="Log in").first.is_visible()
    page.goto(f"{base}/login")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_test_id("lang-switch").click()
    page.wait_for_selector("html[lang=zh-CN]")


CITIZEN_PAGES = ("/me/applications", "/me/wallet", "/me/messages", "/profile", "/apply/LJ-CR-013")


@pytest.mark.parametrize("mode", ["elder", "english-elder"])
def test_citizen_pages_in_elder_mode_at_200_percent(catalog_server, browser_instance, screenshot, mode):
    from auth.cli import ensure_demo_accounts

    with catalog_server.app.app_context():
        ensure_demo_accounts()
        db.session.commit()
    base = catalog_server.url
    context = browser_instance.new_context(
        locale="zh-CN", viewport={"width": 640, "height": 800}, device_scale_factor=2
    )
    pg = context.new_page()
    pg.set_default_timeout(15000)
    try:
        pg.goto(f"{base}/login")
        pg.locator("input[name=identifier]").fill("13800000001")
        pg.locator("input[name=password]").fill("Demo-2026")
        pg.locator("main button[type=submit]").click()
        pg.wait_for_url(f"{base}/**")
        pg.goto(f"{base}/apply/LJ-CR-001")
        pg.locator("main form button[type=submit]").last.click()
        pg.wait_for_url("**/form")
        _set_mode_keep_session(context, base, MODES[mode])
        for path in CITIZEN_PAGES:
            pg.goto(f"{base}{path}")
            assert pg.locator("body.elder").count() == 1, path
            assert pg.get_by_test_id("help-line").is_visible(), path
            wide = pg.evaluate(WIDE)
            screenshot(pg, f"{mode}-{path.strip('/').replace('/', '-')}")
            assert wide <= 0, f"{mode} {path} scrolls sideways by {wide}px at 200 % zoom"
            assert run_axe(pg) == [], f"{mode} {path}"
    finally:
        context.close()


def _set_mode_keep_session(context, base: str, mode: dict) -> None:
    context.add_cookies([{"name": k, "value": v, "url": base} for k, v in mode.items()])
