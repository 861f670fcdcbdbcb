"""The clerk's journey in Debian's chromium: the citizen's submitted application is claimed with
领取下一件, a correction is asked; the citizen answers it in 我的办件 and reads the message in 消息; the
clerk accepts and approves with mail delivery; the citizen sees each step. A screenshot per step;
axe-core on the queue and the clerk's detail page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.db import db
from tests.clerk.helpers import (
    DEMO_CITIZEN_MOBILE,
    DEMO_PASSWORD,
    PS_COUNTER_ITEM,
    insert_submitted,
    load_world,
)
from tests.conftest import run_axe
from tests.uploads import corpus

pytestmark = pytest.mark.browser


@pytest.fixture
def server(live_server):
    with live_server.app.app_context():
        load_world()
        (aid,) = insert_submitted(
            1,
            item_code=PS_COUNTER_ITEM,
            delivery_method="mail",
            delivery_address={
                "recipient": "张晓明",
                "mobile": "13800000001",
                "district": "东城区",
                "address": "解放路100号1幢201室",
            },
        )
        db.session.commit()
    live_server.aid = aid
    return live_server


def _axe_clean(page) -> None:
    violations = run_axe(page)
    summary = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert violations == [], summary


def _login(page, base: str, identifier: str) -> None:
    page.goto(f"{base}/login")
    page.locator("input[name=identifier]").fill(identifier)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def test_clerk_claims_corrects_accepts_and_approves_while_the_citizen_follows(
    server, page, browser_instance, screenshot, tmp_path
):
    base, aid = server.url, server.aid
    evidence = tmp_path / "补正材料.pdf"
    evidence.write_bytes(corpus.pdf())
    citizen_context = browser_instance.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    citizen = citizen_context.new_page()
    citizen.set_default_timeout(15000)
    try:
        # The clerk's queue: one pending application; claim it.
        _login(page, base, "clerk_ps_dc_01")
        page.goto(f"{base}/clerk/")
        expect(page.get_by_test_id("count-pending")).to_have_text("1")
        screenshot(page, "clerk-queue")
        _axe_clean(page)
        page.get_by_test_id("claim-next").click()
        expect(page).to_have_url(re.compile(rf"/clerk/applications/{aid}$"))
        expect(page.get_by_test_id("state")).to_have_text("已提交，待受理")
        screenshot(page, "clerk-claimed")
        _axe_clean(page)

        # One-time correction with a note on the first document.
        page.locator("#corr-t-1").check()
        page.locator("#corr-n-1").fill("照片不清晰，请重新上传扫描件")
        page.get_by_role("button", name="发出补正告知").click()
        expect(page.get_by_test_id("state")).to_have_text("待补正")
        screenshot(page, "clerk-correction-sent")

        # The citizen sees the request, answers it, and finds the message in 消息.
        _login(citizen, base, DEMO_CITIZEN_MOBILE)
        citizen.goto(f"{base}/applications/{aid}")
        request_card = citizen.locator("section[aria-labelledby=corr-title]")
        expect(request_card).to_contain_text("请补正以下内容（一次性告知）")
        expect(request_card).to_contain_text("照片不清晰，请重新上传扫描件")
        screenshot(citizen, "citizen-correction-asked")
        request_card.locator("input[type=file]").first.set_input_files(str(evidence))
        citizen.get_by_role("button", name="提交补正").click()
        expect(citizen.get_by_text("补正材料已提交，请等待审核。")).to_be_visible()
        expect(citizen.get_by_test_id("timeline")).to_contain_text("已补正，待审核")
        screenshot(citizen, "citizen-resubmitted")
        citizen.goto(f"{base}/me/messages")
        expect(citizen.get_by_text("请补正材料")).to_be_visible()
        expect(citizen.get_by_text(re.compile("照片不清晰，请重新上传扫描件"))).to_be_visible()
        screenshot(citizen, "citizen-messages-correction")

        # The clerk sees the new document, accepts, and approves with mail delivery.
        page.goto(f"{base}/clerk/applications/{aid}")
        expect(page.get_by_test_id("state")).to_have_text("已补正，待审核")
        expect(page.get_by_text("（补正）")).to_be_visible()
        page.get_by_test_id("accept").click()
        expect(page.get_by_test_id("state")).to_have_text("已受理，办理中")
        expect(page.get_by_text("承诺办结")).to_be_visible()
        screenshot(page, "clerk-accepted")
        page.locator("input[name=delivery][value=mail]").check()
        page.locator("#approve-carrier").fill("中国邮政EMS")
        page.get_by_role("button", name="准予并办结").click()
        expect(page.get_by_text("邮寄送达请填写快递公司和运单号")).to_be_visible()
        screenshot(page, "clerk-approve-needs-tracking")
        page.locator("input[name=delivery][value=mail]").check()
        page.locator("#approve-carrier").fill("中国邮政EMS")
        page.locator("#approve-tracking").fill("1180012345678")
        page.get_by_role("button", name="准予并办结").click()
        expect(page.get_by_test_id("state")).to_have_text("办结（准予）")
        screenshot(page, "clerk-approved")

        # The citizen sees every step and the mail tracking number.
        citizen.goto(f"{base}/applications/{aid}")
        timeline = citizen.get_by_test_id("timeline")
        for step in ("已提交，待受理", "待补正", "已补正，待审核", "已受理，办理中", "办结（准予）"):
            expect(timeline).to_contain_text(step)
        screenshot(citizen, "citizen-detail-approved")
        citizen.goto(f"{base}/me/messages")
        expect(citizen.get_by_text(re.compile("1180012345678"))).to_be_visible()
        expect(citizen.get_by_text("申请已受理")).to_be_visible()
        screenshot(citizen, "citizen-messages-approved")
    finally:
        citizen_context.close()
