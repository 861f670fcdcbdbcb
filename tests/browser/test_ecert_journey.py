"""电子证照 in Debian's chromium: the citizen shows the certificate's QR code on a phone (我的材料 →
出示二维码); the QR image on the screen is decoded back (zxing-cpp) and pasted into the public
/verify page, which says 真实有效; one changed character is refused. Then the camera: chromium's
fake camera plays a video of the QR code and the page's jsQR scan fills the form and verifies it."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from applications.ecert import pdf
from tests.clerk.helpers import DEMO_CITIZEN_MOBILE, DEMO_PASSWORD, load_world
from tests.conftest import CHROMIUM, run_axe
from tests.ecert.helpers import cert, issue

pytestmark = pytest.mark.browser


@pytest.fixture
def server(live_server):
    with live_server.app.app_context():
        load_world()
    (number,) = issue(live_server.app)
    with live_server.app.app_context():
        live_server.payload = cert(number).payload
    live_server.number = number
    return live_server


def _axe_clean(page) -> None:
    violations = run_axe(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]


def test_the_qr_shown_on_a_phone_decodes_and_verifies(server, phone_page, screenshot):
    page, base = phone_page, server.url
    page.goto(f"{base}/login")
    page.locator("input[name=identifier]").fill(DEMO_CITIZEN_MOBILE)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.goto(f"{base}/me/wallet")
    page.get_by_role("link", name=re.compile("出示二维码")).first.click()
    expect(page).to_have_url(re.compile(r"/me/ecerts/\d+$"))
    qr = page.get_by_test_id("qr")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] >= 300  # large on a 375 px phone
    _axe_clean(page)
    screenshot(page, "qr-on-phone")
    found = zxingcpp.read_barcodes(
        Image.open(io.BytesIO(qr.screenshot())), formats=zxingcpp.BarcodeFormat.QRCode
    )
    assert [b.text for b in found] == [server.payload]

    page.goto(f"{base}/verify")
    page.locator("textarea[name=payload]").fill(found[0].text)
    page.get_by_role("button", name="核验", exact=True).click()
    expect(page.get_by_test_id("verdict")).to_have_attribute("data-reason", "ok")
    expect(page.get_by_test_id("claims")).to_contain_text(server.number)
    _axe_clean(page)
    screenshot(page, "verified")
    damaged = found[0].text[:-3] + ("AAA" if not found[0].text.endswith("AAA") else "BBB")
    page.locator("textarea[name=payload]").fill(damaged)
    page.get_by_role("button", name="核验", exact=True).click()
    verdict = page.get_by_test_id("verdict")
    expect(verdict).to_contain_text("核验未通过")
    assert verdict.get_attribute("data-reason") != "ok"
    screenshot(page, "refused")


def _y4m(png: bytes, path) -> None:
    """A few frames of a 640×480 grey video showing the QR code (what chromium's fake camera plays)."""
    qr = Image.open(io.BytesIO(png)).convert("L")
    frame = Image.new("L", (640, 480), 255)
    frame.paste(qr, ((640 - qr.width) // 2, (480 - qr.height) // 2))
    chroma = bytes([128]) * (320 * 240)
    with open(path, "wb") as fh:
        fh.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(3):
            fh.write(b"FRAME\n" + frame.tobytes() + chroma + chroma)


def test_the_camera_scan_reads_the_qr_and_verifies(server, browser_instance, tmp_path, screenshot):
    video = tmp_path / "qr.y4m"
    _y4m(pdf.qr_png(server.payload, scale=4), video)
    browser = browser_instance.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740})
        context.grant_permissions(["camera"], origin=server.url)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{server.url}/verify")
        page.get_by_test_id("scan-start").click()
        expect(page.get_by_test_id("verdict")).to_have_attribute("data-reason", "ok", timeout=20000)
        expect(page.get_by_test_id("claims")).to_contain_text(server.number)
        screenshot(page, "scanned")
    finally:
        browser.close()
