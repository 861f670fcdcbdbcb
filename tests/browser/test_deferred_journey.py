"""Issue 17 in Debian's chromium: the 补交 journey (a citizen submits with a 容缺 document left out,
sees its due date, gives it on the detail page; the clerk sees it arrive), 核对信息 with the applicant's
own numbers in full and 修改 landing on the field, and no sideways scroll at 375 px on 办件公示,
我的办件 and the application detail page."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect
from pypdf import PdfWriter
from sqlalchemy import select

from applications.models import Application, DeferredDocument
from applications.workflow.states import State
from auth.cli import ensure_demo_accounts
from auth.models import Role
from catalog.loader import load
from core.db import db, utcnow
from tests.clerk.helpers import insert_submitted
from tests.conftest import ROOT, run_axe
from tests.factories import DEFAULT_PASSWORD, StaffFactory

pytestmark = pytest.mark.browser

DEMO_LOGIN, DEMO_PASSWORD = "13800000001", "Demo-2026"
ITEM = "LJ-ZA-007"  # 保安员证核发: 初中以上学历证明 is 容缺 (position 2)
DEFERRED = "初中以上学历证明"


@pytest.fixture
def server(live_server):
    with live_server.app.app_context():
        load(ROOT / "catalog" / "data")
        ensure_demo_accounts()
        db.session.commit()
    return live_server


@pytest.fixture
def files(tmp_path):
    photo = tmp_path / "证件照.jpg"
    Image.new("RGB", (300, 400), "white").save(photo, "JPEG")
    diploma = tmp_path / "毕业证书.jpg"
    Image.new("RGB", (400, 300), "lightblue").save(diploma, "JPEG")
    document = tmp_path / "身份证扫描件.pdf"
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    buf = io.BytesIO()
    writer.write(buf)
    document.write_bytes(buf.getvalue())
    return {"photo": str(photo), "diploma": str(diploma), "pdf": str(document)}


def _login(page, base, identifier, password) -> None:
    page.goto(f"{base}/login")
    page.locator("input[name=identifier]").fill(identifier)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()
    assert "/login" not in page.url


def _logout(page) -> None:
    page.get_by_role("button", name="退出").first.click()
    page.wait_for_load_state()


def _axe_clean(page) -> None:
    violations = run_axe(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def _in_view(page, selector: str) -> bool:
    return page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                      return r.top >= 0 && r.bottom <= window.innerHeight; }""",
        selector,
    )


def _draft_to_review(page, base, files, screenshot) -> int:
    page.goto(f"{base}/apply/{ITEM}?channel=self_study")
    page.get_by_role("button", name="开始申请").click()
    page.wait_for_url(re.compile(r"/applications/\d+/form$"))
    aid = int(re.search(r"/applications/(\d+)/form", page.url).group(1))
    # asked once: the phone is there already (the account's), no second 联系电话
    assert page.locator("input[name=contact_mobile]").input_value() == DEMO_LOGIN
    assert page.locator("input[name=f_mobile]").count() == 0
    page.get_by_label("办理辖区", exact=False).select_option("东城区")
    page.locator("input[name=f_exam_date]").fill("2026-11-01")
    page.locator("input[name=f_live_address]").fill("江南区滨江路8号3单元")
    page.locator("input[name=delivery_method][value=mail]").check()
    assert page.locator("input[name=recipient_mobile]").input_value() == DEMO_LOGIN
    page.locator("select[name=mail_district]").select_option("西城区")
    page.locator("input[name=mail_address]").fill("解放路100号1幢201室")
    screenshot(page, "form")
    page.get_by_role("button", name="保存并下一步").click()
    page.wait_for_url(re.compile(r"/documents$"))
    page.set_input_files("#doc-input-0", files["pdf"])
    page.set_input_files("#doc-input-1", files["photo"])  # 学历证明 left for later (容缺)
    page.get_by_role("button", name="保存并下一步").click()
    page.wait_for_url(re.compile(r"/review$"))
    return aid


