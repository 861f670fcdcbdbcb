"""Chinese error pages for 404, 403, 405 and 500 (never a traceback), JSON under /api/."""

from __future__ import annotations

import io
import logging

import pytest
from flask import Blueprint

from auth.policies import role_required
from core.logging import configure_logging
from tests.auth.helpers import is_chinese, login_as


def _guarded_app(make_app, **config):
    """An app with a tiny blueprint guarded by role_required (no real admin page exists yet)."""
    app = make_app(**config)
    bp = Blueprint("guarded", __name__)

    @bp.route("/_test/admin-only")
    @role_required("admin")
    def admin_only():
        return "admin area"

    @bp.route("/_test/boom")
    def boom():
        raise RuntimeError("kaboom 330102199003071230")

    app.register_blueprint(bp)
    return app


def _title(page: str) -> str:
    import re

    return re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1).strip()


def test_404_is_a_chinese_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert '<html lang="zh-CN">' in response.text
    assert _title(response.text) == "页面不存在"
    assert "返回首页" in response.text
    assert "Not Found" not in response.text


def test_405_is_a_chinese_page(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert _title(response.text) == "不支持的请求方式"
    assert is_chinese(_title(response.text))


def test_403_for_the_wrong_role(make_app):
    app = _guarded_app(make_app)
    client = app.test_client()
    login_as(app, client, "clerk")
    response = client.get("/_test/admin-only")
    assert response.status_code == 403
    assert _title(response.text) == "没有访问权限"
    assert "您的账号没有访问此页面的权限" in response.text
    assert "Forbidden" not in response.text


def test_role_required_lets_the_right_role_in_and_sends_anonymous_to_login(make_app):
    app = _guarded_app(make_app)
    anonymous = app.test_client()
    response = anonymous.get("/_test/admin-only")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    admin = app.test_client()
    login_as(app, admin, "admin")
    response = admin.get("/_test/admin-only")
    assert response.status_code == 200
    assert response.text == "admin area"


def test_500_is_a_chinese_page_without_traceback(make_app):
    app = _guarded_app(make_app)
    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    logs = io.StringIO()
    handler = configure_logging("WARNING", stream=logs)
    try:
        response = app.test_client().get("/_test/boom")
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 500
    assert _title(response.text) == "系统繁忙"
    assert "您填写的内容未被保存" in response.text
    for leak in ("Traceback", "RuntimeError", "kaboom", "330102199003071230"):
        assert leak not in response.text
    assert "Content-Security-Policy" in response.headers
    # The traceback goes to the log, with the ID number in the exception message masked.
    assert "RuntimeError: kaboom 3301**********1230" in logs.getvalue()
    assert "330102199003071230" not in logs.getvalue()


def test_json_errors_under_api(client):
    response = client.get("/api/no-such-endpoint")
    assert response.status_code == 404
    assert response.get_json() == {
        "error": "not_found",
        "code": "not_found",
        "field": None,
        "message": "页面不存在",
    }


def test_a_bad_language_cookie_does_not_break_the_site(client):
    client.set_cookie("lang", "xx-garbage")
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.text
    assert client.get("/no-such-page").status_code == 404


@pytest.mark.chaos
def test_database_down_for_a_logged_in_user_still_gives_the_chinese_page(make_app):
    """The user cannot be loaded; the error page must not fail again while drawing the header."""
    working = make_app()
    client = working.test_client()
    login_as(working, client, "clerk")
    cookie = client.get_cookie("portal_session")
    broken = make_app(SQLALCHEMY_DATABASE_URI="sqlite:////nonexistent-directory/for/sure/portal.db")
    broken.testing = False
    broken.config["PROPAGATE_EXCEPTIONS"] = False
    visitor = broken.test_client()
    visitor.set_cookie("portal_session", cookie.value)
    logs = io.StringIO()
    handler = configure_logging("WARNING", stream=logs)
    try:
        response = visitor.get("/profile")
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 503  # the database is unavailable: try again later, not a bug
    assert _title(response.text) == "服务暂不可用"
    assert "Content-Security-Policy" in response.headers
    assert "Cache-Control" not in response.headers  # drawn as to a visitor
