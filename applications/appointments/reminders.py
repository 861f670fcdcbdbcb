"""预约 reminders: the evening before (``appointment_day_before``, daily at 18:00 for tomorrow's
bookings) and about an hour before (``appointment_hour_before``, hourly), from the message catalogue
through the outbox, each once per booking and slot time — recorded in ``reminders_sent`` with the
jobs' :func:`~applications.jobs.reminders.send_once` (UNIQUE (kind, key)).

Keys: ``<appointment>:day:<start>`` and ``<appointment>:hour:<start>`` (local start time), so a moved
booking is reminded of its new time, and a cancelled (or checked-in, or no-show) one is not reminded.

**The hour window.** The hourly job's period is the Beijing hour ``H`` (it runs at the first worker
pass in that hour). It reminds the bookings that start after *now* and before ``H + 2h``: a booking
starting at 10:00 or 10:30 is reminded by the 09:00 run (as 08:xx's window ends at 10:00), 60 to 120
minutes ahead; one booked after that run (booking closes 60 minutes before a slot) by the next run while
it is still ahead. The key makes it exactly once however the runs fall.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from applications.appointments.models import Appointment, AppointmentStatus, Slot
from applications.jobs.reminders import already_sent, send_once
from auth.models import Unit
from catalog.queries import catalog
from core.clock import SHANGHAI, local_today, now
from core.db import db

DAY_KIND = "appointment_day_before"
HOUR_KIND = "appointment_hour_before"
#: The hourly run reminds bookings starting before the start of its hour plus this.
HOUR_HORIZON = timedelta(hours=2)


def _key(appt: Appointment, slot: Slot, what: str) -> str:
    return f"{appt.id}:{what}:{slot.starts_at.astimezone(SHANGHAI):%Y-%m-%dT%H:%M}"


def _remind(kind: str, what: str, rows: list[tuple[Appointment, Slot]], dry_run: bool) -> dict[str, int]:
    names = {i.id: i.name for i in catalog().items.values()}
    units: dict[int, str] = {}
    counts = {"sent": 0, "already_sent": 0}
    for appt, slot in rows:
        key = _key(appt, slot, what)
        if dry_run:
            counts["already_sent" if already_sent(kind, key) else "sent"] += 1
            continue
        if slot.unit_id not in units:
            units[slot.unit_id] = db.session.get(Unit, slot.unit_id).name
        start = slot.starts_at.astimezone(SHANGHAI)
        end = slot.ends_at.astimezone(SHANGHAI)
        sent = send_once(
            kind,
            key,
            appt.user_id,
            appt.application_id,
            item=names.get(appt.item_id, ""),
            unit=units[slot.unit_id],
            when=f"{start:%Y-%m-%d %H:%M}-{end:%H:%M}",
            code=appt.code,
        )
        counts["sent" if sent else "already_sent"] += 1
    return counts


def _booked(*conditions) -> list[tuple[Appointment, Slot]]:
    return list(
        db.session.execute(
            select(Appointment, Slot)
            .join(Slot, Slot.id == Appointment.slot_id)
            .where(Appointment.status == AppointmentStatus.BOOKED, *conditions)
            .order_by(Slot.starts_at, Appointment.id)
        ).tuples()
    )


def day_before(dry_run: bool) -> dict[str, int]:
    """Remind every booking of tomorrow (Beijing date), once per booking and slot time."""
    tomorrow = local_today() + timedelta(days=1)
    return _remind(DAY_KIND, "day", _booked(Slot.day == tomorrow), dry_run)


def hour_start(at: datetime) -> datetime:
    """The start of the Beijing hour of ``at`` (the hourly job's period)."""
    return at.astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)


def hour_before(dry_run: bool) -> dict[str, int]:
    """Remind the bookings starting after now and before the start of this hour + 2 hours."""
    at = now()
    return _remind(
        HOUR_KIND,
        "hour",
        _booked(Slot.starts_at > at, Slot.starts_at < hour_start(at) + HOUR_HORIZON),
        dry_run,
    )
