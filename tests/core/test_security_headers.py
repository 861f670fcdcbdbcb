"""Security headers on every kind of page; session cookie flags; inline scripts carry the nonce."""

from __future__ import annotations

import re

import pytest

from tests.auth.helpers import login, login_as, make_account

PAGES = [
    # (path, logged in, expected status)
    ("/", False, 200),
    ("/", True, 200),
    ("/login", False, 200),
    ("/register", False, 200),
    ("/forgot", False, 200),
    ("/profile", True, 200),
    ("/no-such-page", False, 404),
    ("/healthz", False, 200),
    ("/static/css/portal.css", False, 200),
]


def _directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def _get(app, path: str, logged_in: bool, base_url: str = "http://localhost"):
    client = app.test_client()
    if logged_in:
        login_as(app, client, "citizen")
    return client.get(path, base_url=base_url)


@pytest.mark.parametrize(("path", "logged_in", "status"), PAGES)
def test_headers_on_every_page(app, path, logged_in, status):
    response = _get(app, path, logged_in)
    assert response.status_code == status
    headers = response.headers
    csp = _directives(headers["Content-Security-Policy"])
    nonces = [s for s in csp["script-src"] if s.startswith("'nonce-")]
    assert len(nonces) == 1 and len(nonces[0]) > len("'nonce-'") + 15
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert "'unsafe-inline'" not in csp.get("style-src", [])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["default-src"] == ["'self'"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in {"strict-origin-when-cross-origin", "same-origin", "no-referrer"}
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # plain http
    if logged_in:
        assert headers["Cache-Control"] == "no-store"


def test_nonce_changes_per_request(client):
    first = client.get("/login").headers["Content-Security-Policy"]
    second = client.get("/login").headers["Content-Security-Policy"]
    assert first != second


@pytest.mark.parametrize(("path", "logged_in", "status"), PAGES)
def test_hsts_over_https(app, path, logged_in, status):
    response = _get(app, path, logged_in, base_url="https://localhost")
    assert response.status_code == status
    hsts = response.headers["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
    assert max_age >= 180 * 24 * 3600


def test_hsts_behind_a_tls_proxy(make_app):
    """Behind a trusted proxy (``TRUSTED_PROXY_HOPS``) its X-Forwarded-Proto counts; by default no
    client's header does."""
    headers = {"X-Forwarded-Proto": "https"}
    proxied = make_app(TRUSTED_PROXY_HOPS=1).test_client().get("/login", headers=headers)
    assert "Strict-Transport-Security" in proxied.headers
    direct = make_app().test_client().get("/login", headers=headers)
    assert "Strict-Transport-Security" not in direct.headers


@pytest.mark.parametrize(
    ("path", "logged_in", "status"),
    [p for p in PAGES if not p[0].startswith("/static") and p[0] != "/healthz"],
)
def test_inline_scripts_carry_the_nonce(app, path, logged_in, status):
    client = app.test_client()
    if logged_in:
        login_as(app, client, "citizen")
    for _ in range(2):  # the second answer may come from a page cache: its nonce must be fresh too
        response = client.get(path)
        assert response.status_code == status
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        for tag in re.findall(r"<script\b[^>]*>", response.text):
            if "src=" in tag:
                assert re.search(r'src="/static/', tag), f"script from elsewhere: {tag}"
            else:
                assert f'nonce="{nonce}"' in tag, f"inline script without this request's nonce: {tag}"
        assert not re.search(r"\son[a-z]+=\"", response.text), "inline event handlers need unsafe-inline"
        assert "javascript:" not in response.text
        assert " style=" not in response.text, "style attributes are dropped by the CSP (no 'unsafe-inline')"


def _session_cookie(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("portal_session="))


def test_session_cookie_flags(app, client):
    account = make_account(app)
    cookie = _session_cookie(login(client, account.login))
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")}
    assert "httponly" in flags
    assert flags["samesite"].lower() == "samesite=lax"
    assert "secure" not in flags  # plain http in tests; HTTPS=1 turns it on
    assert "expires" not in flags  # a browser-session cookie


def test_session_cookie_secure_when_https_is_configured(make_app):
    app = make_app(SESSION_COOKIE_SECURE=True)
    account = make_account(app)
    data = {"identifier": account.login, "password": account.password}
    response = app.test_client().post("/login", data=data, base_url="https://localhost")
    cookie = _session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_views_own_header_wins_and_missing_ones_are_added_once():
    from werkzeug.wrappers import Response

    from core.security import add_missing_headers

    response = Response("x")
    response.headers["x-frame-options"] = "SAMEORIGIN"  # the view's own choice, any spelling
    add_missing_headers(response, [("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff")])
    add_missing_headers(response, [("X-Content-Type-Options", "nosniff")])
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers.getlist("X-Content-Type-Options") == ["nosniff"]
