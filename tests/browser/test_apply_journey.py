"""The apply journey in Debian's chromium: log in, find an item, answer the guide, fill the form,
upload a photo and a PDF, check answers, submit, see the reference, find it in 我的办件; again as
亲友代办. A screenshot per step; axe-core on the form, documents and review pages; the form fits a
375-px phone."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect
from pypdf import PdfWriter

from auth.cli import ensure_demo_accounts
from catalog.loader import load
from core.db import db
from tests.applications.helpers import PRINCIPAL_ID
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
    photo = tmp_path / "证件照.jpg"
    Image.new("RGB", (300, 400), "white").save(photo, "JPEG")
    document = tmp_path / "身份证扫描件.pdf"
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    buf = io.BytesIO()
    writer.write(buf)
    document.write_bytes(buf.getvalue())
    return {"photo": str(photo), "pdf": str(document)}


def _axe_clean(page) -> None:
    violations = run_axe(page)
    summary = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert violations == [], summary


def _login(page, base, screenshot) -> None:
    page.goto(f"{base}/login")
    page.locator("input[name=identifier]").fill(DEMO_LOGIN)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    screenshot(page, "login")
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()
    assert "/login" not in page.url


def _find_and_open(page, base, query: str, name: str, answers: dict[str, str], screenshot) -> None:
    page.goto(f"{base}/search?q={query}")
    screenshot(page, "search")
    page.locator("main").get_by_role("link", name=name).first.click()
    page.wait_for_load_state()
    for key, value in answers.items():
        page.locator(f"#s-{key}-{value}").check()
    # htmx refreshes the document list (and the apply link with the answers) on every change.
    for key, value in answers.items():
        expect(page.get_by_test_id("apply-link")).to_have_attribute("href", re.compile(f"{key}={value}"))
    screenshot(page, "guide-answered")
    page.get_by_test_id("apply-link").click()
    page.wait_for_load_state()
    for key, value in answers.items():
        assert page.locator(f"#s-{key}-{value}").is_checked()
    screenshot(page, "start")
    page.get_by_role("button", name="开始申请").click()
    page.wait_for_url(re.compile(r"/applications/\d+/form$"))


def _upload_and_submit(page, file_inputs: dict[str, str], screenshot) -> str:
    for selector, path in file_inputs.items():
        page.set_input_files(selector, path)
    screenshot(page, "documents-chosen")
    page.get_by_role("button", name="保存并下一步").click()
    page.wait_for_url(re.compile(r"/review$"))
    assert page.locator(".alert-warning").count() == 0, page.locator(".alert-warning").inner_text()
    screenshot(page, "review")
    _axe_clean(page)
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url(re.compile(r"/done$"))
    reference = page.get_by_test_id("reference").inner_text().strip()
    assert re.fullmatch(r"LJ\d{14}[0-9A-Z]", reference)
    screenshot(page, "done")
    return reference


def _in_my_applications(page, base, reference: str, screenshot) -> None:
    page.goto(f"{base}/me/applications")
    assert reference in page.locator("main").inner_text()
    screenshot(page, "my-applications")


def test_apply_for_oneself(server, page, files, screenshot):
    base = server.url
    _login(page, base, screenshot)
    _find_and_open(page, base, "保安员证", "保安员证核发", {"channel": "self_study"}, screenshot)
    _axe_clean(page)
    page.get_by_label("办理辖区", exact=False).select_option("东城区")
    page.locator("input[name=f_exam_date]").fill("2026-11-01")
    page.locator("input[name=f_live_address]").fill("江南区滨江路8号3单元")
    page.locator("input[name=delivery_method][value=mail]").check()
    page.locator("input[name=recipient]").fill("张晓明")
    page.locator("input[name=recipient_mobile]").fill("13800000001")
    page.locator("select[name=mail_district]").select_option("西城区")
    page.locator("input[name=mail_address]").fill("解放路100号1幢201室")
    screenshot(page, "form-filled")
    page.get_by_role("button", name="保存并下一步").click()
    page.wait_for_url(re.compile(r"/documents$"))
    _axe_clean(page)
    reference = _upload_and_submit(
        page, {"#doc-input-0": files["pdf"], "#doc-input-1": files["photo"]}, screenshot
    )
    assert "初中以上学历证明" in page.locator("main").inner_text()  # 容缺, owed
    _in_my_applications(page, base, reference, screenshot)


def test_apply_for_a_relative(server, page, files, screenshot):
    base = server.url
    _login(page, base, screenshot)
    _find_and_open(page, base, "犬只登记", "犬只登记", {"applicant": "proxy"}, screenshot)
    page.get_by_label("办理辖区", exact=False).select_option("江南区")
    page.locator("input[name=principal_name]").fill("李大山")
    page.locator("input[name=principal_id_number]").fill(PRINCIPAL_ID)
    page.locator("select[name=relationship_to_principal]").select_option("父母")
    for name, value in {
        "f_dog_name": "旺财",
        "f_breed": "中华田园犬",
        "f_chip_no": "CN900123456",
        "f_keep_address": "江南区滨江路8号3单元",
    }.items():
        page.locator(f"input[name={name}]").fill(value)
    page.locator("input[name=delivery_method][value=ecert]").check()
    screenshot(page, "form-filled")
    page.get_by_role("button", name="保存并下一步").click()
    page.wait_for_url(re.compile(r"/documents$"))
    assert "委托书" in page.locator("#doc-5").inner_text()
    reference = _upload_and_submit(
        page,
        {
            "#doc-input-0": files["pdf"],
            "#doc-input-1": files["photo"],
            "#doc-input-2": files["photo"],
            "#doc-input-5": files["pdf"],
        },
        screenshot,
    )
    _in_my_applications(page, base, reference, screenshot)
    page.locator("tr", has_text=reference).get_by_role("link", name="查看").click()
    page.wait_for_load_state()
    text = page.content()
    assert "李大山" in text and PRINCIPAL_ID not in text
    screenshot(page, "detail")


def test_the_form_fits_a_phone(server, phone_page, screenshot):
    page = phone_page
    _login(page, server.url, screenshot)
    page.goto(f"{server.url}/apply/LJ-ZA-001?applicant=proxy")
    page.get_by_role("button", name="开始申请").click()
    page.wait_for_url(re.compile(r"/form$"))
    screenshot(page, "phone-form")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    page.get_by_role("button", name="保存并下一步").click()  # errors shown: still fits
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    screenshot(page, "phone-form-errors")
