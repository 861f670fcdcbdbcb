"""预约 on the scoreboard: bookings, no-show rate and the wait at the counter per unit and month, equal
to plain SQL and to hand counts on a small known set; who sees which units; the drill-down lists the
bookings behind each number (names masked, the application's reference when linked); the export."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from applications.appointments.models import Appointment, AppointmentStatus, Slot
from applications.stats import metrics
from applications.stats.metrics import Period
from catalog.queries import catalog
from core.clock import travel
from core.db import db
from core.transaction import commit
from tests.clerk.helpers import insert_submitted, login_staff, unit
from tests.factories import CitizenFactory
from tests.stats.helpers import sh

EE, DC = "LJ-EE", "LJ-PS-DC-01"
PERIOD = Period(date(2026, 12, 1), date(2027, 1, 31))
#: When the figures are read: after every slot of the set but the one on 20 January.
NOW = sh(2027, 1, 4, 12)
Q = "from=2026-12-01&to=2027-01-31"
B = AppointmentStatus.BOOKED
C = AppointmentStatus.CANCELLED
IN = AppointmentStatus.CHECKED_IN
NS = AppointmentStatus.NO_SHOW

#: (unit, slot local day and hour, status, minutes from the slot start to check-in and to the call)
SET = [
    (EE, (2027, 1, 4, 9), IN, 2, 12, "张三丰"),  # wait 10
    (EE, (2027, 1, 4, 9), IN, 5, 25, "李四"),  # wait 20
    (EE, (2027, 1, 4, 9), IN, 10, 70, "王五"),  # wait 60
    (EE, (2027, 1, 4, 10), NS, None, None, "赵六"),
    (EE, (2027, 1, 4, 10), C, None, None, "钱七"),  # cancelled: never counted
    (EE, (2027, 1, 20, 9), B, None, None, "孙八"),  # slot not ended yet
    (EE, (2026, 12, 28, 9), NS, None, None, "周九"),
    (EE, (2026, 12, 28, 9), IN, 3, None, "吴十"),  # checked in, never called: no wait
    (DC, (2027, 1, 4, 9), NS, None, None, "郑一"),
    (DC, (2027, 1, 4, 9), IN, 0, 5, "冯二"),  # wait 5
    (DC, (2027, 2, 1, 9), B, None, None, "陈三"),  # outside the period
]


def build() -> dict[str, str]:
    """The set above, written straight into the tables; name → booking code."""
    item_id = catalog().items["LJ-CR-001"].id
    slots: dict[tuple, Slot] = {}
    codes: dict[str, str] = {}
    for n, (unit_code, (y, m, d, h), status, checked, served, name) in enumerate(SET):
        u = unit(unit_code)
        key = (u.id, y, m, d, h)
        if key not in slots:
            slots[key] = Slot(
                unit_id=u.id,
                day=date(y, m, d),
                starts_at=sh(y, m, d, h),
                ends_at=sh(y, m, d, h, 30),
                capacity=10,
                booked=0,
            )
            db.session.add(slots[key])
            db.session.flush()
        slot = slots[key]
        start = slot.starts_at
        appt = Appointment(
            code=f"T{n:07d}",
            user_id=CitizenFactory(real_name=name).id,
            item_id=item_id,
            slot_id=slot.id,
            unit_id=u.id,
            status=status,
            created_at=start - timedelta(days=3),
            checked_in_at=start + timedelta(minutes=checked) if checked is not None else None,
            served_at=start + timedelta(minutes=served) if served is not None else None,
        )
        db.session.add(appt)
        codes[name] = appt.code
    db.session.flush()
    # 李四's booking was made with an application: the drill-down shows its reference
    (app_id,) = insert_submitted(1, unit_code=EE, item_code="LJ-CR-001")
    db.session.get(Appointment, _id(codes["李四"])).application_id = app_id
    commit()
    return codes


def _id(code: str) -> int:
    return db.session.scalar(db.select(Appointment.id).where(Appointment.code == code))


@pytest.fixture
def known(world):
    with world.app_context():
        return build()


def _figures(visibility=None) -> metrics.AppointmentStats:
    return metrics.appointment_figures(PERIOD, visibility, at=NOW)


def test_figures_equal_hand_counts(world, known):
    with world.app_context():
        stats = _figures()
        got = {(r.unit_key, r.month): r for r in stats.rows}
        assert set(got) == {(EE, "2026-12"), (EE, "2027-01"), (DC, "2027-01")}
        jan = got[(EE, "2027-01")]
        # 5 bookings (the cancelled one left out), 4 of them in slots that ended, 1 no-show
        assert (jan.bookings, jan.ended, jan.no_shows, jan.served) == (5, 4, 1, 3)
        assert jan.no_show_rate == 0.25
        assert (jan.median_wait, jan.mean_wait) == (20.0, 30.0)
        dec = got[(EE, "2026-12")]
        assert (dec.bookings, dec.ended, dec.no_shows, dec.no_show_rate) == (2, 2, 1, 0.5)
        assert (dec.served, dec.median_wait, dec.mean_wait) == (0, None, None)  # none called: "—", not 0
        dc = got[(DC, "2027-01")]
        assert (dc.bookings, dc.no_shows, dc.median_wait, dc.mean_wait) == (2, 1, 5.0, 5.0)
        t = stats.totals
        assert (t.bookings, t.ended, t.no_shows, t.served) == (9, 8, 3, 4)
        assert t.no_show_rate == 0.375
        assert (t.median_wait, t.mean_wait) == (15.0, 23.8)  # waits 5, 10, 20, 60


def test_figures_equal_plain_sql(world, known):
    with world.app_context():
        sql = text(
            """
            SELECT u.code, substr(CAST(s.day AS TEXT), 1, 7) AS month, count(*) AS bookings,
                   sum(CASE WHEN a.status = 'no_show' THEN 1 ELSE 0 END) AS no_shows,
                   sum(CASE WHEN s.ends_at <= :now THEN 1 ELSE 0 END) AS ended
            FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id JOIN units u ON u.id = a.unit_id
            WHERE a.status <> 'cancelled' AND s.day >= :start AND s.day <= :end
            GROUP BY u.code, substr(CAST(s.day AS TEXT), 1, 7)
            """
        )
        plain = {
            (r.code, r.month): (r.bookings, r.no_shows, r.ended)
            for r in db.session.execute(sql, {"now": NOW, "start": PERIOD.start, "end": PERIOD.end})
        }
        ours = {(r.unit_key, r.month): (r.bookings, r.no_shows, r.ended) for r in _figures().rows}
        assert ours == plain


def test_a_unit_lead_sees_only_their_units(world, known):
    with world.app_context():
        lead_ee = metrics.appointment_figures(PERIOD, frozenset({unit(EE).id}), at=NOW)
        assert {r.unit_key for r in lead_ee.rows} == {EE}
        assert lead_ee.totals.bookings == 7
        assert metrics.appointment_figures(PERIOD, frozenset(), at=NOW).totals.bookings == 0
        hidden = metrics.appointment_drill("bookings", PERIOD, frozenset({unit(EE).id}), DC, "2027-01")
        assert hidden.total == 0 and hidden.rows == []
    client = world.test_client()
    login_staff(client, "lead_ee")
    with travel(NOW):
        page = client.get(f"/stats?{Q}")
    table = page.text.split('data-testid="appointments-table"')[1].split("</table>")[0]
    assert 'data-key="LJ-EE-2027-01"' in table and DC not in table
    other = world.test_client()
    login_staff(other, "lead_dc")
    with travel(NOW):
        table = (
            other.get(f"/stats?{Q}").text.split('data-testid="appointments-table"')[1].split("</table>")[0]
        )
        assert 'data-key="LJ-PS-DC-01-2027-01"' in table and EE + "-" not in table
        # another unit's drill-down shows nothing of it
        drill = other.get(f"/stats/appointments?{Q}&metric=bookings&unit={EE}&month=2027-01")
        assert drill.status_code == 200 and "共 0 个预约" in drill.text and "T000000" not in drill.text


@pytest.mark.parametrize("metric", ["bookings", "no_shows"])
def test_every_drill_down_lists_the_bookings_behind_the_number(world, known, metric):
    with world.app_context():
        stats = _figures()
        for row in [*stats.rows, stats.totals]:
            drill = metrics.appointment_drill(metric, PERIOD, None, row.unit_key, row.month)
            assert drill.total == len(drill.rows) == getattr(row, metric)
        no_shows = metrics.appointment_drill("no_shows", PERIOD, None, EE, "2027-01")
        assert [r.code for r in no_shows.rows] == [known["赵六"]]
        everything = metrics.appointment_drill("bookings", PERIOD)
        assert known["钱七"] not in {r.code for r in everything.rows}  # cancelled
        assert known["陈三"] not in {r.code for r in everything.rows}  # February


def test_drill_down_page_masks_names_and_shows_the_reference(world, known):
    with world.app_context():
        reference = db.session.get(Appointment, _id(known["李四"])).application.reference
    client = world.test_client()
    login_staff(client, "admin")
    with travel(NOW):
        page = client.get(f"/stats?{Q}")
        link = (
            f"/stats/appointments?metric=bookings&amp;unit={EE}&amp;month=2027-01"
            "&amp;from=2026-12-01&amp;to=2027-01-31"
        )
        assert page.status_code == 200 and link in page.text
        assert "预约与窗口等候" in page.text and "未到率" in page.text and "等候中位数（分钟）" in page.text
        drill = client.get(link.replace("&amp;", "&"))
    assert drill.status_code == 200 and "共 5 个预约" in drill.text
    assert "李四" not in drill.text and "李*" in drill.text and "张**" in drill.text
    assert reference and reference in drill.text
    assert known["钱七"] not in drill.text
    bad = client.get(f"/stats/appointments?{Q}&metric=nonsense")
    assert bad.status_code == 400 and "未知的统计指标" in bad.text


def test_export_of_the_appointment_figures_and_drill_down(world, known):
    client = world.test_client()
    login_staff(client, "admin")
    with travel(NOW):
        response = client.get(f"/stats/export.csv?{Q}&table=appointments")
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
        assert rows[0][:4] == ["单位编码", "单位", "月份", "预约件数"]
        jan = next(r for r in rows if r[0] == EE and r[2] == "2027-01")
        assert jan[3:] == ["5", "4", "1", "25.0", "3", "20.0", "30.0"]
        assert rows[-1][1] == "合计" and rows[-1][3] == "9"
        drill = client.get(
            f"/stats/export.csv?{Q}&table=appointment_drill&metric=no_shows&unit=all&month=all"
        )
        lines = list(csv.reader(io.StringIO(drill.data.decode("utf-8-sig"))))
        assert len(lines) == 1 + 3
        names = sorted(line[2] for line in lines[1:])
        assert names == sorted(["赵*", "周*", "郑*"])  # masked in the file too
        bad = client.get(f"/stats/export.csv?{Q}&table=appointment_drill&metric=nonsense")
        assert bad.status_code == 400
    clerk = world.test_client()
    login_staff(clerk, "clerk_ee")
    assert clerk.get(f"/stats/export.csv?{Q}&table=appointments").status_code == 403
    assert clerk.get(f"/stats/appointments?{Q}").status_code == 403


def test_no_bookings_shows_no_data_not_zero_rates(world):
    client = world.test_client()
    login_staff(client, "admin")
    page = client.get(f"/stats?{Q}")
    table = page.text.split('data-testid="appointments-table"')[1].split("</table>")[0]
    assert "暂无数据" in table
    with world.app_context():
        t = _figures().totals
        assert (t.bookings, t.no_show_rate, t.median_wait, t.mean_wait) == (0, None, None, None)


def test_wait_uses_the_real_check_in_and_call_times(world):
    """The counter's own actions feed the figure: check-in at 09:50, called at 10:07 → 17 minutes."""
    from applications.appointments import operations as ops
    from tests.appointments.helpers import MONDAY, MORNING, at, item, open_weekdays, slot_at
    from tests.clerk.helpers import citizen, user

    with world.app_context():
        with travel(MORNING):
            open_weekdays()
            appt = ops.book(citizen(), item(), slot_at(at(MONDAY, 10)).id)
            commit()
        with travel(at(MONDAY, 9, 50)):
            ops.check_in(user("clerk_ee"), appt.code)
            commit()
        with travel(at(MONDAY, 10, 7)):
            ops.serve(user("clerk_ee"), appt.id)
            commit()
            stats = metrics.appointment_figures(Period(MONDAY, MONDAY))
        assert stats.totals.median_wait == stats.totals.mean_wait == 17.0
