"""Per-worker caches of rendered HTML: whole pages for anonymous visitors, and the parts of a page that
logged-in visitors share (:func:`cached_fragment`, :func:`cached_header`).

Public pages (the catalog) are the same for every anonymous visitor, so a worker keeps the rendered
HTML keyed by (data version, locale, path, query) in a bounded LRU. Logged-in users, pending flash
messages and non-GET requests always render afresh. The data version (e.g. the catalog revision)
is part of the key, so a publish is seen as soon as the worker notices the new revision. Responses
are rebuilt from the stored body, so per-request headers (CSP nonce, cookies) stay per request.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import parse_qsl

from flask import Response, current_app, make_response, request, session
from flask_login import current_user
from markupsafe import Markup, escape
from werkzeug.http import HTTP_STATUS_CODES, parse_cookie

from core.api import public_api_headers
from core.i18n import cache_display, request_display
from core.masking import mask_text
from core.security import security_headers

access_log = logging.getLogger("portal.access")


class LRU:
    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Any, tuple[bytes, int, str, list]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[bytes, int, str, list] | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: tuple[bytes, int, str, list]) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_KEPT_HEADERS = {
    "Cache-Control",
    "ETag",
    "Vary",
    "Last-Modified",
    "Link",  # the public API's pages (core.api)
}


def anonymous_cache(version: Callable[[], Any], size: int = 2048) -> Callable:
    """Decorate a GET view whose output depends only on ``version()``, the locale and the URL.

    Each app keeps its own cache (``app.extensions['page_cache']``).
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if (
                request.method != "GET"
                or current_user.is_authenticated
                or session.get("_flashes")
                or _sets_preference(request.args)
            ):
                return view(*args, **kwargs)
            cache = current_app.extensions.get("page_cache")
            if cache is None:
                cache = current_app.extensions.setdefault("page_cache", LRU(size))
            key = (
                version(),
                cache_display(
                    request.path, request.cookies, request.args, request.headers.get("Accept-Language")
                ),
                request.path,
                tuple(sorted(request.args.items(multi=True))),
            )
            hit = cache.get(key)
            if hit is not None:
                body, status, mimetype, headers = hit
                response = Response(body, status=status, mimetype=mimetype, headers=headers)
                return response.make_conditional(request) if response.get_etag()[0] else response
            response = make_response(view(*args, **kwargs))
            if response.status_code in (200, 404) and not response.direct_passthrough:
                headers = [(k, v) for k, v in response.headers.items() if k in _KEPT_HEADERS]
                cache.put(key, (response.get_data(), response.status_code, response.mimetype, headers))
            return response

        return wrapped

    return decorator


def cached_fragment(*parts: Any, caller: Callable[[], Any]) -> Any:
    """``{% call cached_fragment('item', snap.revision) %}…{% endcall %}``: a part of a page that is the
    same for every visitor, rendered once per worker and reused for logged-in visitors too.

    The key is ``parts`` (which must hold the data version the fragment shows, e.g. the catalog
    revision) with what a fragment may depend on besides: the locale and elder mode, the path, the query
    and the script root. What depends on the person (the header, the CSRF tokens, the CSP nonce, flash
    messages) stays outside the ``call`` block; the page micro-cache (``PAGE_MICROCACHE``) switches this
    off with it.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("PAGE_MICROCACHE", True):
        return caller()
    cache = app.extensions.get("fragment_cache")
    if cache is None:
        cache = app.extensions.setdefault("fragment_cache", LRU(2048))
    key = (
        parts,
        cache_display(request.path, request.cookies, request.args, request.headers.get("Accept-Language")),
        request.script_root,
        request.path,
        tuple(sorted(request.args.items(multi=True))),
    )
    hit = cache.get(key)
    if hit is None:
        hit = caller()  # the call block renders to Markup (autoescaped)
        cache.put(key, hit)
    return hit


#: Stands for the CSRF token in a cached layout header; :func:`cached_header` puts this request's in.
CSRF_SLOT = "__portal_csrf_slot__"


def cached_header(*parts: Any, csrf: str = "", caller: Callable[[], Any]) -> Any:
    """``{% call cached_header(who, links, csrf=csrf_token()) %}…{% endcall %}``: the layout's header,
    rendered once per worker for each person-shape and page and reused (it was a quarter of the time
    of a logged-in page: a dozen translated strings, the switches, the navigation).

    The key is ``parts`` — what the header shows about the person (name, role; not who they are: two
    people it would show alike share it) and the navigation with its badge counts — plus the locale
    and elder mode, the script root, the path and the query (the switches and the active link). The
    CSRF token is rendered as :data:`CSRF_SLOT` and this request's token put in its place, so no token
    is ever shared. Off with ``PAGE_MICROCACHE``, like :func:`cached_fragment`.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("PAGE_MICROCACHE", True) or any(
        mask_text(v) != v for v in request.args.values()
    ):  # a query holding an ID or phone number is never kept in the worker's memory
        hit = caller()
    else:
        cache = app.extensions.get("header_cache")
        if cache is None:
            cache = app.extensions.setdefault("header_cache", LRU(1024))
        key = (
            parts,
            request_display(),
            request.script_root,
            request.path,
            tuple(sorted(request.args.items(multi=True))),
        )
        hit = cache.get(key)
        if hit is None:
            hit = caller()
            cache.put(key, hit)
    return Markup(str(hit).replace(CSRF_SLOT, str(escape(csrf))))  # noqa: S704 - rendered markup; token escaped


