"""The database failing during a request answers 503 with Retry-After and a Chinese page (JSON under
/api/), rolls the session back and logs one line with the request id (issue 18 item 1). /healthz
(liveness) stays 200 meanwhile; /readyz says 503 and names the database."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from flask import Blueprint
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from core.audit import AuditLog
from core.db import db
from core.logging import configure_logging
from tests.auth.helpers import login_as, make_account

pytestmark = pytest.mark.chaos

UNOPENABLE = "sqlite:////nonexistent-directory/for/sure/portal.db"


def _title(page: str) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1).strip()


class _Logs:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def __enter__(self):
        self.handler = configure_logging("INFO", stream=self.stream)
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger().removeHandler(self.handler)

    def lines(self, needle: str) -> list[dict]:
        records = [json.loads(line) for line in self.stream.getvalue().splitlines() if line.startswith("{")]
        return [r for r in records if needle in r["message"]]


def _serving(app):
    """Answer as in production: handlers, not propagated exceptions."""
    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_a_logged_in_citizen_gets_a_503_page_when_the_database_is_gone(make_app):
    working = make_app()
    client = working.test_client()
    login_as(working, client, "citizen")
    cookie = client.get_cookie("portal_session")
    broken = _serving(make_app(SQLALCHEMY_DATABASE_URI=UNOPENABLE))
    visitor = broken.test_client()
    visitor.set_cookie("portal_session", cookie.value)
    with _Logs() as logs:
        response = visitor.get("/profile")
    assert response.status_code == 503
    assert _title(response.text) == "服务暂不可用"
    assert "您刚才的操作没有完成，填写的内容也未被保存" in response.text
    assert "返回首页" in response.text  # the look of every error page
    assert response.headers["Retry-After"] == "30"
    assert "Content-Security-Policy" in response.headers
    for leak in ("Traceback", "OperationalError", "nonexistent-directory"):
        assert leak not in response.text
    (line,) = logs.lines("database unavailable")
    assert line["levelname"] == "ERROR"
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert "GET /profile" in line["message"] and "OperationalError" in line["message"]
    assert "exc_info" not in line  # one line, no traceback per request while the database is down


def test_liveness_stays_200_while_readiness_names_the_database(make_app):
    broken = _serving(make_app(SQLALCHEMY_DATABASE_URI=UNOPENABLE))
    client = broken.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert any(p.startswith("DATABASE_URL:") for p in response.get_json()["problems"])


def test_the_api_answers_503_in_json(make_app):
    broken = _serving(make_app(SQLALCHEMY_DATABASE_URI=UNOPENABLE))
    response = broken.test_client().get("/api/v1/items?q=hz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    body = response.get_json()
    assert body["error"] == body["code"] == "unavailable" and body["message"].startswith("系统暂时繁忙")


def test_a_commit_that_fails_is_rolled_back_and_answered_503(app, monkeypatch):
    """The database goes away between the work and the commit: nothing of the request is kept."""
    make_account(app, "citizen", mobile="13800000077")
    _serving(app)
    real_commit = db.session.commit

    def commit_fails():
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(db.session, "commit", commit_fails)
    response = app.test_client().post("/login", data={"identifier": "13800000077", "password": "wrong-one"})
    assert response.status_code == 503
    assert "服务暂不可用" in response.text
    monkeypatch.setattr(db.session, "commit", real_commit)
    with app.app_context():
        failures = db.session.scalar(select(func.count()).where(AuditLog.action == "login.failure"))
    assert failures == 0  # the failed-login audit row went with the rollback


def _app_with_routes(make_app):
    app = _serving(make_app())
    bp = Blueprint("faulty", __name__)

    @bp.route("/_test/pool-exhausted")
    def pool_exhausted():
        raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached, connection timed out")

    @bp.route("/_test/duplicate")
    def duplicate():
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    app.register_blueprint(bp)
    return app


def test_an_exhausted_pool_is_a_503(make_app):
    response = _app_with_routes(make_app).test_client().get("/_test/pool-exhausted")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"


def test_an_integrity_error_is_still_a_500(make_app):
    """A bug is not an outage: no Retry-After, the ordinary 500 page."""
    response = _app_with_routes(make_app).test_client().get("/_test/duplicate")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
    assert _title(response.text) == "系统繁忙"


def test_a_database_error_after_the_view_is_a_503_too(make_app):
    app = _serving(make_app())

    @app.after_request
    def fail_late(response):
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
