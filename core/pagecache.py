"""A per-worker cache of whole pages for anonymous visitors.

Public pages (the catalog) are the same for every anonymous visitor, so a worker keeps the rendered
HTML keyed by (data version, locale, path, query) in a bounded LRU. Logged-in users, pending flash
messages and non-GET requests always render afresh. The data version (e.g. the catalog revision)
is part of the key, so a publish is seen as soon as the worker notices the new revision. Responses
are rebuilt from the stored body, so per-request headers (CSP nonce, cookies) stay per request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, make_response, request, session
from flask_login import current_user

from core.i18n import select_locale


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


_KEPT_HEADERS = {"Cache-Control", "ETag", "Vary", "Last-Modified"}


def anonymous_cache(version: Callable[[], Any], size: int = 2048) -> Callable:
    """Decorate a GET view whose output depends only on ``version()``, the locale and the URL.

    Each app keeps its own cache (``app.extensions['page_cache']``).
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            if request.method != "GET" or current_user.is_authenticated or session.get("_flashes"):
                return view(*args, **kwargs)
            cache = current_app.extensions.get("page_cache")
            if cache is None:
                cache = current_app.extensions.setdefault("page_cache", LRU(size))
            key = (
                version(),
                str(select_locale()),
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