class PageCacheMiddleware:
    """A micro-cache in front of Flask for the pages :func:`anonymous_cache` has stored.

    A GET without a session cookie whose page is in this worker's cache, for the data version the
    worker checked within the last ``CATALOG_CHECK_SECONDS``, is answered here without entering
    Flask — with fresh security headers (a new CSP nonce) — so public catalog pages cost little more
    than serving bytes. Anything else (a session cookie, a version check that is due, a miss) goes to
    the app, which refreshes the version and fills the cache. The version comes from
    ``app.extensions['page_cache_peek']`` (registered by the feature that owns the data).
    """

    def __init__(self, wsgi_app, app) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        self.session_cookie = app.config.get("SESSION_COOKIE_NAME", "session")
        self.interval = float(app.config.get("CATALOG_CHECK_SECONDS", 1.0))

    def __call__(self, environ, start_response):
        hit = self._lookup(environ)
        if hit is None:
            return self.wsgi_app(environ, start_response)
        body, status, mimetype, headers = hit
        secure = environ.get("wsgi.url_scheme") == "https"  # set by ProxyFix only for a trusted proxy
        out = [
            ("Content-Type", _content_type(mimetype)),
            ("Content-Length", str(len(body))),
            ("Vary", _vary(dict(headers).get("Vary"))),  # the page depends on the (absent) session cookie
            *[h for h in headers if h[0] != "Vary"],
        ]
        out += security_headers(secrets.token_urlsafe(16), secure)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/api/"):  # what core.api's after-request hook adds to a fresh answer
            cookie_map = parse_cookie(environ.get("HTTP_COOKIE", "")) if environ.get("HTTP_COOKIE") else {}
            locale = cache_display(path, cookie_map, {}, environ.get("HTTP_ACCEPT_LANGUAGE"))[0]
            out += public_api_headers(locale)
        etag = dict(headers).get("ETag")
        if etag and environ.get("HTTP_IF_NONE_MATCH") == etag:
            start_response(
                "304 NOT MODIFIED", [h for h in out if h[0] not in ("Content-Length", "Content-Type")]
            )
            return [b""]
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, '').upper()}", out)
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]

    def _lookup(self, environ):
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return None
        cookies = environ.get("HTTP_COOKIE", "")
        if self.session_cookie in cookies:
            return None
        peek = self.app.extensions.get("page_cache_peek")
        cache = self.app.extensions.get("page_cache")
        if peek is None or cache is None:
            return None
        version = peek(self.interval)
        if version is None:
            return None
        path = environ.get("PATH_INFO", "") or "/"
        path = path.encode("latin-1").decode("utf-8", "replace")
        query = environ.get("QUERY_STRING", "").encode("latin-1").decode("utf-8", "replace")  # WSGI strings
        pairs = parse_qsl(query, keep_blank_values=True)
        if _sets_preference(dict(pairs)):  # the app must answer: it sets the cookie
            return None
        cookie_map = parse_cookie(cookies) if cookies else {}
        display = cache_display(path, cookie_map, {}, environ.get("HTTP_ACCEPT_LANGUAGE"))
        args = tuple(sorted(pairs))
        hit = cache.get((version, display, path, args))
        if hit is not None and access_log.isEnabledFor(logging.INFO):
            access_log.info("%s %s %s", environ.get("REQUEST_METHOD"), path, hit[1], extra={"cache": "micro"})
        return hit


def _sets_preference(args) -> bool:
    """A ``?lang=``/``?elder=`` link: its answer sets a cookie, so it is never served from the cache."""
    return "lang" in args or "elder" in args


def _vary(stored: str | None) -> str:
    parts = [p.strip() for p in (stored or "").split(",") if p.strip()]
    return ", ".join([*parts, "Cookie"] if "Cookie" not in parts else parts)


def _content_type(mimetype: str) -> str:
    return f"{mimetype}; charset=utf-8" if mimetype.startswith("text/") else mimetype
