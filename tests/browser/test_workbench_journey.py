"""The clerk's workbench in Debian's chromium, at 1280 and at 375 px: claim, look at the ID photo
(zoom, rotate), mark it 需补正 with a preset reason — refused first without one —, find the
correction request pre-filled, open the rarely used decisions, send the correction. The keyboard
reaches the viewer and the disclosures; axe-core finds nothing serious; no horizontal scroll."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from applications.models import Application, ApplicationDocument, CorrectionReason, WalletDocument
from applications.submission.operations import pinned_item
from core.db import db
from core.storage import get_storage
from tests.clerk.helpers import DEMO_PASSWORD, citizen, insert_submitted, load_world
from tests.conftest import run_axe
from tests.uploads import corpus

pytestmark = pytest.mark.browser

ID_CARD = "申请人居民身份证"


@pytest.fixture
def server(live_server):
    with live_server.app.app_context():
        load_world()
        # the migration seeds the preset reasons; on PostgreSQL the suite truncates every table
        # between tests, so the one this journey picks is put back when missing
        preset = select(CorrectionReason.id).where(CorrectionReason.reason == "照片模糊不清")
        if not db.session.scalar(preset):
            db.session.add(CorrectionReason(doc_type="", reason="照片模糊不清", position=10))
        (aid,) = insert_submitted(1)
        row = db.session.get(Application, aid)
        position = next(d.position for d in pinned_item(row).documents if d.name == ID_CARD)
        data = corpus.jpeg((320, 200), color="blue")
        key = get_storage().save(data, suffix=".jpg")
        wallet = WalletDocument(
            owner_id=citizen().id,
            doc_type=ID_CARD,
            trust_level="C",
            storage_key=key,
            kind="jpg",
            mimetype="image/jpeg",
            size=len(data),
            sha256="b" * 64,
            display_name="身份证正面.jpg",
            source_application_id=aid,
        )
        db.session.add(wallet)
        db.session.flush()
        doc = ApplicationDocument(
            application_id=aid,
            requirement=position,
            requirement_name=ID_CARD,
            storage_key=key,
            kind="jpg",
            mimetype="image/jpeg",
            size=len(data),
            sha256=wallet.sha256,
            display_name="身份证正面.jpg",
            wallet_document_id=wallet.id,
        )
        db.session.add(doc)
        db.session.commit()
        live_server.aid, live_server.doc = aid, doc.id
    return live_server


def _axe_clean(page) -> None:
    violations = run_axe(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def _no_horizontal_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"horizontal overflow: {overflow}px"


def _journey(page, server, screenshot, tag: str) -> None:
    base, aid, doc = server.url, server.aid, server.doc
    page.goto(f"{base}/login")
    page.locator("input[name=identifier]").fill("clerk_ps_dc_01")
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.goto(f"{base}/clerk/applications/{aid}")
    page.get_by_role("button", name="领取").click()
    expect(page.get_by_role("button", name="退回队列")).to_be_visible()

    # The clock says the time has not started; the photo is in the viewer.
    expect(page.get_by_test_id("clock")).to_contain_text("尚未受理，未开始计时")
    card = page.locator(f"#doc-{doc}")
    expect(card.get_by_test_id("verdict")).to_have_text("未核验")
    image = card.locator("img.viewer-image")
    image.scroll_into_view_if_needed()  # loaded lazily: below the form data on a phone
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 320
    screenshot(page, f"{tag}-workbench")
    _axe_clean(page)
    _no_horizontal_scroll(page)

    # Zoom and rotate with the keyboard: the tools are real buttons.
    card.get_by_role("button", name="放大").focus()
    page.keyboard.press("Enter")
    card.get_by_role("button", name="右转").focus()
    page.keyboard.press("Enter")
    expect(card.locator("[data-viewer-status]")).to_have_text("150% · 90°")
    assert "rotate(90deg)" in image.evaluate("img => img.style.transform")
    # turned inside its frame: nothing sticks out above or left of it (out of scroll reach)
    inside = image.evaluate(
        """img => { const i = img.getBoundingClientRect(), s = img.parentElement.getBoundingClientRect();
                    return i.left >= s.left - 1 && i.top >= s.top - 1; }"""
    )
    assert inside
    _no_horizontal_scroll(page)
    screenshot(page, f"{tag}-zoomed")
    card.get_by_role("button", name="复位").click()
    expect(card.locator("[data-viewer-status]")).to_have_text("100%")

    # 需补正 without a reason is refused at the field; with a preset it is recorded.
    card.get_by_label("需补正", exact=True).check()
    card.get_by_role("button", name=re.compile("保存核验结果")).click()
    card = page.locator(f"#doc-{doc}")
    expect(card.get_by_text("请选择或填写需补正的原因")).to_be_visible()
    expect(card.get_by_label("需补正", exact=True)).to_be_checked()  # what was chosen is kept
    _axe_clean(page)
    card.get_by_label("需补正原因").select_option("照片模糊不清")
    card.get_by_role("button", name=re.compile("保存核验结果")).click()
    expect(page.get_by_text("已记录核验结果。")).to_be_visible()
    card = page.locator(f"#doc-{doc}")
    expect(card.get_by_test_id("verdict")).to_have_text("需补正：照片模糊不清")

    # The correction request is pre-filled from the verdict.
    expect(page.get_by_test_id("prefill-note")).to_be_visible()
    correction = page.locator("form#correction")
    expect(correction.get_by_label(ID_CARD, exact=True)).to_be_checked()
    expect(correction.get_by_label(f"补正要求：{ID_CARD}")).to_have_value("照片模糊不清")

    # The rarely used decisions open from their disclosure, each label on its own field.
    not_accept_reason = page.locator("#not-accept-reason")
    expect(not_accept_reason).to_be_hidden()
    page.locator("summary", has_text="不予受理").focus()
    page.keyboard.press("Enter")
    expect(not_accept_reason).to_be_visible()
    page.locator("summary", has_text=re.compile("^转办$")).click()
    expect(page.get_by_label("转办理由")).to_have_attribute("id", "transfer-reason")
    screenshot(page, f"{tag}-decisions")
    _axe_clean(page)
    _no_horizontal_scroll(page)

    # Send the pre-filled correction.
    correction.get_by_role("button", name="发出补正告知").click()
    expect(page.get_by_test_id("state")).to_have_text("待补正")
    expect(page.get_by_test_id("clock")).to_contain_text("等待补正")
    screenshot(page, f"{tag}-correction-sent")
    _no_horizontal_scroll(page)


def test_the_clerk_works_a_case_on_the_workbench_at_1280(server, page, screenshot):
    _journey(page, server, screenshot, "desktop")


def test_the_clerk_works_a_case_on_the_workbench_at_375(server, phone_page, screenshot):
    _journey(phone_page, server, screenshot, "phone")