def test_review_shows_own_numbers_and_change_lands_on_the_field(server, page, files, screenshot):
    base = server.url
    _login(page, base, DEMO_LOGIN, DEMO_PASSWORD)
    aid = _draft_to_review(page, base, files, screenshot)
    expect(page.get_by_test_id("contact-mobile")).to_have_text(DEMO_LOGIN)  # not 138****0001
    with server.app.app_context():
        own_id = db.session.get(Application, aid).applicant.id_number
    expect(page.get_by_test_id("applicant-id")).to_have_text(own_id)
    screenshot(page, "review")
    _axe_clean(page)
    page.get_by_test_id("change-f_live_address").click()
    page.wait_for_url(re.compile(r"/form#f_live_address$"))
    page.wait_for_load_state()
    expect(page.locator("#f_live_address")).to_be_focused()
    assert _in_view(page, "#f_live_address")
    screenshot(page, "change-landed")
    page.goto(f"{base}/applications/{aid}/review")
    page.get_by_test_id("change-contact_mobile").click()
    page.wait_for_url(re.compile(r"/form#contact_mobile$"))
    page.wait_for_load_state()
    expect(page.locator("#contact_mobile")).to_be_focused()


def test_give_a_deferred_document_and_the_clerk_sees_it_arrive(server, page, files, screenshot):
    base = server.url
    _login(page, base, DEMO_LOGIN, DEMO_PASSWORD)
    aid = _draft_to_review(page, base, files, screenshot)
    assert f"可在提交后 5 个工作日内在办件详情页补交：{DEFERRED}" in page.locator("main").inner_text()
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url(re.compile(r"/done$"))
    with server.app.app_context():
        due = db.session.scalar(select(DeferredDocument.due_on).where(DeferredDocument.application_id == aid))
        row = db.session.get(Application, aid)
        clerk = StaffFactory(role=Role.CLERK, units=[row.unit], username="clerk_deferred")
        db.session.commit()
        clerk_login = clerk.username
    assert f"请于 {due.isoformat()} 前补交容缺材料" in page.locator("main").inner_text()
    screenshot(page, "done")
    page.get_by_test_id("give-deferred-link").click()
    page.wait_for_url(re.compile(rf"/applications/{aid}#deferred$"))
    section = page.locator("#deferred")
    expect(section.get_by_test_id("deferral-due")).to_contain_text(due.isoformat())
    _axe_clean(page)
    screenshot(page, "detail-deferred")
    # nothing chosen: said at the document, nothing lost
    section.get_by_role("button", name="补交").click()
    page.wait_for_load_state()
    expect(page.locator("#deferred")).to_contain_text("请选择要上传的文件")
    page.set_input_files("#deferred-file-2", files["diploma"])
    page.locator("#deferred").get_by_role("button", name="补交").click()
    page.wait_for_url(re.compile(rf"/applications/{aid}#deferred$"))
    expect(page.get_by_test_id("deferral-done")).to_contain_text("毕业证书.jpg")
    screenshot(page, "deferred-given")

    # the unit's clerk (nobody holds the application yet) is told, and sees it on the application
    _logout(page)
    _login(page, base, clerk_login, DEFAULT_PASSWORD)
    page.goto(f"{base}/me/messages")
    expect(page.locator("main")).to_contain_text("容缺材料已补交")
    expect(page.locator("main")).to_contain_text(DEFERRED)
    page.goto(f"{base}/clerk/applications/{aid}")
    box = page.get_by_test_id("clerk-deferred")
    expect(box).to_contain_text(DEFERRED)
    expect(box).to_contain_text("已于")
    expect(box).to_contain_text(due.isoformat())
    screenshot(page, "clerk-sees-it")


def test_phone_pages_do_not_scroll_sideways(server, phone_page, files, screenshot):
    page = phone_page
    base = server.url
    with server.app.app_context():
        insert_submitted(3, state=State.APPROVED, completed_at=utcnow())
        insert_submitted(1, state=State.REFUSED, completed_at=utcnow())
        db.session.commit()
    page.goto(f"{base}/stats/public")
    expect(page.get_by_test_id("public-cases").locator("td[data-label]").first).to_be_visible()
    _login(page, base, DEMO_LOGIN, DEMO_PASSWORD)
    aid = _draft_to_review(page, base, files, screenshot)
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url(re.compile(r"/done$"))
    for path in ("/stats/public", "/me/applications", f"/applications/{aid}"):
        page.goto(f"{base}{path}")
        page.wait_for_load_state()
        wide = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        screenshot(page, path.strip("/").replace("/", "-"))
        assert wide <= 0, f"{path} scrolls sideways by {wide}px at 375 px"
    # 办件公示: one case per card, its cells stacked (a cell as wide as the card, not one character)
    page.goto(f"{base}/stats/public")
    widths = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=public-cases] tbody td')]
                 .map(td => td.getBoundingClientRect().width)"""
    )
    assert widths and min(widths) > 200, widths
