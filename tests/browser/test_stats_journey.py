"""The statistics journey in Debian's chromium: the admin's dashboard draws its Chart.js charts under
the strict CSP (no console errors — a CSP violation is one), a drill-down opens the right
applications, and the public page shows without a login. Screenshots per step; axe-core on /stats
and /stats/public."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from applications.stats import init_stats
from core.db import db
from tests.clerk.helpers import load_world
from tests.conftest import run_axe
from tests.stats.test_metrics import build

pytestmark = pytest.mark.browser

Q = "from=2025-09-01&to=2025-10-31"


@pytest.fixture
def stats_server(live_server):
    app = live_server.app
    if "stats" not in app.blueprints:
        init_stats(app)
    with app.app_context():
        load_world()
        build()
        db.session.remove()
    return live_server


def _watch_console(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def _assert_accessible(page) -> None:
    violations = run_axe(page)
    summary = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert violations == [], summary


def test_dashboard_charts_and_drill_down(stats_server, page, screenshot):
    base = stats_server.url
    errors = _watch_console(page)
    page.goto(f"{base}/login")
    page.get_by_label("身份证号码", exact=False).fill("admin")
    page.get_by_label("密码", exact=True).fill("Demo-2026")
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r"/(profile.*)?$"))

    page.goto(f"{base}/stats?{Q}&by=item")
    expect(page.get_by_role("heading", level=1)).to_have_text("统计分析")
    expect(page.locator("#chart-monthly[data-rendered='1']")).to_have_count(1)
    expect(page.locator("#chart-units[data-rendered='1']")).to_have_count(1)
    assert page.locator("canvas").count() == 2
    expect(page.locator("[data-kpi='zero_visit']")).to_have_text("60.0%")
    screenshot(page, "dashboard")
    _assert_accessible(page)

    page.locator("[data-kpi='late'] a").click()
    page.wait_for_url(re.compile(r"/stats/drill\?"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("超期办结")
    expect(page.locator("[data-testid='drill-table'] tbody tr[data-reference]")).to_have_count(2)
    screenshot(page, "drill-late")

    page.goto(f"{base}/stats/reform?{Q}")
    expect(page.get_by_role("heading", level=1)).to_have_text("改革清单")
    page.locator("[data-testid='reform-visits'] tr[data-key='LJ-HJ-021'] td").last.get_by_role("link").click()
    page.wait_for_url(re.compile(r"metric=over_declared"))
    expect(page.locator("[data-testid='drill-table'] tbody tr[data-reference]")).to_have_count(2)
    screenshot(page, "reform-evidence")
    assert errors == []


def test_public_page_without_login(stats_server, page, screenshot):
    errors = _watch_console(page)
    page.goto(f"{stats_server.url}/stats/public")
    expect(page.get_by_role("heading", level=1)).to_contain_text("公开数据")
    expect(page.locator("#chart-public[data-rendered='1']")).to_have_count(1)
    expect(page.get_by_test_id("public-cases").locator("tbody tr")).not_to_have_count(0)
    expect(page.locator("header").get_by_role("link", name="登录")).to_be_visible()
    screenshot(page, "public")
    _assert_accessible(page)
    assert errors == []
