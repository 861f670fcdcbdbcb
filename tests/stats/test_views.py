"""Pages, API, exports and who may see what."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from core.db import db
from core.transaction import commit
from tests.auth.helpers import is_chinese, login_as
from tests.clerk.helpers import login_staff
from tests.stats.helpers import add_app, sh
from tests.stats.test_metrics import build

Q = "from=2025-09-01&to=2025-10-31"
FORMULA = '=HYPERLINK("http://x")'


@pytest.fixture
def hand(world):
    with world.app_context():
        ids = build()
    return ids


def codes(rows):
    return sorted(r["key"] for r in rows)


# API ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["category", "month"])
def test_public_groupings_for_everybody(client, hand, by):
    body = client.get(f"/api/v1/stats?{Q}&by={by}").get_json()
    assert body["totals"]["completed"] == 5
    assert set(body["rows"][0]) >= {
        "key",
        "label",
        "completed",
        "zero_visit",
        "zero_visit_rate",
        "at_most_once_rate",
        "online_rate",
        "on_time_rate",
        "avg_working_days",
        "satisfaction",
    }
    if by == "month":
        assert codes(body["rows"]) == ["2025-09", "2025-10"]


@pytest.mark.parametrize("by", ["item", "unit"])
@pytest.mark.parametrize("role", ["anonymous", "citizen", "clerk"])
def test_item_and_unit_are_staff_only(app, client, hand, role, by):
    login_as(app, client, role)
    response = client.get(f"/api/v1/stats?{Q}&by={by}")
    assert response.status_code == 403
    assert is_chinese(response.get_json()["message"])


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admin_and_auditor_see_all_units(app, client, hand, role):
    login_as(app, client, role)
    body = client.get(f"/api/v1/stats?{Q}&by=unit").get_json()
    assert codes(body["rows"]) == ["LJ-PS-DC-01", "LJ-PS-XC-01"]


def test_unit_lead_sees_only_their_units(client, hand):
    login_staff(client, "lead_dc")  # LJ-PS-DC-01 and -02
    body = client.get(f"/api/v1/stats?{Q}&by=unit").get_json()
    assert codes(body["rows"]) == ["LJ-PS-DC-01"] and body["totals"]["completed"] == 4
    page = client.get(f"/stats/drill?metric=completed&by=none&key=all&{Q}").text
    refs = set(re.findall(r'data-reference="([^"]+)"', page))
    assert len(refs) == 4
    foreign = client.get(f"/stats/drill?metric=completed&by=unit&key=LJ-PS-XC-01&{Q}").text
    assert re.findall(r'data-reference="([^"]+)"', foreign) == []
    dashboard = client.get(f"/stats?{Q}&by=unit").text
    assert "LJ-PS-XC-01" not in dashboard


@pytest.mark.parametrize(
    "query",
    [
        "from=2025-13-01&to=2025-10-31&by=month",
        "from=2025-10-31&to=2025-09-01&by=month",
        "from=2020-01-01&to=2025-10-31&by=month",
        "from=2025-09-01&to=2025-10-31&by=district",
        "from=&to=2025-10-31&by=month",
    ],
)
def test_bad_parameters_answer_400_in_chinese(client, world, query):
    response = client.get(f"/api/v1/stats?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    assert is_chinese(response.get_json()["message"])


# Pages --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/stats", "/stats/reform", "/stats/drill", "/stats/export.csv"])
@pytest.mark.parametrize("role", ["citizen", "clerk"])
def test_staff_pages_refuse_other_roles(app, client, world, role, url):
    login_as(app, client, role)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", ["/stats", "/stats/reform", "/stats/drill", "/stats/export.xlsx"])
def test_staff_pages_send_anonymous_to_login(client, world, url):
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("by", ["month", "item", "unit", "category"])
def test_dashboard_renders(app, client, hand, by):
    login_as(app, client, "admin")
    page = client.get(f"/stats?{Q}&by={by}").text
    assert '<h1 class="h3 mb-2">统计分析</h1>' in page
    assert 'type="application/json" id="chart-monthly-data"' in page
    assert "style=" not in page
    assert "vendor/chartjs/chart.umd.min.js" in page and "js/stats.js" in page
    assert 'data-kpi="zero_visit"' in page and "60.0%" in page  # 3 of 5 zero-visit
    assert "/stats/drill?" in page


def test_dashboard_form_errors_at_the_field(app, client, world):
    login_as(app, client, "auditor")
    response = client.get("/stats?from=2025-10-31&to=2025-09-01&by=month")
    assert response.status_code == 422
    assert "结束日期不能早于开始日期" in response.text
    assert 'value="2025-10-31"' in response.text  # the values are kept


def test_reform_and_drill_pages(app, client, hand):
    login_as(app, client, "admin")
    reform = client.get(f"/stats/reform?{Q}").text
    assert "改革清单" in reform and 'data-key="LJ-HJ-021"' in reform
    assert "metric=over_declared" in reform
    drill = client.get(f"/stats/drill?metric=late&by=none&key=all&{Q}")
    assert drill.status_code == 200 and "办件明细" in drill.text
    assert len(re.findall(r"data-reference=", drill.text)) == 2
    assert client.get(f"/stats/drill?metric=nonsense&{Q}").status_code == 400


def test_public_page_without_login(client, hand):
    page = client.get("/stats/public")
    assert page.status_code == 200
    assert "公开数据" in page.text and "办件公示" in page.text and "chart-public-data" in page.text
    with client.application.app_context():
        from sqlalchemy import select

        from auth.models import User

        names = list(db.session.scalars(select(User.real_name)))
    assert not any(n in page.text for n in names)


def test_nav_links(app, client, world):
    assert "/stats/public" in client.get("/").text
    assert 'href="/stats"' not in client.get("/").text
    login_as(app, client, "auditor")
    assert 'href="/stats"' in client.get("/").text


# Exports ------------------------------------------------------------------------------------------


@pytest.fixture
def formula_item(world):
    """An application whose unit name looks like a formula (shown in the drill-down export)."""
    with world.app_context():
        from tests.clerk.helpers import unit

        unit("LJ-PS-DC-01").name = FORMULA
        add_app(submitted=sh(2025, 9, 2), completed=sh(2025, 9, 3))
        commit()
    return world


def test_csv_has_bom_chinese_headers_and_escapes_formulas(app, client, formula_item):
    login_as(app, client, "admin")
    response = client.get(f"/stats/export.csv?table=drill&metric=completed&by=none&key=all&{Q}")
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert "办件明细" in unquote(disposition.split("filename*=UTF-8''")[1])
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "申请编号"
    assert rows[1][2] == "'" + FORMULA


def test_xlsx_reopens_and_has_no_formula(app, client, formula_item):
    login_as(app, client, "admin")
    response = client.get(f"/stats/export.xlsx?table=drill&metric=completed&by=none&key=all&{Q}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert sheet["A1"].value == "申请编号"
    cell = sheet["C2"]
    assert cell.value == "'" + FORMULA and cell.data_type == "s"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


@pytest.mark.parametrize(
    "table", ["summary", "monthly", "units", "reform_visits", "reform_guide", "reform_ontime", "drill"]
)
def test_every_staff_table_exports(app, client, hand, table):
    login_as(app, client, "auditor")
    for kind in ("csv", "xlsx"):
        response = client.get(f"/stats/export.{kind}?table={table}&{Q}&by=item")
        assert response.status_code == 200, (table, kind)


@pytest.mark.parametrize("table", ["public_categories", "public_cases"])
def test_public_tables_export_without_login(client, hand, table):
    response = client.get(f"/stats/export.csv?table={table}")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    assert client.get(f"/stats/export.xlsx?table={table}").status_code == 200


def test_unknown_table_is_400(app, client, world):
    login_as(app, client, "admin")
    response = client.get("/stats/export.csv?table=secrets")
    assert response.status_code == 400 and '<html lang="zh-CN">' in response.text


def test_a_staff_export_is_on_the_record(app):
    """Exporting staff figures writes an audit row (who exported which table)."""
    from sqlalchemy import select

    from core.audit import AuditLog
    from core.db import db
    from tests.auth.helpers import login_as

    client = app.test_client()
    login_as(app, client, "admin")
    response = client.get("/stats/export.csv?table=summary&from=2025-01-01&to=2025-12-31")
    assert response.status_code == 200
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "stats.export")).all()
    assert [r.object_id for r in rows] == ["summary"]
