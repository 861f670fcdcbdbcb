"""一件事 on the scoreboard: completed bundles, their zero-visit rate and end-to-end duration per bundle
and month, the drill-down, the public page and ``GET /api/v1/stats/bundles`` — on bundles whose
answer is known (submitted and finished at set moments, one with a visit)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from applications.models import Visit
from applications.stats import bundles as figures
from applications.stats.metrics import Period
from core import clock
from core.db import db
from core.storage import get_storage
from core.transaction import commit
from demo.bundles import BIRTH, NEW_CAR, approve_item, build_bundle, finish_handoff, part
from tests.auth.helpers import login_as
from tests.clerk.helpers import citizen, login_staff
from tests.sql import sql_sent
from tests.stats.helpers import sh

PERIOD = Period(date(2026, 3, 1), date(2026, 4, 30))


def _new_car(submitted, completed=None, visit=False):
    with clock.travel(submitted):
        ba = build_bundle(citizen(), NEW_CAR, get_storage())
    if completed is None:
        return ba
    with clock.travel(completed):
        finish_handoff(ba, "tax")
        approve_item(ba, "temp_plate")
        approve_item(ba, "registration")
        if visit:
            db.session.add(
                Visit(application_id=part(ba, "temp_plate").application_id, place="窗口", purpose="核验原件")
            )
    db.session.flush()
    return ba


@pytest.fixture
def known(world):
    """新车上牌: three completed in March (2, 4 and 6 days; the 4-day one had a visit), one in April
    (1 day), one completed outside the period, one still in progress; 出生: one in progress."""
    with world.app_context():
        refs = {
            "m2": _new_car(sh(2026, 3, 2), sh(2026, 3, 4)).reference,
            "m4": _new_car(sh(2026, 3, 5), sh(2026, 3, 9), visit=True).reference,
            "m6": _new_car(sh(2026, 3, 10), sh(2026, 3, 16)).reference,
            "a1": _new_car(sh(2026, 4, 1), sh(2026, 4, 2)).reference,
            "out": _new_car(sh(2026, 5, 2), sh(2026, 5, 3)).reference,
            "open": _new_car(sh(2026, 3, 20)).reference,
        }
        with clock.travel(sh(2026, 3, 21)):
            build_bundle(citizen(), BIRTH, get_storage())
        commit()
        return refs


def test_figures_per_bundle(world, known):
    with world.app_context():
        stats = figures.compute(PERIOD, "bundle")
        (row,) = stats.rows
        assert (row.key, row.label) == (NEW_CAR, "新车上牌一件事")
        assert row.completed == 4  # not the open one, not May's
        assert row.zero_visit == 3
        assert row.zero_visit_rate == pytest.approx(0.75)
        assert row.median_days == 3.0  # 1, 2, 4, 6
        assert row.avg_days == 3.2  # 13 / 4 = 3.25 → 3.2
        assert stats.totals.completed == 4


def test_figures_per_month(world, known):
    with world.app_context():
        rows = {r.key: r for r in figures.compute(PERIOD, "month").rows}
        assert set(rows) == {"2026-03", "2026-04"}
        assert (rows["2026-03"].completed, rows["2026-03"].zero_visit, rows["2026-03"].median_days) == (
            3,
            2,
            4.0,
        )
        assert (rows["2026-04"].completed, rows["2026-04"].avg_days) == (1, 1.0)


def test_a_month_is_the_local_month_of_completion(world):
    """Completed at 07:00 on 1 April in Beijing is still 31 March in UTC: it counts for April."""
    with world.app_context():
        _new_car(sh(2026, 3, 30), sh(2026, 4, 1, 7))
        commit()
        (row,) = figures.compute(PERIOD, "month").rows
        assert row.key == "2026-04"


def test_the_same_figures_by_plain_sql(world, known):
    """DESIGN §4: every figure is reproducible by a plain SQL query on the raw tables."""
    with world.app_context():
        lower, upper = PERIOD.lower, PERIOD.upper
        completed, visited = db.session.execute(
            text(
                "SELECT COUNT(*), SUM(CASE WHEN EXISTS (SELECT 1 FROM bundle_parts p JOIN visits v "
                "ON v.application_id = p.application_id WHERE p.bundle_application_id = b.id) "
                "THEN 1 ELSE 0 END) FROM bundle_applications b "
                "WHERE b.state = 'completed' AND b.completed_at >= :lower AND b.completed_at < :upper"
            ),
            {"lower": lower, "upper": upper},
        ).one()
        totals = figures.compute(PERIOD, "bundle").totals
        assert (totals.completed, totals.completed - totals.zero_visit) == (completed, visited)


def test_drill_down_lists_the_bundles_behind_a_figure(world, known):
    with world.app_context():
        rows, total = figures.drill("zero_visit", PERIOD, bundle=NEW_CAR, month="2026-03")
        assert total == 2
        assert {r.reference for r in rows} == {known["m2"], known["m6"]}
        rows, total = figures.drill("visited", PERIOD)
        assert [r.reference for r in rows] == [known["m4"]]
        with pytest.raises(ValueError):
            figures.drill("nonsense", PERIOD)


def test_reads_the_bundle_tables_not_the_applications(world, known, is_postgres):
    """The period's bundles come through the (state, completed_at) index; applications are never
    scanned (keeps the scoreboard's response time)."""
    if is_postgres:
        pytest.skip("SQLite's query plan")
    with world.app_context():
        with sql_sent(where="bundle_applications") as captured:
            figures.compute(PERIOD, "bundle")
        statement, parameters = captured[0]
        plan = " | ".join(
            row[-1]
            for row in db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        )
        assert "ix_bundle_applications_state_completed" in plan, plan
        assert "SCAN applications" not in plan and "SCAN visits" not in plan, plan


# Pages and the API ------------------------------------------------------------------------------


def test_public_page_shows_the_bundle_figures(world, client):
    with world.app_context():
        today = clock.local_today()
        _new_car(
            sh(today.year, today.month, today.day) - timedelta(days=3), sh(today.year, today.month, today.day)
        )
        commit()
    html = client.get("/stats/public").text
    assert 'data-testid="public-bundles"' in html
    assert "新车上牌一件事" in html


def test_staff_page_and_drill(app, world, client, known):
    login_as(app, client, "admin")
    args = "from=2026-03-01&to=2026-04-30"
    html = client.get(f"/stats/bundles?{args}").text
    assert 'data-testid="bundle-stats-by-bundle"' in html and 'data-testid="bundle-stats-by-month"' in html
    assert "/stats/bundles/drill?" in html
    drill = client.get(f"/stats/bundles/drill?{args}&metric=zero_visit&bundle={NEW_CAR}&month=2026-03").text
    assert known["m2"] in drill and known["m6"] in drill and known["m4"] not in drill
    assert client.get(f"/stats/bundles/drill?{args}&metric=bogus").status_code == 400
    assert client.get("/stats/bundles?from=2026-04-30&to=2026-03-01").status_code == 422


def test_unit_lead_sees_the_bundles_of_their_units_only(world, client, known):
    login_staff(client, "lead_dc")  # police stations of 东城: no 新车上牌 item goes there
    html = client.get("/stats/bundles?from=2026-03-01&to=2026-04-30").text
    assert "该时段没有办结的一件事" in html


def test_citizens_do_not_get_the_staff_pages(app, world, client):
    login_as(app, client, "citizen")
    assert client.get("/stats/bundles").status_code == 403
    assert client.get("/stats/bundles/drill").status_code == 403


def test_api(world, client, known):
    response = client.get("/api/v1/stats/bundles?from=2026-03-01&to=2026-04-30&by=month")
    assert response.status_code == 200
    body = response.get_json()
    assert body["by"] == "month" and body["from"] == "2026-03-01"
    assert [r["key"] for r in body["rows"]] == ["2026-03", "2026-04"]
    assert body["totals"]["completed"] == 4 and body["totals"]["zero_visit_rate"] == 0.75
    bad = client.get("/api/v1/stats/bundles?from=2026-04-30&to=2026-03-01")
    assert bad.status_code == 400
    assert client.get("/api/v1/stats/bundles?by=unit").status_code == 400
