"""The auditor's read-only audit viewer: who may open it, filters, keyset pages, masking, CSV export."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from audit_viewer import views as audit_views
from core import audit
from core.audit import AuditLog
from core.db import db
from tests.auth.helpers import field_error, input_value, is_chinese, login_as, make_id_number

URLS = ("/audit", "/audit/application/42", "/audit/export.csv")
FORMULA = "=cmd|' /C calc'!A0"


def seed(app, *rows: dict) -> list[int]:
    """Insert audit rows as given (straight into the table, bypassing :func:`core.audit.record`)."""
    with app.app_context():
        objs = [AuditLog(**{"action": "test.event", "details": {}, **row}) for row in rows]
        db.session.add_all(objs)
        db.session.commit()
        return [o.id for o in objs]


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def ids_on(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-audit-id="(\d+)"', page)]


def older_link(page: str) -> str | None:
    match = re.search(r'<a [^>]*href="([^"]+)" rel="next"', page)
    return html.unescape(match.group(1)) if match else None


def audit_rows(app, action: str) -> list[AuditLog]:
    with app.app_context():
        rows = list(
            db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))
        )
        db.session.expunge_all()
        return rows


@pytest.fixture
def auditor(app, client):
    return login_as(app, client, "auditor")


# Who may open it ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("role", ["citizen", "clerk", "unit_lead", "admin"])
def test_other_roles_get_403(app, client, role, url):
    login_as(app, client, role)
    response = client.get(url)
    assert response.status_code == 403
    assert '<html lang="zh-CN">' in response.text
    assert audit_rows(app, "audit.export") == []


@pytest.mark.parametrize("url", URLS)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("url", URLS)
def test_auditor_gets_200(app, client, auditor, url):
    assert client.get(url).status_code == 200


def test_no_route_can_write(app, client, auditor):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("audit.")]
    assert len(rules) == 3
    for rule in rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    for url in URLS:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            assert client.open(url, method=method).status_code == 405


def test_nav_link_only_for_auditors(app, client):
    assert "审计日志" not in client.get("/").text
    login_as(app, client, "admin")
    assert 'href="/audit"' not in client.get("/").text
    client.post("/logout")
    login_as(app, client, "auditor")
    assert 'href="/audit"' in client.get("/").text


# The list -----------------------------------------------------------------------------------------


def test_auditor_sees_rows_newest_first_with_every_column(app, client, auditor):
    old, new = seed(
        app,
        {
            "at": at(2024, 3, 1, 0, 30),
            "actor_label": "clerk_wang",
            "actor_role": "clerk",
            "action": "test.accept",
            "object_type": "application",
            "object_id": "7",
            "ip": "10.1.2.3",
            "details": {"note": "<b>受理</b>", "n": 1},
        },
        {"at": at(2024, 3, 1, 16, 5), "actor_label": None, "action": "test.sweep"},
    )
    page = client.get("/audit?action=test.").text
    assert ids_on(page) == [new, old]
    row = page[page.index(f'data-audit-id="{old}"') :]
    row = row[: row.index("</tr>")]
    assert "2024-03-01 08:30:00" in row  # UTC 00:30 → Beijing time
    assert "clerk_wang" in row and "窗口/审核人员" in row and "test.accept" in row
    assert 'href="/audit/application/7"' in row and "办件 7" in row
    assert "10.1.2.3" in row
    assert "{&#34;n&#34;:1,&#34;note&#34;:&#34;&lt;b&gt;受理&lt;/b&gt;&#34;}" in row  # compact, escaped
    assert "<b>" not in page
    assert "系统/未登录" in page
    assert "100,000" in page  # the export cap is stated


def test_filter_by_actor_contains_any_case(app, client, auditor):
    wang, li, citizen, _ = seed(
        app,
        {"actor_label": "Clerk_Wang"},
        {"actor_label": "clerk_li"},
        {"actor_label": "139****0001"},
        {"actor_label": "a%b"},
    )
    assert sorted(ids_on(client.get("/audit?action=test.&actor=wang").text)) == [wang]
    assert sorted(ids_on(client.get("/audit?action=test.&actor=CLERK").text)) == [wang, li]
    # a full mobile number typed by the auditor finds the masked label it was stored as
    assert ids_on(client.get("/audit?action=test.&actor=13900000001").text) == [citizen]
    assert ids_on(client.get("/audit?action=test.&actor=%25").text) == [_]  # '%' is not a wildcard


def test_filter_by_action_prefix(app, client, auditor):
    success, failure, _, application = seed(
        app,
        {"action": "login.success", "at": at(2024, 1, 1, 1)},
        {"action": "login.failure", "at": at(2024, 1, 1, 2)},
        {"action": "logout", "at": at(2024, 1, 1, 3)},
        {"action": "application.submit", "at": at(2024, 1, 1, 4)},
    )
    before = "date_to=2024-12-31"  # leaves out the auditor's own login of today
    assert ids_on(client.get(f"/audit?action=login.&{before}").text) == [failure, success]
    assert ids_on(client.get(f"/audit?action=application.&{before}").text) == [application]
    assert ids_on(client.get(f"/audit?action=login_&{before}").text) == []  # '_' is not a wildcard
    assert input_value(client.get("/audit?action=login.").text, "action") == "login."


def test_filter_by_object_and_object_history(app, client, auditor):
    mine, _, _ = seed(
        app,
        {"object_type": "application", "object_id": "42"},
        {"object_type": "application", "object_id": "421"},
        {"object_type": "user", "object_id": "42"},
    )
    assert ids_on(client.get("/audit?object_type=application&object_id=42").text) == [mine]
    page = client.get("/audit/application/42").text
    assert ids_on(page) == [mine]
    assert "对象审计记录：办件 42" in page
    assert 'href="/audit/export.csv?object_type=application&amp;object_id=42"' in page
    assert ids_on(client.get("/audit/application/999999").text) == []


def test_filter_by_date_range_in_beijing_days(app, client, auditor):
    day_before, first, last, day_after = seed(
        app,
        {"at": at(2024, 3, 1, 15, 59, 59)},  # 03-01 23:59:59 Beijing
        {"at": at(2024, 3, 1, 16, 0, 0)},  # 03-02 00:00:00 Beijing
        {"at": at(2024, 3, 2, 15, 59, 59)},  # 03-02 23:59:59 Beijing
        {"at": at(2024, 3, 2, 16, 0, 0)},  # 03-03 00:00:00 Beijing
    )
    page = client.get("/audit?date_from=2024-03-02&date_to=2024-03-02").text
    assert ids_on(page) == [last, first]
    assert input_value(page, "date_from") == "2024-03-02"
    assert ids_on(client.get("/audit?action=test.&date_to=2024-03-01").text) == [day_before]
    assert ids_on(client.get("/audit?action=test.&date_from=2024-03-03").text) == [day_after]


@pytest.mark.parametrize("bad", ["2024-13-45", "昨天", "1899-01-01"])
def test_bad_date_is_explained_at_the_field_and_input_is_kept(app, client, auditor, bad):
    seed(app, {"actor_label": "clerk_wang"})
    response = client.get("/audit", query_string={"date_from": bad, "actor": "clerk_wang", "action": "test."})
    assert response.status_code == 422
    page = response.text
    message = field_error(page, "date_from")
    assert is_chinese(message), message
    assert input_value(page, "date_from") == bad
    assert input_value(page, "actor") == "clerk_wang"
    assert input_value(page, "action") == "test."
    assert ids_on(page) == []
    assert "/audit/export.csv" not in page
    assert field_error(page, "date_to") is None


def test_end_before_start_is_refused_at_the_end_date(app, client, auditor):
    response = client.get("/audit?date_from=2024-03-02&date_to=2024-03-01")
    assert response.status_code == 422
    assert field_error(response.text, "date_to") == "结束日期不能早于开始日期"
    assert input_value(response.text, "date_to") == "2024-03-01"


def test_pages_are_disjoint_and_in_order(app, client, auditor):
    base = at(2024, 5, 1)
    # 120 matching rows, pairs sharing a timestamp (the id breaks the tie), plus rows another filter hides
    rows = [{"action": "page.event", "at": base + timedelta(minutes=i // 2)} for i in range(120)]
    rows += [{"action": "other.event", "at": base + timedelta(minutes=i)} for i in range(30)]
    ids = seed(app, *rows)
    with app.app_context():
        expected = list(
            db.session.scalars(
                select(AuditLog.id)
                .where(AuditLog.action == "page.event")
                .order_by(AuditLog.at.desc(), AuditLog.id.desc())
            )
        )
    assert sorted(expected) == sorted(ids[:120])

    seen: list[list[int]] = []
    url: str | None = "/audit?action=page."
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen.append(ids_on(response.text))
        url = older_link(response.text)
        if url:
            assert "action=page." in url  # the filters travel with the cursor
        assert len(seen) < 10
    assert [len(p) for p in seen] == [50, 50, 20]
    flat = [i for p in seen for i in p]
    assert flat == expected
    assert len(set(flat)) == len(flat)


def test_a_tampered_cursor_is_a_bad_request(app, client, auditor):
    for cursor in ("abc", "1-", "999999999999999999-1", "1-2-3", "-5-1"):
        response = client.get("/audit", query_string={"before": cursor})
        assert response.status_code == 400, cursor


# Masking ------------------------------------------------------------------------------------------


def test_page_and_export_mask_id_and_mobile_numbers(app, client, auditor):
    full_id = make_id_number("110105", "19491231", 2)
    with app.app_context():
        audit.record(
            "test.reveal",
            object_type="application",
            object_id=5,
            details={"principal": f"身份证 {full_id}", "mobile": "13812345678"},
        )
        db.session.commit()
    # a row that reached the table without record() (raw insert, old script) is masked on the way out
    seed(
        app,
        {
            "action": "test.raw",
            "actor_label": "13812345678",
            "details": {"id_number": full_id, "m": "13812345678"},
        },
    )
    page = client.get("/audit?action=test.").text
    assert len(ids_on(page)) == 2
    assert full_id not in page and "13812345678" not in page
    assert f"{full_id[:4]}**********{full_id[-4:]}" in page
    assert "138****5678" in page
    exported = client.get("/audit/export.csv?action=test.").data.decode("utf-8-sig")
    assert full_id not in exported and "13812345678" not in exported
    assert "138****5678" in exported


# CSV export ---------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_export_is_csv_with_bom_chinese_header_escaped_cells_and_is_audited(app, client, auditor):
    seed(
        app,
        {
            "at": at(2024, 6, 1, 1),
            "actor_label": FORMULA,
            "action": "test.one",
            "object_id": "@SUM(A1)",
            "ip": "+1",
            "details": {"k": "v"},
        },
        {"at": at(2024, 6, 1, 2), "actor_label": "clerk_li", "action": "test.two", "object_id": "-3"},
        {"at": at(2024, 6, 1, 3), "actor_label": "clerk_li", "action": "other.three"},
        {"at": at(2024, 6, 1, 4), "actor_label": "\tx", "action": "test.four"},
    )
    response = client.get("/audit/export.csv", query_string={"action": "test.", "date_from": "2024-06-01"})
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="audit-log-')
    assert "filename*=UTF-8''%E5%AE%A1%E8%AE%A1%E6%97%A5%E5%BF%97-" in disposition  # 审计日志-…
    rows = _csv(response)
    assert rows[0] == [
        "记录号",
        "时间（北京时间）",
        "操作人",
        "角色",
        "操作",
        "对象类型",
        "对象编号",
        "IP地址",
        "详情",
        "事件说明",
    ]
    data = rows[1:]
    assert len(data) == 3  # the three test.* rows, newest first; not other.*, not the export itself
    assert [r[4] for r in data] == ["test.four", "test.two", "test.one"]
    four, two, one = data
    assert one[1] == "2024-06-01 09:00:00"
    assert one[2] == "'" + FORMULA
    assert one[6] == "'@SUM(A1)" and one[7] == "'+1"
    assert one[8] == '{"k":"v"}'
    assert two[6] == "'-3"
    assert four[2] == "'\tx"

    exports = audit_rows(app, "audit.export")
    assert len(exports) == 1
    row = exports[0]
    assert row.actor_id == auditor.id and row.actor_role == "auditor"
    assert row.details == {"filters": {"action": "test.", "date_from": "2024-06-01"}, "row_cap": 100_000}
    # the export row is on the record for the next auditor to see
    assert row.id in ids_on(client.get("/audit?action=audit.export").text)


def test_export_stops_at_the_row_cap_and_says_so(app, client, auditor, monkeypatch):
    monkeypatch.setattr(audit_views, "EXPORT_ROW_CAP", 5)
    seed(app, *({"action": "test.cap", "at": at(2024, 1, 1) + timedelta(minutes=i)} for i in range(7)))
    rows = _csv(client.get("/audit/export.csv?action=test.cap"))
    assert len(rows) == 1 + 5 + 1
    assert "导出上限 5 条" in rows[-1][1]
    assert audit_rows(app, "audit.export")[0].details["row_cap"] == 5


def test_export_with_bad_filters_shows_the_form_and_writes_nothing(app, client, auditor):
    response = client.get("/audit/export.csv?date_to=2024-02-30")
    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("text/html")
    assert is_chinese(field_error(response.text, "date_to"))
    assert input_value(response.text, "date_to") == "2024-02-30"
    assert audit_rows(app, "audit.export") == []


def test_export_streams_in_chunks_without_losing_rows(app, client, auditor, monkeypatch):
    monkeypatch.setattr(audit_views, "CHUNK_ROWS", 2)
    ids = seed(
        app, *({"action": "test.chunk", "at": at(2024, 1, 1) + timedelta(minutes=i)} for i in range(5))
    )
    response = client.get("/audit/export.csv?action=test.chunk")
    chunks = list(response.response)  # header, two chunks of two rows, the last row
    assert len(chunks) == 4
    body = b"".join(chunks)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert [int(r[0]) for r in rows[1:]] == list(reversed(ids))
