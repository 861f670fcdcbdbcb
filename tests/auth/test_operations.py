"""Account operations against a real database, including the races the unique indexes settle."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from auth import operations as ops
from auth.models import Role, User
from core.db import db
from core.errors import DomainError, FieldError
from tests.auth.helpers import STRONG_PASSWORD, make_id_number
from tests.factories import CitizenFactory


def _register(**overrides) -> User:
    data = {
        "real_name": "李小红",
        "id_number": make_id_number(),
        "mobile": "13912345678",
        "password": STRONG_PASSWORD,
    }
    data.update(overrides)
    return ops.register_citizen(**data)


@pytest.fixture
def lost_race(monkeypatch):
    """Make the first look-ups miss, as if a concurrent request inserted in between: the first
    ``_ensure_free`` (registration's mobile check, or the mobile change's) and the first look-up of
    the ID number's holder. Whatever is inserted then meets the unique index."""
    real_free, real_holder = ops._ensure_free, ops._id_holder
    calls = {"n": 0, "holder": 0}

    def racing(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            return None
        return real_free(**kwargs)

    def racing_holder(*args):
        calls["holder"] += 1
        if calls["holder"] == 1:
            return None
        return real_holder(*args)

    monkeypatch.setattr(ops, "_ensure_free", racing)
    monkeypatch.setattr(ops, "_id_holder", racing_holder)
    return calls


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"mobile": "13700001111"}, "id_number", ops.ID_NOT_REGISTRABLE),
        ({"id_number": make_id_number(seq=777)}, "mobile", "该手机号码已被其他账号使用"),
    ],
    ids=["same-id-number", "same-mobile"],
)
def test_concurrent_duplicate_registration_is_refused_by_the_unique_index(
    app_ctx, lost_race, overrides, field, message
):
    _register()
    db.session.commit()
    lost_race.update(n=0, holder=0)  # the race is the second registration's
    with pytest.raises(FieldError) as info:
        _register(**overrides)
    assert (info.value.field, info.value.message) == (field, message)
    assert lost_race["n"] == 2  # the missed check, then the one after the unique index said no
    assert lost_race["holder"] == 1  # the holder was never found: the index, not the look-up, refused
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_concurrent_mobile_change_is_refused_by_the_unique_index(app_ctx, lost_race):
    from tests.factories import DEFAULT_PASSWORD

    taken = CitizenFactory(mobile="13700001111")
    user = CitizenFactory()
    db.session.commit()
    with pytest.raises(FieldError) as info:
        ops.change_mobile(user, mobile=taken.mobile, password=DEFAULT_PASSWORD)
    assert info.value.field == "mobile"
    db.session.rollback()
    assert db.session.get(User, user.id).mobile != taken.mobile


def test_register_normalises_numbers(app_ctx):
    user = _register(id_number="11010519491231002x", mobile="+86 139-1234-5678")
    assert (user.id_number, user.mobile) == ("11010519491231002X", "13912345678")


def test_create_staff_rules(app_ctx):
    ops.create_staff(
        username="clerk1", real_name="王建国", role="clerk", password=STRONG_PASSWORD, unit_codes=[]
    )
    with pytest.raises(FieldError) as info:
        ops.create_staff(
            username="clerk1", real_name="王建国", role="clerk", password=STRONG_PASSWORD, unit_codes=[]
        )
    assert info.value.field == "username"
    with pytest.raises(DomainError):
        ops.create_staff(
            username="c2", real_name="王建国", role=Role.CITIZEN, password=STRONG_PASSWORD, unit_codes=[]
        )


def test_authenticate_refuses_disabled_account_like_a_wrong_password(app):
    from tests.factories import DEFAULT_PASSWORD

    with app.test_request_context("/login", method="POST"):
        user = CitizenFactory(active=False)
        db.session.commit()
        with pytest.raises(ops.LoginFailed) as info:
            ops.authenticate(user.mobile, DEFAULT_PASSWORD)
        assert str(info.value) == ops.LOGIN_FAILED
        assert not info.value.locked
