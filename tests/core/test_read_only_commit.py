"""Read-only requests end in COMMIT on PostgreSQL (so psycopg keeps its prepared statements); anything
that wrote, holds an unflushed change, failed or streams is rolled back as before."""

from __future__ import annotations

from collections import Counter

import pytest
from flask import Blueprint, Response, abort
from sqlalchemy import event, func, insert, select

from auth.models import LoginThrottle
from core.db import db, utcnow


@pytest.fixture
def probe(make_app):
    """An app with test views, the seed row ``seed`` (failures 1), and a counter of how the
    requests' transactions ended."""
    app = make_app()
    bp = Blueprint("probe", __name__)

    @bp.route("/_test/read")
    def read():
        return str(db.session.scalar(select(func.count()).select_from(LoginThrottle)))

    @bp.route("/_test/core-write")
    def core_write():
        db.session.execute(insert(LoginThrottle).values(key="core", failures=1, updated_at=utcnow()))
        return "written, never committed"

    @bp.route("/_test/orm-dirty")
    def orm_dirty():
        db.session.get(LoginThrottle, "seed").failures = 99
        return "changed, never flushed"

    @bp.route("/_test/read-then-fail")
    def read_then_fail():
        db.session.scalar(select(func.count()).select_from(LoginThrottle))
        abort(500)

    @bp.route("/_test/stream")
    def stream():
        db.session.scalar(select(func.count()).select_from(LoginThrottle))
        return Response((part for part in ("a", "b")), mimetype="text/plain")

    app.register_blueprint(bp)
    ends: Counter = Counter()
    with app.app_context():
        db.session.add(LoginThrottle(key="seed", failures=1, updated_at=utcnow()))
        db.session.commit()
        event.listen(db.engine, "commit", lambda conn: ends.update(["commit"]))
        event.listen(db.engine, "rollback", lambda conn: ends.update(["rollback"]))
    return app, ends


def _rows(app) -> dict[str, int]:
    with app.app_context():
        rows = dict(db.session.execute(select(LoginThrottle.key, LoginThrottle.failures)).all())
        db.session.rollback()
        return rows


def test_a_read_only_request_commits_on_postgresql_and_keeps_prepared_statements(probe, is_postgres):
    app, ends = probe
    client = app.test_client()
    for _ in range(7):  # psycopg prepares a statement on its fifth run on one connection
        assert client.get("/_test/read").text == "1"
    if not is_postgres:
        assert ends["commit"] == 0  # SQLite: nothing to keep, the usual rollback
        return
    assert ends["commit"] == 7 and ends["rollback"] == 0
    with app.app_context():
        prepared = [
            key[0]
            for record in list(db.engine.pool._pool.queue)
            for key in record.dbapi_connection._prepared._names
        ]
    assert any(b"count(*)" in query and b"login_throttle" in query for query in prepared)


def test_a_write_that_was_not_committed_is_rolled_back(probe):
    app, ends = probe
    client = app.test_client()
    assert client.get("/_test/core-write").status_code == 200
    assert client.get("/_test/orm-dirty").status_code == 200
    assert _rows(app) == {"seed": 1}
    assert ends["commit"] == 0


def test_an_error_or_a_streamed_answer_is_not_committed(probe):
    app, ends = probe
    client = app.test_client()
    assert client.get("/_test/read-then-fail").status_code == 500
    response = client.get("/_test/stream")
    assert response.status_code == 200 and response.text == "ab"
    assert ends["commit"] == 0
