"""A short per-worker memory of the accounts behind session cookies: the revocation check, bounded.

Every logged-in request used to load its user (with the units) from the database to compare the
cookie's session token with the account's. A worker now keeps what it loaded, keyed by the cookie's
``<id>:<token>``, for ``SESSION_CHECK_SECONDS`` (default 3) and re-attaches a copy to the request's
session without a query (``merge(load=False)``).

What this allows, and no more:

- a cookie that was revoked (logout, 退出所有设备, a password change or reset, an account disabled or
  deleted) **in another worker** keeps working in this one for at most ``SESSION_CHECK_SECONDS``;
  other changes to the account made there (its role, units, level, mobile) show within the same bound;
- in the worker that made the change, nothing at all: any request that may change state (not GET,
  HEAD or OPTIONS) empties this worker's memory when it ends;
- the person's own changes show on their next request in every worker: such a request (and a GET view
  marked ``writes_on_get``, e.g. reading one's messages) also renews a counter in their session
  (``_uv``), which is part of the key.

:func:`per_session` keeps, under the same rules, what a page shows about the person on every request
(the 消息 badge: a new message shows within the bound, messages one has read stop counting at once;
a clerk queue's "我的" count).

:func:`shared` keeps what several people's pages show alike (a unit's queue counts) once per worker for
everyone, for the same bound; a person who has written since it was worked out gets it afresh, so their
own work shows at once in every worker (the session records when they last wrote, ``_wt``).

``SESSION_CHECK_SECONDS = 0`` turns the memory off (every request loads the account, as before).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, request, session
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from core import clock
from core.db import db
from core.memo import TimedMemory

#: The default bound, in seconds, on how long a revoked session stays usable in another worker.
DEFAULT_SECONDS = 3.0
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")


def _detached_copy(user):
    """A copy of ``user`` (and its loaded units) that belongs to no session."""
    scratch = Session()
    try:
        copy = scratch.merge(user, load=False)
        scratch.expunge_all()
    finally:
        scratch.close()
    return copy


def _memory(name: str) -> TimedMemory | None:
    """This app's memory ``name`` (built by :func:`init_app`); None when ``SESSION_CHECK_SECONDS`` is 0.

    ``session_cache``: (cookie token, session counter) → a detached copy of the loaded user, and
    (name, cookie token, session counter) → a value about the person (see :func:`per_session`);
    ``shared_cache``: a key several people's pages name alike → a value (see :func:`shared`)."""
    memory = current_app.extensions[name]
    return memory if memory.seconds > 0 else None


def remembered(token: str):
    """The user of cookie ``token`` as this worker checked it less than the bound ago, attached to the
    request's database session; None when not remembered (then load it and :func:`remember` it)."""
    cache = _memory("session_cache")
    if cache is None:
        return None
    copy = cache.get((token, session.get("_uv")))
    if copy is None:
        return None
    if inspect(copy).key in db.session.identity_map:  # already loaded in this session: use that one
        return None
    return db.session.merge(copy, load=False)


def remember(token: str, user) -> None:
    cache = _memory("session_cache")
    if cache is not None:
        cache.put((token, session.get("_uv")), _detached_copy(user))


def per_session(name: str, compute: Callable[[], T]) -> T:
    """``compute()`` — something about the logged-in person that a page shows on every request (the 消息
    badge's unread count) — worked out at most once per ``SESSION_CHECK_SECONDS`` in this worker, under
    the same rules as the session check: the person's own writes (and a GET view marked
    ``writes_on_get``, such as reading the messages) show at once; what others did, within the bound."""
    cache = _memory("session_cache")
    token = session.get("_user_id")
    if cache is None or token is None or _writes():  # a write request shows what it leaves
        return compute()
    key = (name, token, session.get("_uv"))
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.put(key, value)
    return value


def shared(key: tuple, compute: Callable[[], T]) -> T:
    """``compute()`` — something several people's pages show alike, such as the counts of a unit's queue
    — worked out at most once per ``SESSION_CHECK_SECONDS`` in this worker and shared by everyone whose
    request names the same ``key``. Unlike :func:`per_session` a write does not empty it (a busy unit's
    clerks claim every few seconds); instead a person who has written since it was worked out gets it
    afresh: their own claims and decisions show at once in every worker, other people's within the bound.
    (The comparison uses the workers' clocks, so it assumes they agree to well within the bound.)"""
    cache = _memory("shared_cache")
    if cache is None:
        return compute()
    entry = cache.entry(key)
    if entry is not None and not _writes() and entry[0] > session.get("_wt", 0):
        return entry[1]
    value = compute()
    cache.put(key, value)
    return value


def forget_after_writes(response):
    """``after_request``: a request that may have changed an account empties this worker's memory, and
    the person's next request is checked afresh in every worker (their ``_uv`` changes)."""
    if not _writes():
        return response
    cache = current_app.extensions.get("session_cache")
    if cache is not None and len(cache):
        cache.clear()
    if "_user_id" in session:
        session["_uv"] = (session.get("_uv") or 0) % 1_000_000 + 1
        # when they last wrote (see shared), in milliseconds rounded up: never earlier than the write
        session["_wt"] = math.ceil(clock.now().timestamp() * 1000) / 1000
    return response


def _writes() -> bool:
    """This request may change state: not GET, HEAD or OPTIONS, or a GET view marked ``writes_on_get``."""
    if request.method not in SAFE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "writes_on_get", False))


def init_app(app: Flask) -> None:
    """Build the worker's two memories, bounded by ``SESSION_CHECK_SECONDS``, and empty them after
    writes."""
    seconds = float(app.config.get("SESSION_CHECK_SECONDS", DEFAULT_SECONDS))
    app.extensions["session_cache"] = TimedMemory(seconds)
    app.extensions["shared_cache"] = TimedMemory(seconds)
    app.after_request(forget_after_writes)
