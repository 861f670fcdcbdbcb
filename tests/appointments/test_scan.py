"""扫码签到 on 今日预约: the page loads the vendored jsQR (no CDN) and the scanner script, allows the
camera for this origin on this page only, keeps the scanner hidden until JavaScript finds a camera —
and typing the code still checks in, with its mistakes at the field."""

from __future__ import annotations

import re

from sqlalchemy import select

from applications.appointments import operations as ops
from applications.appointments.models import Appointment, AppointmentStatus
from core.clock import travel
from core.db import db
from core.transaction import commit
from tests.appointments.helpers import MONDAY, MORNING, at, item, open_weekdays, slot_at
from tests.auth.helpers import field_error
from tests.clerk.helpers import login_staff
from tests.factories import CitizenFactory


def test_the_check_in_page_loads_the_vendored_scanner_and_may_use_the_camera(world):
    clerk = world.test_client()
    login_staff(clerk, "clerk_ee")
    with travel(MORNING):
        page = clerk.get("/clerk/appointments/")
    assert page.status_code == 200
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert "/static/vendor/jsqr/jsQR.js" in scripts and "/static/js/checkin-scan.js" in scripts
    assert scripts.index("/static/vendor/jsqr/jsQR.js") < scripts.index("/static/js/checkin-scan.js")
    assert not any(s.startswith(("http:", "https:", "//")) for s in scripts)  # no CDN
    assert re.search(r'data-testid="qr-scan"[^>]*\bhidden\b', page.text)  # without JS: typing only
    assert "camera=(self)" in page.headers["Permissions-Policy"]
    vendored = clerk.get("/static/vendor/jsqr/jsQR.js")
    assert vendored.status_code == 200 and b"jsQR" in vendored.data
    vendored.close()
    assert clerk.get("/static/js/checkin-scan.js").status_code == 200
    # every other page keeps the camera off
    assert clerk.get("/").headers["Permissions-Policy"].startswith("camera=()")


def test_typing_the_code_still_checks_in(world):
    with world.app_context(), travel(MORNING):
        open_weekdays()
        appt = ops.book(CitizenFactory(), item(), slot_at(at(MONDAY, 10)).id)
        commit()
        code, appt_id = appt.code, appt.id
    clerk = world.test_client()
    login_staff(clerk, "clerk_ee")
    with travel(at(MONDAY, 9, 50)):
        wrong = clerk.post("/clerk/appointments/check-in", data={"code": "ZZZZ2222"})
        assert wrong.status_code == 422 and "未找到该预约码" in field_error(wrong.text, "code")
        assert 'value="ZZZZ2222"' in wrong.text  # what was typed stays
        typed = clerk.post("/clerk/appointments/check-in", data={"code": f" {code.lower()} "})
        assert typed.status_code == 302
        twice = clerk.post("/clerk/appointments/check-in", data={"code": code})  # a second scan or click
        assert twice.status_code == 422 and field_error(twice.text, "code") == "该预约已签到。"
    with world.app_context():
        assert db.session.scalar(select(Appointment.status).where(Appointment.id == appt_id)) == (
            AppointmentStatus.CHECKED_IN
        )


def test_the_confirmation_qr_is_a_full_qr_code_a_camera_can_read():
    import segno

    from applications.appointments.views import booking_qr

    assert segno.make("K7M2Q9XA", error="m").is_micro  # the trap: what the page used to show
    assert not booking_qr("K7M2Q9XA").is_micro
