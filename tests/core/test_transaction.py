"""core.transaction: one commit per request, a rollback on any exception, refusals shown at the field."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from wtforms import StringField

from auth.models import Unit
from core.db import db
from core.errors import DomainError, FieldError, NotFound
from core.forms import PortalForm
from core.transaction import transaction


class _Form(PortalForm):
    class Meta:
        csrf = False

    name = StringField()


def _units() -> int:
    return db.session.scalar(select(func.count()).select_from(Unit))


def _add(code: str) -> None:
    db.session.add(Unit(code=code, name=code, kind="police_station"))
    db.session.flush()


def test_the_block_commits(app_ctx):
    with transaction() as tx:
        _add("T-1")
    db.session.remove()
    assert tx.ok and tx.error is None and _units() == 1


def test_a_field_error_rolls_back_and_sits_at_its_field(app_ctx, app):
    with app.test_request_context():
        form = _Form()
        with transaction(form) as tx:
            _add("T-2")
            raise FieldError("name", "名称已被使用")
        assert not tx.ok and form.name.errors == ["名称已被使用"] and form.form_errors == []
    assert _units() == 0


def test_a_rule_without_a_field_is_a_form_error_and_a_message(app_ctx, app):
    with app.test_request_context():
        form = _Form()
        with transaction(form) as tx:
            _add("T-3")
            raise DomainError("该申请已被其他人处理")
        assert form.form_errors == ["该申请已被其他人处理"] and tx.message == "该申请已被其他人处理"
        with transaction() as bare:
            raise FieldError("nowhere", "无处安放")
        assert bare.message == "无处安放"
    assert _units() == 0


@pytest.mark.parametrize("exc", [NotFound(), RuntimeError("boom")])
def test_not_found_and_bugs_roll_back_and_propagate(app_ctx, exc):
    with pytest.raises(type(exc)), transaction():
        _add("T-4")
        raise exc
    assert _units() == 0
