"""A citizen during a database outage (issue 18 item 1): the login page was already open, the database
went away, they press 登录 — and get a Chinese 503 page on their phone that says nothing was saved and
to try again shortly, accessible and without sideways scrolling."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import _free_port, run_axe

pytestmark = [pytest.mark.browser, pytest.mark.chaos]


@pytest.fixture
def outage_server(make_app):
    """The portal served from a thread on a database that cannot be opened."""
    app = make_app(WTF_CSRF_ENABLED=True, SQLALCHEMY_DATABASE_URI="sqlite:////nonexistent-directory/x.db")
    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    port = _free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)


def test_pressing_login_while_the_database_is_down(outage_server, phone_page, screenshot):
    phone_page.goto(f"{outage_server}/login")  # the login form itself needs no database
    phone_page.locator("input[name=identifier]").fill("13800000001")
    phone_page.locator("input[name=password]").fill("Demo-2026")
    with phone_page.expect_response(
        lambda r: r.url.endswith("/login") and r.request.method == "POST"
    ) as posted:
        phone_page.get_by_role("button", name="登录", exact=True).click()
    assert posted.value.status == 503
    assert posted.value.headers["retry-after"] == "30"
    phone_page.wait_for_load_state()
    screenshot(phone_page, "503")
    assert phone_page.get_by_role("heading", level=1).inner_text() == "服务暂不可用"
    assert phone_page.get_by_text("填写的内容也未被保存").is_visible()
    assert phone_page.get_by_role("link", name="返回首页").is_visible()
    wide = phone_page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wide <= 0
    assert run_axe(phone_page) == []
