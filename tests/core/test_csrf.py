"""Every form is CSRF-protected: a POST without the token is refused with a Chinese message, the
token from the rendered form works."""

from __future__ import annotations

import re

import pytest

from tests.auth.helpers import (
    STRONG_PASSWORD,
    csrf_token,
    login_as,
    make_account,
    register_with_code,
    registration_data,
    sms_to,
    with_code,
)

CSRF_MESSAGE = "页面已过期或表单校验失败，请刷新页面后重新提交。"


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


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
    login_as(csrf_app, client, "citizen", csrf=True)
    assert client.get("/profile").status_code == 200


def test_register_without_token_is_refused_with_token_works(csrf_app):
    client = csrf_app.test_client()
    _refused(client.post("/register", data=registration_data()))
    _refused(client.post("/register/code", data=registration_data()))  # 获取验证码 is a form post too
    assert sms_to(csrf_app, registration_data()["mobile"]) == []
    assert client.get("/profile").status_code == 302
    token = csrf_token(client.get("/register").text)
    data = register_with_code(client, csrf_app, {**registration_data(), "csrf_token": token})
    response = client.post("/register", data=data)
    assert response.status_code == 302
    assert client.get("/profile").status_code == 200


def test_forgot_without_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    account = make_account(csrf_app)
    data = {"mobile": account.mobile, "password": STRONG_PASSWORD, "password_confirm": STRONG_PASSWORD}
    _refused(client.post("/forgot/code", data=data))
    assert sms_to(csrf_app, account.mobile) == []
    token = csrf_token(client.get("/forgot").text)
    data = with_code(client, csrf_app, "/forgot/code", {**data, "csrf_token": token})
    _refused(client.post("/forgot", data={k: v for k, v in data.items() if k != "csrf_token"}))
    assert client.post("/forgot", data=data).status_code == 302


def test_token_from_another_session_is_refused(csrf_app):
    visitor, attacker = csrf_app.test_client(), csrf_app.test_client()
    token = csrf_token(attacker.get("/register").text)
    _refused(visitor.post("/register", data={**registration_data(), "csrf_token": token}))


def test_logout_without_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    login_as(csrf_app, client, "citizen", csrf=True)
    _refused(client.post("/logout"))
    assert client.get("/profile").status_code == 200
    token = csrf_token(client.get("/profile").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/profile").status_code == 302


def test_password_change_without_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    account = login_as(csrf_app, client, "citizen", csrf=True)
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
    account = login_as(csrf_app, client, "citizen", csrf=True)
    data = {"mb-mobile": "13600001111", "mb-password": account.password}
    _refused(client.post("/profile/mobile/code", data=data))
    assert sms_to(csrf_app, "13600001111") == []
    page = client.get("/profile").text
    token = csrf_token(page)
    data = with_code(client, csrf_app, "/profile/mobile/code", {**data, "mb-csrf_token": token}, prefix="mb-")
    _refused(client.post("/profile/mobile", data={k: v for k, v in data.items() if k != "mb-csrf_token"}))
    assert "136****1111" not in client.get("/profile").text
    response = client.post("/profile/mobile", data=data)
    assert response.status_code == 302, response.text
    assert "136****1111" in client.get("/profile").text


def test_profile_verification_without_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    account = make_account(csrf_app, assurance=1, identity_source=None)
    token = csrf_token(client.get("/login").text)
    client.post(
        "/login", data={"identifier": account.login, "password": account.password, "csrf_token": token}
    )
    _refused(client.post("/profile/verify"))
    page = client.get("/profile").text
    assert 'action="/profile/verify"' in page
    response = client.post("/profile/verify", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/profile")


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
    for path in ("/login", "/register", "/forgot"):
        assert _forms_without_token(client.get(path).text) == [], path
    login_as(csrf_app, client, "citizen", csrf=True)
    assert _forms_without_token(client.get("/profile").text) == []
