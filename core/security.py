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


def _set_headers(response: Response) -> Response:
    nonce = csp_nonce()
    policy = "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    headers = response.headers
    headers.setdefault("Content-Security-Policy", policy)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_security(app: Flask) -> None:
    """Register the header hook and expose ``csp_nonce()`` to templates."""
    app.after_request(_set_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
