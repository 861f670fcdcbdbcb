"""The counter's journey in Debian's chromium: a clerk registers a walk-in — item, situation, the
person, the item's own form, two scanned pages and a 容缺 document — first forgets a field (the page
keeps everything typed), then registers and prints the 受理回执. axe-core on the form and the receipt."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.auth.helpers import make_id_number
from tests.browser.test_clerk_journey import _axe_clean, _login
from tests.clerk.helpers import load_world
from tests.uploads import corpus

pytestmark = pytest.mark.browser


@pytest.fixture
def server(live_server):
    with live_server.app.app_context():
        load_world()
    return live_server


def test_the_counter_registers_a_walk_in_with_its_form_and_scans_and_prints_the_receipt(
    server, page, browser_instance, screenshot, tmp_path
):
    base = server.url
    front, back = tmp_path / "户口簿首页.png", tmp_path / "户口簿本人页.png"
    front.write_bytes(corpus.png())
    back.write_bytes(corpus.png(size=(40, 30)))
    card = tmp_path / "身份证.jpg"
    card.write_bytes(corpus.jpeg())
    number = make_id_number("330102", "19580303", 321)

    _login(page, base, "clerk_ps_dc_01")
    page.goto(f"{base}/clerk/")
    page.get_by_role("link", name="窗口登记").click()
    expect(page.get_by_role("heading", name="窗口登记（现场申请）")).to_be_visible()
    page.get_by_label("办理事项").select_option(label="父母投靠子女落户（LJ-HJ-010）")
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_text("如何证明亲子关系？")).to_be_visible()
    page.get_by_label("户籍档案无法证明").check()
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("heading", name="窗口登记：父母投靠子女落户")).to_be_visible()
    screenshot(page, "walk-in-form")
    _axe_clean(page)

    page.get_by_label("申请人姓名").fill("陈秀兰")
    page.get_by_label("申请人居民身份证号码").fill(number)
    page.get_by_label("申请人手机号码").fill("13955550077")
    page.get_by_label("已当面核验申请人的居民身份证原件，人证一致").check()
    page.get_by_label("办理辖区（户籍地或居住地所在区）").select_option("东城区")
    page.get_by_label("投靠父母姓名").fill("陈秀兰")
    # 拟迁入地址 forgotten
    page.get_by_label("到窗口领取").check()
    page.get_by_label("领取窗口").select_option("LJ-PS-DC-01")
    page.locator("#doc-input-0").set_input_files([str(front), str(back)])
    page.locator("#doc-input-1").set_input_files(str(card))
    page.get_by_label("申请人未带，容缺受理（限期后补）").check()
    page.get_by_role("button", name="登记并生成受理回执").click()

    expect(page.get_by_test_id("walk-in-errors")).to_be_visible()
    expect(page.locator("#f_move_in_address-error")).to_have_text("请填写拟迁入地址")
    expect(page.get_by_label("申请人姓名")).to_have_value("陈秀兰")
    expect(page.get_by_label("投靠父母姓名")).to_have_value("陈秀兰")
    expect(page.get_by_label("申请人未带，容缺受理（限期后补）")).to_be_checked()
    screenshot(page, "walk-in-422")

    page.get_by_label("拟迁入地址").fill("东城区解放路100号1幢201室")
    page.locator("#doc-input-0").set_input_files([str(front), str(back)])
    page.locator("#doc-input-1").set_input_files(str(card))
    page.get_by_role("button", name="登记并生成受理回执").click()

    expect(page).to_have_url(re.compile(r"/clerk/applications/\d+/receipt$"))
    expect(page.get_by_role("heading", name="受理回执")).to_be_visible()
    expect(page.get_by_test_id("receipt-reference")).to_have_text(re.compile(r"^LJ\d+"))
    docs = page.get_by_test_id("receipt-docs")
    expect(docs).to_contain_text("已扫描 2 个文件")
    expect(docs).to_contain_text("容缺受理，请尽快补交")
    expect(page.get_by_test_id("receipt-promised")).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2}"))
    _axe_clean(page)
    screenshot(page, "walk-in-receipt")
    # the print stylesheet leaves only the receipt: no navigation, no buttons, no flash message
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="打印受理回执")).to_be_hidden()
    expect(page.locator(".flash-messages")).to_be_hidden()
    expect(page.get_by_role("heading", name="受理回执")).to_be_visible()
    screenshot(page, "walk-in-receipt-print")
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 375, "height": 800})  # a counter tablet or phone: no sideways scroll
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    reference = page.get_by_test_id("receipt-reference").inner_text()
    case = re.search(r"/clerk/applications/(\d+)/receipt", page.url).group(1)

    # The auditor reads the case's trail as Chinese sentences; the raw record opens on a click.
    context = browser_instance.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    auditor = context.new_page()
    auditor.set_default_timeout(15000)
    try:
        _login(auditor, base, "auditor")
        auditor.goto(f"{base}/audit/application/{case}")
        submitted = auditor.locator("tr", has_text="提交申请")
        expect(submitted.get_by_test_id("audit-line")).to_have_text(  # the clerk's name masked: 李*华
            re.compile(
                rf"^[^*]\*[^*]（窗口/审核人员） 提交申请 办件 {reference}：状态：草稿 → 已提交，待受理$"
            ),
        )
        visit = auditor.locator("tr", has_text="记录到场")
        expect(visit.get_by_test_id("audit-line")).to_contain_text("事由：窗口受理")
        raw = submitted.locator("details")
        expect(raw.locator("code").first).to_be_hidden()
        raw.locator("summary").click()
        expect(raw.get_by_text("application.submit")).to_be_visible()
        expect(raw).to_contain_text('"to":"submitted"')
        _axe_clean(auditor)
        screenshot(auditor, "audit-readable-line")
    finally:
        context.close()


def test_the_walk_in_steps_fit_a_phone(server, phone_page, screenshot):
    base = server.url
    _login(phone_page, base, "clerk_ps_dc_01")
    for step, path in (
        ("item", "/clerk/walk-in"),
        ("situations", "/clerk/walk-in?item=LJ-HJ-010"),
        ("form", "/clerk/walk-in?item=LJ-HJ-010&answered=1&relation_proof=other_proof"),
    ):
        phone_page.goto(f"{base}{path}")
        wide = phone_page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        screenshot(phone_page, f"walk-in-{step}-375")
        assert wide <= 0, f"{path} scrolls sideways by {wide}px at 375 px"
