"""The append-only audit trail: a row for every account event, masked details, and no way to
change or delete a row — not through the ORM, not with raw SQL (database triggers)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from auth.models import User
from core.audit import AuditImmutable, AuditLog
from core.db import db, utcnow
from core.masking import mask_id_number, mask_mobile
from tests.auth.helpers import (
    STRONG_PASSWORD,
    login,
    login_as,
    make_account,
    register,
    registration_data,
    with_code,
)


def _rows(app, action: str | None = None) -> list[AuditLog]:
    with app.app_context():
        stmt = select(AuditLog).order_by(AuditLog.id)
        if action:
            stmt = stmt.where(AuditLog.action == action)
        rows = list(db.session.scalars(stmt))
        db.session.expunge_all()
        return rows


def _only(app, action: str) -> AuditLog:
    rows = _rows(app, action)
    assert len(rows) == 1, [r.action for r in _rows(app)]
    return rows[0]


def _assert_no_full_numbers(row: AuditLog, *numbers: str) -> None:
    blob = repr((row.details, row.actor_label, row.object_id))
    for number in numbers:
        assert number not in blob


def test_registration_is_audited(app, client):
    data = registration_data()
    assert register(client, app, data).status_code == 302
    row = _only(app, "account.register")
    with app.app_context():
        user = db.session.scalar(select(User))
    assert (row.actor_id, row.actor_role, row.object_type, row.object_id) == (
        user.id,
        "citizen",
        "user",
        str(user.id),
    )
    assert row.actor_label == mask_mobile(data["mobile"])
    assert row.ip == "127.0.0.1"
    assert row.at.tzinfo is not None and abs(row.at - utcnow()) < timedelta(minutes=1)
    _assert_no_full_numbers(row, data["id_number"], data["mobile"])


def test_login_success_and_failure_are_audited(app, client):
    account = make_account(app)
    login(client, account.login, "Wrong-pass-1")
    login(client, account.id_number, "Wrong-pass-1")
    login(client, "13000000000", "Wrong-pass-1")
    assert login(client, account.login).status_code == 302
    failures = _rows(app, "login.failure")
    assert len(failures) == 3
    assert [f.object_id for f in failures] == [str(account.id), str(account.id), None]
    assert [f.details["identifier"] for f in failures] == [
        mask_mobile(account.mobile),
        mask_id_number(account.id_number),
        "130****0000",
    ]
    assert all(f.actor_id is None and f.ip == "127.0.0.1" for f in failures)
    for row in failures:
        _assert_no_full_numbers(row, account.mobile, account.id_number, "13000000000")
    success = _only(app, "login.success")
    assert (success.actor_id, success.object_id) == (account.id, str(account.id))
    assert success.actor_role == "citizen"


@pytest.mark.parametrize(
    "typed",
    ["110105 19491231 002x", "11010519491231002", "139 1234-5678", "+86 139 1234 5678", "1391234567"],
)
def test_login_failure_audit_masks_numbers_typed_in_any_shape(app, client, typed):
    make_account(app, id_number="11010519491231002X", mobile="13912345678")
    login(client, typed, "Wrong-pass-1")
    row = _only(app, "login.failure")
    digits = "".join(c for c in typed if c.isdigit() or c in "xX")
    stored = row.details["identifier"]
    assert "*" in stored
    assert digits.removeprefix("86") not in stored.replace(" ", "").replace("-", "")
    assert len([c for c in stored if c.isdigit()]) <= 8


def test_lockout_is_audited(app, client):
    account = make_account(app)
    for _ in range(6):
        login(client, account.login, "Wrong-pass-1")
    lock = _only(app, "login.lockout")
    assert lock.object_id == str(account.id)
    assert lock.details == {"identifier": mask_mobile(account.mobile), "minutes": 15}
    assert len(_rows(app, "login.failure")) == 5
    assert len(_rows(app, "login.refused_locked")) == 1


def test_logout_is_audited(app, client):
    account = login_as(app, client, "citizen")
    client.post("/logout")
    row = _only(app, "logout")
    assert (row.actor_id, row.object_id) == (account.id, str(account.id))


def test_password_change_is_audited(app, client):
    account = login_as(app, client, "citizen")
    response = client.post(
        "/profile/password",
        data={
            "pw-current_password": account.password,
            "pw-new_password": STRONG_PASSWORD,
            "pw-new_password_confirm": STRONG_PASSWORD,
        },
    )
    assert response.status_code == 302
    row = _only(app, "account.password_change")
    assert (row.actor_id, row.object_id) == (account.id, str(account.id))
    assert STRONG_PASSWORD not in repr(row.details) and account.password not in repr(row.details)


def test_failed_password_change_writes_no_row(app, client):
    login_as(app, client, "citizen")
    client.post(
        "/profile/password",
        data={
            "pw-current_password": "Wrong-pass-1",
            "pw-new_password": STRONG_PASSWORD,
            "pw-new_password_confirm": STRONG_PASSWORD,
        },
    )
    assert _rows(app, "account.password_change") == []


def test_mobile_change_is_audited_masked(app, client):
    account = login_as(app, client, "citizen")
    data = {"mb-mobile": "13600001111", "mb-password": account.password}
    data = with_code(client, app, "/profile/mobile/code", data, prefix="mb-")
    response = client.post("/profile/mobile", data=data)
    assert response.status_code == 302
    row = _only(app, "account.mobile_change")
    assert row.details == {"from": mask_mobile(account.mobile), "to": "136****1111"}
    _assert_no_full_numbers(row, account.mobile, "13600001111")
    with app.app_context():
        assert db.session.get(User, account.id).mobile == "13600001111"


def test_mobile_change_to_a_taken_number_is_refused(app, client):
    other = make_account(app)
    account = login_as(app, client, "citizen")
    data = {"mb-mobile": other.mobile, "mb-password": account.password}
    data = with_code(client, app, "/profile/mobile/code", data, prefix="mb-")
    response = client.post("/profile/mobile", data=data)
    assert response.status_code == 422
    assert "该手机号码已被其他账号使用" in response.text
    assert _rows(app, "account.mobile_change") == []


@pytest.mark.parametrize("how", ["option", "env"])
def test_staff_create_via_cli_is_audited(app, how):
    runner = app.test_cli_runner()
    args = ["users", "create", "--username", "clerk_wang", "--name", "王建国", "--role", "clerk"]
    if how == "option":
        result = runner.invoke(args=[*args, "--password", STRONG_PASSWORD])
    else:
        result = runner.invoke(args=args, env={"STAFF_PASSWORD": STRONG_PASSWORD})
    assert result.exit_code == 0, result.output
    assert "clerk_wang" in result.output
    row = _only(app, "staff.create")
    assert row.actor_id is None  # the command line, not a logged-in user
    assert row.details == {"username": "clerk_wang", "role": "clerk", "units": []}
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "clerk_wang"))
        assert user.role_value == "clerk" and row.object_id == str(user.id)
    assert login(app.test_client(), "clerk_wang", STRONG_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--role", "citizen"], "citizen"),
        (["--role", "clerk", "--password", "short"], "至少需要8个字符"),
        (["--role", "clerk", "--unit", "NO-SUCH-UNIT"], "单位不存在"),
    ],
)
def test_staff_create_refusals_write_nothing(app, extra, message):
    args = ["users", "create", "--username", "clerk_li", "--name", "李明华", *extra]
    if "--password" not in extra:
        args += ["--password", STRONG_PASSWORD]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output
    assert _rows(app) == []


def test_staff_disable_via_cli_is_audited(app):
    account = make_account(app, "clerk")
    result = app.test_cli_runner().invoke(args=["users", "disable", account.login])
    assert result.exit_code == 0, result.output
    row = _only(app, "staff.disable")
    assert row.object_id == str(account.id)
    with app.app_context():
        assert db.session.get(User, account.id).active is False


# Append-only --------------------------------------------------------------------------------------


def _seed_row(app) -> int:
    from core import audit

    with app.app_context():
        row = audit.record("test.event", object_type="thing", object_id=1, details={"k": "v"})
        db.session.commit()
        return row.id


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_log SET action = 'forged' WHERE id = :id",
        "UPDATE audit_log SET details = '{}'",
        "DELETE FROM audit_log WHERE id = :id",
        "DELETE FROM audit_log",
    ],
)
def test_raw_sql_cannot_change_or_delete_audit_rows(app, sql):
    row_id = _seed_row(app)
    with app.app_context():
        with pytest.raises(DBAPIError) as info, db.engine.begin() as conn:
            conn.execute(text(sql), {"id": row_id})
        assert "append-only" in str(info.value)
        row = db.session.get(AuditLog, row_id)
        assert row is not None and row.action == "test.event" and row.details == {"k": "v"}


def test_orm_cannot_change_or_delete_audit_rows(app):
    row_id = _seed_row(app)
    with app.app_context():
        row = db.session.get(AuditLog, row_id)
        row.action = "forged"
        with pytest.raises(AuditImmutable):
            db.session.flush()
        db.session.rollback()
        row = db.session.get(AuditLog, row_id)
        db.session.delete(row)
        with pytest.raises(AuditImmutable):
            db.session.flush()
        db.session.rollback()
        assert db.session.get(AuditLog, row_id).action == "test.event"


def test_record_masks_details_and_stores_utc(app):
    with app.app_context():
        from core import audit

        row = audit.record(
            "test.event",
            details={"note": "身份证 11010519491231002X 手机 13812345678", "nested": [{"m": "13812345678"}]},
        )
        db.session.commit()
        row = db.session.get(AuditLog, row.id)
        assert row.details == {
            "note": "身份证 1101**********002X 手机 138****5678",
            "nested": [{"m": "138****5678"}],
        }
        assert row.at.utcoffset() == UTC.utcoffset(None)
