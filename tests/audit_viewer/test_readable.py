"""The audit trail as readable Chinese: a label for every action code the code base writes, one line per
event (masked name and role, what, which record, before → after), the raw record one click away and
the line as a column of the export."""

from __future__ import annotations

import ast
import csv
import io
import re
from pathlib import Path

import pytest

from applications.workflow.states import STATE_LABELS, Action
from audit_viewer.readable import ACTION_LABELS, FIELD_LABELS, mask_name
from audit_viewer.readable import STATE_LABELS as VIEWER_STATE_LABELS
from catalog.admin.operations import PARTS
from core import audit
from core.db import db
from tests.audit_viewer.test_audit_viewer import ids_on, seed
from tests.auth.helpers import is_chinese, login_as
from tests.factories import CitizenFactory, StaffFactory

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", "tests", "bench", "node_modules", "migrations", "test-artifacts", "instance"}
#: Functions whose first argument (or ``action=`` / ``audit_action=``) is an audit action code.
AUDIT_WRITERS = {"record", "_audit", "_bundle_changed", "end_all_sessions", "_replace_document"}
#: What an f-string's placeholder can be, for the codes built at run time.
PLACEHOLDERS = {
    "action.value": [a.value for a in Action],
    "kind": list(PARTS),
}


def _codes_of(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _codes_of(node.body) + _codes_of(node.orelse)
    if isinstance(node, ast.JoinedStr):
        codes = [""]
        for part in node.values:
            if isinstance(part, ast.Constant):
                codes = [c + part.value for c in codes]
            else:
                key = ast.unparse(part.value)
                assert key in PLACEHOLDERS, (
                    f"an audit code built from {{{key}}}: add its values to PLACEHOLDERS"
                )
                codes = [c + v for c in codes for v in PLACEHOLDERS[key]]
        return codes
    return []  # a variable: its values are found where the callers pass them


def action_codes_in_source() -> set[str]:
    """Every audit action code the application's source passes to the trail."""
    codes: set[str] = set()
    for path in ROOT.rglob("*.py"):
        if SKIP_DIRS & set(path.relative_to(ROOT).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name not in AUDIT_WRITERS:
                    continue
                if name in ("record", "_audit", "_bundle_changed") and node.args:
                    codes.update(_codes_of(node.args[0]))
                for kw in node.keywords:
                    if kw.arg in ("action", "audit_action"):
                        codes.update(_codes_of(kw.value))
            elif isinstance(node, ast.FunctionDef) and node.name in AUDIT_WRITERS:
                args = node.args.kwonlyargs
                for arg, default in zip(args, node.args.kw_defaults, strict=True):
                    if arg.arg in ("action", "audit_action") and default is not None:
                        codes.update(_codes_of(default))
    return {c for c in codes if re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", c)}


def test_every_action_code_the_code_writes_has_a_chinese_label():
    codes = action_codes_in_source()
    assert len(codes) > 80, sorted(codes)  # the scan itself works: it finds the whole trail
    assert {
        "application.accept",
        "catalog.fields_reorder",
        "logout",
        "application.document_from_wallet",
    } <= codes
    missing = sorted(codes - set(ACTION_LABELS))
    assert missing == [], f"audit action codes without a label in audit_viewer/readable.py: {missing}"
    assert all(is_chinese(label) for label in ACTION_LABELS.values())


def test_the_viewers_state_names_are_the_workflows():
    assert {state.value: label for state, label in STATE_LABELS.items()} == VIEWER_STATE_LABELS


def test_names_are_masked_in_the_middle():
    assert [mask_name(n) for n in ("张晓明", "王五", "欧阳娜娜", "李", "")] == [
        "张*明",
        "王*",
        "欧**娜",
        "李",
        "",
    ]


@pytest.fixture
def auditor(app, client):
    return login_as(app, client, "auditor")


def _line(page: str, row_id: int) -> str:
    row = page[page.index(f'data-audit-id="{row_id}"') :]
    row = row[: row.index("</tr>")]
    return re.search(r'data-testid="audit-line">([^<]*)<', row).group(1)


def test_a_transition_reads_as_who_did_what_to_which_application(app, client, auditor):
    with app.app_context():
        clerk = StaffFactory(real_name="王建国", username="clerk_wang")
        db.session.flush()
        row = audit.record(
            "application.accept",
            object_type="application",
            object_id=999,
            details={"from": "submitted", "to": "accepted", "reference": "LJ20261206000001J"},
            actor=clerk,
        )
        db.session.commit()
        row_id = row.id
    page = client.get("/audit?action=application.").text
    line = _line(page, row_id)
    assert line == "王*国（窗口/审核人员） 受理 办件 LJ20261206000001J：状态：已提交，待受理 → 已受理，办理中"
    assert "王建国" not in page
    # the raw record is one click away: the code and the JSON inside a <details> disclosure
    raw = page[page.index(f'data-audit-id="{row_id}"') :]
    raw = raw[raw.index("<details") : raw.index("</details>")]
    assert "<summary>查看原始记录</summary>" in raw and "application.accept" in raw
    assert "&#34;to&#34;:&#34;accepted&#34;" in raw


def test_a_catalog_edit_shows_each_changed_field_in_chinese(app, client, auditor):
    (row_id,) = seed(
        app,
        {
            "actor_label": "admin",
            "actor_role": "admin",
            "action": "catalog.item_update",
            "object_type": "service_item",
            "object_id": "LJ-HJ-021",
            "details": {
                "before": {"name": "无犯罪记录证明", "promised_days": 5, "instant": False},
                "after": {"name": "无犯罪记录证明", "promised_days": 3, "instant": True},
                "version": 4,
            },
        },
    )
    line = _line(client.get("/audit?action=catalog.").text, row_id)
    assert line == "admin（管理员） 修改事项草稿 事项 LJ-HJ-021：承诺时限：5 → 3；即办件：否 → 是；版本：4"


def test_an_account_is_named_masked_and_an_unknown_code_still_shows(app, client, auditor):
    with app.app_context():
        person = CitizenFactory(real_name="陈小芳", mobile="13955550001")
        db.session.flush()
        row = audit.record(
            "account.mobile_change",
            object_type="user",
            object_id=person.id,
            details={"from": "13955550001", "to": "13955550002"},
            actor=person,
        )
        db.session.commit()
        row_id = row.id
    (odd,) = seed(app, {"action": "test.future_code", "details": {"k": "v"}})
    page = client.get("/audit").text
    line = _line(page, row_id)
    assert line == "陈*芳（群众） 更换手机号码 账号 陈*芳（139****0001）：手机号码：139****0001 → 139****0002"
    assert "13955550001" not in page and "陈小芳" not in page
    assert _line(page, odd) == "系统 test.future_code：k：v"  # a code nobody labelled yet is not hidden


def test_the_export_keeps_the_raw_columns_and_adds_the_line(app, client, auditor):
    (row_id,) = seed(
        app,
        {
            "actor_label": "clerk_li",
            "actor_role": "clerk",
            "action": "application.visit",
            "object_type": "application",
            "object_id": "12345",
            "details": {"purpose": "核验原件", "place": "解放路派出所", "channel": "counter"},
        },
    )
    body = client.get("/audit/export.csv?action=application.visit").data.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(body)))
    assert header[-2:] == ["详情", "事件说明"] and header[4] == "操作"
    (row,) = rows
    assert row[0] == str(row_id) and row[4] == "application.visit"  # the raw columns as before
    assert row[8] == '{"channel":"counter","place":"解放路派出所","purpose":"核验原件"}'
    assert row[9] == (
        "clerk_li（窗口/审核人员） 记录到场 办件 #12345：事由：核验原件；地点：解放路派出所；渠道：窗口"
    )


def test_field_labels_are_chinese():
    assert all(is_chinese(v) for v in FIELD_LABELS.values())


def test_an_event_without_an_actor_reads_as_the_system(app, client, auditor):
    (row_id,) = seed(app, {"action": "login.failure", "details": {"identifier": "139****0001"}})
    page = client.get("/audit?action=login.failure").text
    assert ids_on(page) == [row_id]
    assert _line(page, row_id) == "系统 登录失败：登录账号：139****0001"
