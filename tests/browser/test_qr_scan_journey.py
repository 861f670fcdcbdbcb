"""扫码签到 in Debian's chromium at 375 px: the clerk presses 扫码签到, the camera (a canvas stream that
shows the QR code of the citizen's confirmation page, as a phone held up to the counter's camera would)
is read by the vendored jsQR, the code lands in the field and the booking is checked in. A refused
camera says so and leaves the field to type in, which still works."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from applications.appointments.views import booking_qr
from tests.appointments.helpers import book_now
from tests.browser.test_appointment_journey import _axe_clean, _fits, _login

pytestmark = pytest.mark.browser
SCANNED, TYPED = "SCAN2345", "TYPE2345"

#: getUserMedia answered by a canvas stream that draws ``window.__qr`` (a data URI) on white.
FAKE_CAMERA = """
navigator.mediaDevices.getUserMedia = function () {
  var canvas = document.createElement("canvas");
  canvas.width = 480; canvas.height = 480;
  var ctx = canvas.getContext("2d");
  var img = new Image();
  img.src = window.__qr;
  setInterval(function () {
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, 480, 480);
    if (img.complete) { ctx.drawImage(img, 90, 90, 300, 300); }
  }, 50);
  return Promise.resolve(canvas.captureStream(20));
};
"""
REFUSED_CAMERA = """
navigator.mediaDevices.getUserMedia = function () {
  return Promise.reject(new DOMException("denied", "NotAllowedError"));
};
"""


@pytest.fixture
def server(live_server):
    """Two bookings of LJ-EE for a slot starting now (real time: the server runs in a thread)."""
    with live_server.app.app_context():
        book_now([(SCANNED, None), (TYPED, None)])
    return live_server


def test_clerk_scans_the_qr_code_and_types_when_the_camera_is_refused(server, phone_page, screenshot):
    page, base = phone_page, server.url
    qr = booking_qr(SCANNED).png_data_uri(scale=8, border=4)  # what the confirmation page shows
    page.add_init_script(f"window.__qr = {qr!r};" + FAKE_CAMERA)
    _login(page, base, "clerk_ee")
    page.goto(f"{base}/clerk/appointments/")
    scan = page.get_by_role("button", name="扫码签到")
    expect(scan).to_be_visible()  # shown only where a camera API exists
    expect(page.locator("[data-qr-scan] video")).to_be_hidden()  # no empty camera frame before scanning
    _fits(page)
    _axe_clean(page)
    scan.click()
    expect(page.locator(".alert-success")).to_contain_text(f"预约 {SCANNED} 已签到", timeout=20000)
    expect(page.get_by_test_id(f"waiting-{SCANNED}")).to_be_visible()
    screenshot(page, "scanned")

    refused = page.context.new_page()
    refused.add_init_script(REFUSED_CAMERA)
    refused.goto(f"{base}/clerk/appointments/")
    refused.get_by_role("button", name="扫码签到").click()
    expect(refused.get_by_test_id("qr-scan")).to_contain_text("无法打开摄像头，请直接输入预约码")
    expect(refused.locator("input[name=code]")).to_be_focused()
    refused.locator("input[name=code]").fill(TYPED.lower())
    refused.get_by_role("button", name="签到", exact=True).click()
    expect(refused.locator(".alert-success")).to_contain_text(f"预约 {TYPED} 已签到")
    expect(refused.get_by_test_id(f"waiting-{TYPED}")).to_be_visible()
    refused.close()
