"""预约 appointments: book the one unavoidable visit of an item that needs one (issue 20).

- ``models`` — a unit's weekly opening template, its exception days, the materialised slots
  (unit × group × start, capacity and booked count) and the citizens' bookings; item groups, so a hall
  serving several kinds of items (护照 vs 港澳通行证 counters) sets hours and windows per group;
- ``operations`` — opening slots ahead (the CLI and the scheduler call :func:`operations.open_slots`),
  booking (one conditional UPDATE on the slot, so a slot is never overbooked), cancel and move up to
  the cut-off, the counter's check-in by code (records the visit through the clerk's
  ``record_visit``) and marking no-shows;
- ``queries`` — which units serve an item, free slots, today's list of a unit;
- ``views`` — the citizen's booking pages, the clerk's 今日预约, the admin's opening hours, the
  public ``/api/v1/appointments/slots``.

- ``reminders`` — the evening-before and hour-before reminders (scheduled jobs, once per booking).

Closing a day cancels its bookings (each citizen told once and offered a new time); repeated
no-shows block new bookings for a while (``APPOINTMENT_NO_SHOW_*``, :func:`queries.blocked_until`).

At the counter the 今日预约 page can scan the citizen's QR code with the device camera (vendored jsQR,
``static/js/checkin-scan.js``, camera allowed on that page only); typing the code always works.
"""

from __future__ import annotations

from flask import Flask


def init_appointments(app: Flask) -> None:
    """Register the tables, the pages, the API, the menu entries and ``flask appointments``."""
    from flask_babel import lazy_gettext as _l

    from applications.appointments import models as _models  # noqa: F401 - register tables
    from applications.appointments import views
    from applications.appointments.cli import register_cli
    from core.nav import add_nav

    app.register_blueprint(views.bp)
    app.register_blueprint(views.clerk_bp)
    app.register_blueprint(views.admin_bp)
    app.register_blueprint(views.api_bp)
    add_nav(app, "appointments.mine", _l("我的预约"), roles={"citizen"})
    add_nav(app, "appointments_clerk.today", _l("今日预约"), roles={"clerk", "unit_lead"})
    add_nav(app, "appointments_admin.units", _l("预约时段"), roles={"admin"})
    register_cli(app)
    _register_jobs(app)


def _register_jobs(app: Flask) -> None:
    """The worker's scheduler opens the next 30 days' slots daily, marks no-shows hourly and sends the
    reminders (the evening before, about an hour before)."""
    from flask_babel import lazy_gettext as _l

    from applications.appointments import operations as ops
    from applications.appointments import reminders
    from core.db import db
    from core.jobs import HOURLY, Job, daily, register_job

    def dry(work):
        def run(dry_run: bool) -> dict[str, int]:
            if not dry_run:
                return work()
            with db.session.begin_nested() as savepoint:  # count what it would do, keep nothing
                counts = work()
                savepoint.rollback()
            return counts

        return run

    register_job(
        app,
        Job(
            "appointments_open",
            _l("开放预约时段"),
            daily(1),
            dry(lambda: {"slots_opened": ops.open_slots(30)}),
            _l("按各单位的办公时间生成今后30天的预约时段（节假日不开放，调休上班日按周一）。"),
        ),
    )
    register_job(
        app,
        Job(
            "appointment_no_shows",
            _l("标记预约未到"),
            HOURLY,
            dry(lambda: {"no_shows": ops.mark_no_shows()}),
            _l("时段结束仍未签到的预约标记为未到。"),
        ),
    )
    register_job(
        app,
        Job(
            "appointment_day_before",
            _l("预约前一天提醒"),
            daily(18),
            reminders.day_before,
            _l("每天18时提醒明天有预约的群众（站内消息和短信），每个预约一次。"),
        ),
    )
    register_job(
        app,
        Job(
            "appointment_hour_before",
            _l("预约前一小时提醒"),
            HOURLY,
            reminders.hour_before,
            _l("每小时提醒1至2小时内开始的预约（站内消息和短信），每个预约一次。"),
        ),
    )
