"""Rate limits on login and registration (Flask-Limiter): the 11th login POST in a minute from one
address, or the 4th registration, or the 6th “获取验证码”, is answered 429 with a Chinese page."""

from __future__ import annotations

import pytest

from tests.auth.helpers import registration_data


def test_eleventh_login_post_in_a_minute_is_refused(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    data = {"identifier": "13000000000", "password": "Wrong-pass-1"}
    statuses = [client.post("/login", data=data).status_code for _ in range(10)]
    assert 429 not in statuses
    response = client.post("/login", data=data)
    assert response.status_code == 429
    assert '<html lang="zh-CN">' in response.text
    assert "操作过于频繁" in response.text
    assert "您的操作过于频繁，请稍后再试。" in response.text
    assert "Too Many Requests" not in response.text
    assert "Retry-After" in response.headers
    # Another address is not affected; viewing the form is not limited.
    other = client.post("/login", data=data, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert other.status_code == 422
    assert client.get("/login").status_code == 200


def test_registration_is_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    bad = registration_data(mobile="123")
    statuses = [client.post("/register", data=bad).status_code for _ in range(3)]
    assert statuses == [422, 422, 422]
    response = client.post("/register", data=bad)
    assert response.status_code == 429
    assert "操作过于频繁" in response.text


@pytest.mark.parametrize("url", ["/register/code", "/forgot/code"])
def test_sms_code_requests_are_rate_limited(make_app, url):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    bad = registration_data(mobile="123")  # refused at the field, so no code and no cool-down
    statuses = [client.post(url, data=bad).status_code for _ in range(5)]
    assert statuses == [200] * 5
    response = client.post(url, data=bad)
    assert response.status_code == 429
    assert "操作过于频繁" in response.text


def test_limits_are_off_when_disabled(client):
    data = {"identifier": "13000000000", "password": ""}
    assert {client.post("/login", data=data).status_code for _ in range(15)} == {422}
