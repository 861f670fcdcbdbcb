"""Redis only counts rate limits: with it down, logging in and registering still work (issue 18,
item 1) — the limiter falls back to counting in memory instead of answering 500."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.chaos  # `make chaos`


def test_login_and_registration_work_with_redis_down(make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")  # nothing listens
    client = app.test_client()
    assert client.get("/login").status_code == 200
    r = client.post("/login", data={"identifier": "13800000009", "password": "wrong-password"})
    assert r.status_code == 422 and "账号或密码不正确" in r.text
    assert client.post("/register/code", data={"mobile": "13800000009"}).status_code == 200
