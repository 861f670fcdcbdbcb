"""Account assurance (issue 16): SMS codes, the population register, L1/L2 and the ID dispute.
Operations against a real database; the pages are tested in test_registration and test_recovery."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

import core.clock
from auth import operations as ops
from auth import verification as codes
from auth.models import Assurance, Resident, User, VerificationCode
from auth.population import DatabaseRegister, import_residents
from core.audit import AuditLog
from core.db import db
from core.errors import FieldError
from core.outbox import OutboxMessage
from tests.auth.helpers import STRONG_PASSWORD, make_id_number

NAME, ID = "陈静", make_id_number("330102", "19920415", 456)


def _code(mobile: str) -> str:
    # to_mobile is stored encrypted: compare after reading
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).all()
    row = next(r for r in rows if r.to_mobile == mobile)
    return re.search(r"\d{6}", row.sms_text).group(0)


@pytest.fixture
def resident(app_ctx):
    import_residents([{"身份证号码": ID, "姓名": NAME, "辖区": "东城区"}])
    db.session.commit()


@pytest.fixture
def clock(monkeypatch):
    moment = {"now": datetime(2026, 12, 6, 2, 0, tzinfo=UTC)}
    monkeypatch.setattr(core.clock, "now", lambda: moment["now"])
    return moment


# Codes ------------------------------------------------------------------------------------------


def test_a_code_is_sent_hashed_single_use_and_expires(app_ctx, clock):
    codes.request_code("register", "13912345678", ip="10.0.0.1")
    code = _code("13912345678")
    row = db.session.scalar(select(VerificationCode))
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert codes.consume_code("register", "13912345678", code) is True
    assert codes.consume_code("register", "13912345678", code) is False  # used
    clock["now"] += timedelta(minutes=2)
    codes.request_code("register", "13912345678", ip="10.0.0.1")
    late = _code("13912345678")
    clock["now"] += timedelta(minutes=5, seconds=1)
    assert codes.consume_code("register", "13912345678", late) is False  # expired


def test_a_code_dies_after_five_wrong_tries_and_is_bound_to_its_purpose(app_ctx, clock):
    codes.request_code("reset_password", "13912345678", ip="10.0.0.1")
    code = _code("13912345678")
    assert codes.consume_code("register", "13912345678", code) is False  # another purpose
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert codes.consume_code("reset_password", "13912345678", wrong) is False
    assert codes.consume_code("reset_password", "13912345678", code) is False  # dead now


def test_resend_cool_down_and_daily_caps(app_ctx, clock):
    codes.request_code("register", "13900000001", ip="10.0.0.9")
    with pytest.raises(codes.CodeThrottled, match="秒后再试"):
        codes.request_code("register", "13900000001", ip="10.0.0.9")
    for _ in range(9):
        clock["now"] += timedelta(seconds=61)
        codes.request_code("register", "13900000001", ip="10.0.0.9")
    clock["now"] += timedelta(seconds=61)
    with pytest.raises(codes.CodeThrottled, match="上限"):
        codes.request_code("register", "13900000001", ip="10.0.0.9")  # 10 a day per number
    for i in range(20):
        codes.request_code("register", f"1370000{i:04d}", ip="10.0.0.9")
    with pytest.raises(codes.CodeThrottled, match="上限"):
        codes.request_code("register", "13799999999", ip="10.0.0.9")  # 30 a day per address
    codes.request_code("register", "13799999999", ip="10.0.0.10")  # another address is fine
    clock["now"] += timedelta(days=1, seconds=1)
    codes.request_code("register", "13900000001", ip="10.0.0.9")  # a new day


def test_a_reset_for_an_unknown_number_sends_nothing_but_is_counted(app_ctx, clock):
    codes.request_code("reset_password", "13911112222", ip="10.0.0.1", send=False)
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    with pytest.raises(codes.CodeThrottled):
        codes.request_code("reset_password", "13911112222", ip="10.0.0.1", send=False)


# Register and levels ----------------------------------------------------------------------------


def _register(name=NAME, id_number=ID, mobile="13812340000"):
    return ops.register_citizen(
        real_name=name,
        id_number=id_number,
        mobile=mobile,
        password=STRONG_PASSWORD,
        register=DatabaseRegister(),
    )


def test_a_resident_reaches_l2_and_anyone_else_l1(app_ctx, resident):
    assert _register().level == Assurance.L2
    other = _register(name="陈晶", id_number=make_id_number("330102", "19800101", 11), mobile="13812340001")
    assert other.level == Assurance.L1
    actions = db.session.scalars(select(AuditLog.action)).all()
    assert actions.count("account.assurance_raise") == 1


def test_a_wrong_name_or_a_cancelled_record_does_not_verify(app_ctx, resident):
    register = DatabaseRegister()
    assert register.verify(NAME, ID) and not register.verify("陈晶", ID)
    db.session.scalar(select(Resident)).status = "cancelled"
    assert not register.verify(NAME, ID)


def test_someone_else_who_registered_my_id_is_frozen_when_i_prove_it(app_ctx, resident):
    squatter = _register(name="假冒者", mobile="13812349999")  # not in the register: L1 only
    assert squatter.level == Assurance.L1
    me = _register()
    db.session.flush()
    assert me.level == Assurance.L2 and me.id_number == ID
    assert squatter.frozen_at is not None and squatter.active is False and squatter.id_number is None
    kinds = {m.user_id: m.kind for m in db.session.scalars(select(OutboxMessage))}
    assert kinds == {squatter.id: "account_frozen", me.id: "id_claimed"}
    assert db.session.scalar(
        select(AuditLog).where(AuditLog.action == "account.id_dispute")
    ).object_id == str(squatter.id)


def test_a_verified_holder_keeps_the_id_and_the_answer_is_neutral(app_ctx, resident):
    _register()
    with pytest.raises(FieldError) as exc:
        _register(mobile="13812348888")  # same name and ID: still refused, nothing told
    assert exc.value.field == "id_number" and "已注册" not in exc.value.message
    with pytest.raises(FieldError) as not_verified:
        _register(name="假冒者", mobile="13812347777")
    assert not_verified.value.message == exc.value.message


def test_verify_identity_from_the_profile_and_at_the_counter(app_ctx, resident):
    user = ops.register_citizen(real_name=NAME, id_number=ID, mobile="13812340000", password=STRONG_PASSWORD)
    assert user.level == Assurance.L1
    assert ops.verify_identity(user, DatabaseRegister()) is True and user.identity_source == "register"
    other = ops.register_citizen(
        real_name="周强",
        id_number=make_id_number("330102", "19700101", 77),
        mobile="13812340002",
        password=STRONG_PASSWORD,
    )
    assert ops.verify_identity(other, DatabaseRegister()) is False and other.level == Assurance.L1
    clerk = User(role="clerk", username="c1", real_name="窗口", password_hash="x")
    db.session.add(clerk)
    db.session.flush()
    ops.verify_at_counter(other, clerk)
    assert other.level == Assurance.L2 and other.identity_source == "counter"
    raised = db.session.scalars(
        select(AuditLog).where(
            AuditLog.action == "account.assurance_raise", AuditLog.object_id == str(other.id)
        )
    ).one()
    assert raised.actor_id == clerk.id


def test_password_reset_by_code_sets_the_password_and_ends_sessions(app_ctx):
    user = ops.register_citizen(real_name=NAME, id_number=ID, mobile="13812340000", password=STRONG_PASSWORD)
    token = user.session_token
    ops.reset_password_with_code("13812340000", "Lj-2026-another")
    assert user.session_token != token
    assert ops.authenticate("13812340000", "Lj-2026-another").id == user.id
    with pytest.raises(ops.DomainError):
        ops.reset_password_with_code("13800009999", "Lj-2026-another")  # no such account
