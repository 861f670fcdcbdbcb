"""Security headers with a per-request CSP nonce (a small ``after_request`` instead of a library)."""

from __future__ import annotations

import secrets

from flask import Flask, g, request
from werkzeug.wrappers import Response


def csp_nonce() -> str:
    """The nonce for this request's inline ``<script nonce=…>`` blocks (created on first use)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'nonce-{nonce}'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_STATIC_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def security_headers(nonce: str, secure: bool) -> list[tuple[str, str]]:
    """Every security header for one response (also used by the page micro-cache in front of Flask)."""
    out = [("Content-Security-Policy", _CSP.format(nonce=nonce)), *_STATIC_HEADERS]
    if secure:
        out.append(HSTS)
    return out


def add_missing_headers(response: Response, pairs) -> None:
    """Add each (name, value) of ``pairs`` the response does not already carry (a view's own header
    wins). One pass over the headers: Werkzeug's ``setdefault`` builds and catches an exception for
    every absent header, a dozen per response."""
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    for name, value in pairs:
        if name.lower() not in present:
            headers.add(name, value)


def _set_headers(response: Response) -> Response:
    add_missing_headers(response, security_headers(csp_nonce(), request.is_secure))
    return response


def init_security(app: Flask) -> None:
    """Register the header hook and expose ``csp_nonce()`` to templates."""
    app.after_request(_set_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
