"""One id per request, in every log line written while it is served and in the ``X-Request-ID`` answer.

:class:`RequestIdMiddleware` wraps the whole WSGI app (outside the page micro-cache, so a cached page
carries one too). A sane ``X-Request-ID`` from the client or the proxy in front is kept, so one id
follows a request from nginx to the portal's log; anything else (too long, odd characters that could
forge log fields) is replaced by a fresh random id. The id lives in a context variable while the app
handles the request; :class:`core.logging.RequestIdFilter` copies it into every record.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
ENVIRON_KEY = "portal.request_id"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")

_current: ContextVar[str | None] = ContextVar("portal_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served in this thread/context, or None outside a request."""
    return _current.get()


def accept_or_generate(incoming: str | None) -> str:
    """Keep an incoming id of 8–128 letters, digits and ``._:-``; otherwise make a new one."""
    if incoming and _SANE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Give each request an id (``environ['portal.request_id']``) and answer it in ``X-Request-ID``."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        request_id = accept_or_generate(environ.get("HTTP_X_REQUEST_ID"))
        environ[ENVIRON_KEY] = request_id

        def start_with_id(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != HEADER.lower()]
            headers.append((HEADER, request_id))
            return start_response(status, headers, exc_info)

        token = _current.set(request_id)
        try:
            return self.wsgi_app(environ, start_with_id)
        finally:
            _current.reset(token)
