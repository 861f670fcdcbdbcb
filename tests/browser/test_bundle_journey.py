"""出生一件事 in Debian's chromium on a 375-px phone: the citizen opens the bundle page, logs in,
fills the shared questions once, answers the merged situations once, uploads the shared documents
once, checks the answers, submits, and sees the bundle's reference and every part. A screenshot per
step; axe-core on every page of the form; no page scrolls sideways."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from pypdf import PdfWriter

from auth.cli import ensure_demo_accounts
from catalog.loader import load
from core.db import db
from tests.conftest import ROOT, run_axe

pytestmark = pytest.mark.browser

DEMO_LOGIN, DEMO_PASSWORD = "13800000001", "Demo-2026"


@pytest.fixture
def server(live_server):
    with live_server.app.app_context():
        load(ROOT / "catalog" / "data")
        ensure_demo_accounts()
        db.session.commit()
    return live_server


@pytest.fixture
def files(tmp_path):
    photo = tmp_path / "父母身份证.jpg"
    Image.new("RGB", (300, 400), "white").save(photo, "JPEG")
    document = tmp_path / "户口簿.pdf"
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    buf = io.BytesIO()
    writer.write(buf)
    document.write_bytes(buf.getvalue())
    return {"photo": str(photo), "pdf": str(document)}


def _fits_and_clean(page, screenshot, name: str) -> None:
    screenshot(page, name)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, (name, overflow)
    violations = run_axe(page)
    summary = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert violations == [], (name, summary)


def test_birth_bundle_on_a_phone(server, phone_page, files, screenshot):
    page, base = phone_page, server.url
    page.goto(f"{base}/bundles/LJ-YJS-001")
    page.get_by_test_id("bundle-apply").click()
    page.wait_for_url(re.compile(r"/login"))  # applying needs an account
    page.locator("input[name=identifier]").fill(DEMO_LOGIN)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()
    if "/bundles/LJ-YJS-001/apply" not in page.url:
        page.goto(f"{base}/bundles/LJ-YJS-001/apply")
    _fits_and_clean(page, screenshot, "start")
    page.get_by_role("button", name="开始申请").click()
    page.wait_for_url(re.compile(r"/bundle-applications/\d+/shared$"))

    # 共同信息: a mistake first — the message is at the field and what was typed stays
    page.get_by_label("办理辖区", exact=False).select_option("东城区")
    page.get_by_label("出生医院").fill("临江市妇幼保健院")
    page.get_by_label("出生日期").fill("2026-11-20")
    page.get_by_label("户口簿页和社保卡邮寄地址").fill("东城区解放路100号1幢201室")
    page.get_by_role("button", name="保存并下一步").click()
    page.wait_for_load_state()
    assert "请填写新生儿姓名" in page.locator("#f_baby_name-error").inner_text()
    assert page.get_by_label("出生医院").input_value() == "临江市妇幼保健院"
    _fits_and_clean(page, screenshot, "shared-error")
    page.get_by_label("新生儿姓名").fill("王小宝")
    page.get_by_role("button", name="保存并下一步").click()
    page.wait_for_url(re.compile(r"/situations$"))

    # 情形: answered once for every item
    page.locator("#s-marriage-married").check()
    page.locator("#s-follow-father").check()
    _fits_and_clean(page, screenshot, "situations")
    page.get_by_role("button", name="保存并下一步").click()
    page.wait_for_url(re.compile(r"/documents$"))

    # 共用材料: uploaded once; 出生医学证明 and 结婚证 are fetched, not asked
    assert "出生医学证明" in page.locator(".alert-light").inner_text()
    page.set_input_files("#doc-input-hukou_book", files["pdf"])
    page.set_input_files("#doc-input-parents_id", files["photo"])
    _fits_and_clean(page, screenshot, "documents")
    page.get_by_role("button", name="保存并下一步").click()
    page.wait_for_url(re.compile(r"/delivery$"))

    # 送达方式: only mail (what every item offers); the address was given once already
    assert "东城区解放路100号1幢201室" in page.get_by_test_id("mail-to").inner_text()
    page.locator("input[name=delivery_method][value=mail]").check()
    page.get_by_label("收件人", exact=True).fill("王大明")
    page.locator("select[name=mail_district]").select_option("东城区")
    _fits_and_clean(page, screenshot, "delivery")
    page.get_by_role("button", name="保存并下一步").click()
    page.wait_for_url(re.compile(r"/review$"))

    assert page.locator("[data-testid=problems]").count() == 0
    main = page.locator("main").inner_text()
    assert "王小宝" in main and "户口簿.pdf" in main and "社会保障卡申领" in main
    _fits_and_clean(page, screenshot, "review")
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url(re.compile(r"/done$"))
    reference = page.get_by_test_id("bundle-reference").inner_text().strip()
    assert re.fullmatch(r"YJ\d{14}[0-9A-Z]", reference)
    parts = page.get_by_test_id("bundle-parts").inner_text()
    for name in ("出生登记（报户口）", "预防接种证", "城乡居民医保参保登记", "社会保障卡申领"):
        assert name in parts
    assert "办件编号" in parts  # the police item was routed and numbered at once
    _fits_and_clean(page, screenshot, "done")


def test_car_bundle_items_page_on_a_phone(server, phone_page, screenshot):
    """新车上牌: each item's own questions on one page (临时号牌's 行驶区间, 注册登记's 选号方式), with the
    page's one CSRF token; a missing answer is shown at its item's field, the rest is kept."""
    page, base = phone_page, server.url
    page.goto(f"{base}/login")
    page.locator("input[name=identifier]").fill(DEMO_LOGIN)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()
    page.goto(f"{base}/bundles/LJ-YJS-003/apply")
    page.get_by_role("button", name="开始申请").click()
    page.wait_for_url(re.compile(r"/bundle-applications/\d+/shared$"))
    items_url = page.url.replace("/shared", "/items")
    page.goto(items_url)
    page.locator("input[name='temp_plate-f_route']").fill("临江市—杭州市")
    page.get_by_role("button", name="保存并下一步").click()
    page.wait_for_load_state()
    assert page.locator("input[name='temp_plate-f_route']").input_value() == "临江市—杭州市"
    assert "请填写号牌号码选取方式" in page.locator("#item-registration").inner_text()
    _fits_and_clean(page, screenshot, "items-error")
    page.locator("input[name='temp_plate-f_start_date']").fill("2026-12-10")
    page.locator("select[name='registration-f_plate_choice']").select_option("互联网选号")
    page.get_by_role("button", name="保存并下一步").click()
    page.wait_for_url(re.compile(r"/documents$"))
    _fits_and_clean(page, screenshot, "car-documents")
