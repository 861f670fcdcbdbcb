"""Every form is CSRF-protected: a POST without the token is refused with a Chinese message, the
token from the rendered form works."""

from __future__ import annotations

import re

import pytest

from tests.auth.helpers import STRONG_PASSWORD, csrf_token, make_account, registration_data

CSRF_MESSAGE = "页面已过期或表单校验失败，请刷新页面后重新提交。"


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def _login(app, client):
    account = make_account(app)
    token = csrf_token(client.get("/login").text)
    response = client.post(
        "/login", data={"identifier": account.login, "password": account.password, "csrf_token": token}
    )
    assert response.status_code == 302
    return account


def _refused(response) -> None:
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.text
    assert '<html lang="zh-CN">' in response.text


@pytest.mark.parametrize("token", [None, "", "forged-token-value"])
def test_login_without_valid_token_is_refused(csrf_app, token):
    client = csrf_app.test_client()
    account = make_account(csrf_app)
    data = {"identifier": account.login, "password": account.password}
    if token is not None:
        data["csrf_token"] = token
    _refused(client.post("/login", data=data))
    assert client.get("/profile").status_code == 302


def test_login_with_token_works(csrf_app):
    client = csrf_app.test_client()
    _login(csrf_app, client)
    assert client.get("/profile").status_code == 200


def test_register_without_token_is_refused_with_token_works(csrf_app):
    client = csrf_app.test_client()
    _refused(client.post("/register", data=registration_data()))
    assert client.get("/profile").status_code == 302
    token = csrf_token(client.get("/register").text)
    response = client.post("/register", data={**registration_data(), "csrf_token": token})
    assert response.status_code == 302
    assert client.get("/profile").status_code == 200


def test_token_from_another_session_is_refused(csrf_app):
    visitor, attacker = csrf_app.test_client(), csrf_app.test_client()
    token = csrf_token(attacker.get("/register").text)
    _refused(visitor.post("/register", data={**registration_data(), "csrf_token": token}))


def test_logout_without_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    _login(csrf_app, client)
    _refused(client.post("/logout"))
    assert client.get("/profile").status_code == 200
    token = csrf_token(client.get("/profile").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/profile").status_code == 302


def test_password_change_without_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    account = _login(csrf_app, client)
    data = {
        "pw-current_password": account.password,
        "pw-new_password": STRONG_PASSWORD,
        "pw-new_password_confirm": STRONG_PASSWORD,
    }
    _refused(client.post("/profile/password", data=data))
    token = csrf_token(client.get("/profile").text)
    response = client.post("/profile/password", data={**data, "pw-csrf_token": token})
    assert response.status_code == 302, response.text
    assert "密码已修改" in client.get("/profile").text


def test_mobile_change_without_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    account = _login(csrf_app, client)
    data = {"mb-mobile": "13600001111", "mb-password": account.password}
    _refused(client.post("/profile/mobile", data=data))
    page = client.get("/profile").text
    assert "136****1111" not in page
    token = csrf_token(page)
    response = client.post("/profile/mobile", data={**data, "mb-csrf_token": token})
    assert response.status_code == 302, response.text
    assert "136****1111" in client.get("/profile").text


def _forms_without_token(page: str) -> list[str]:
    forms = re.findall(r"<form\b.*?</form>", page, re.S)
    assert forms
    return [
        f
        for f in forms
        if not re.search(r'type="hidden" value="[^"]+"', f) or not re.search(r'name="(?:\w+-)?csrf_token"', f)
    ]


def test_every_rendered_form_carries_a_token(csrf_app):
    client = csrf_app.test_client()
    for path in ("/login", "/register"):
        assert _forms_without_token(client.get(path).text) == [], path
    _login(csrf_app, client)
    assert _forms_without_token(client.get("/profile").text) == []
