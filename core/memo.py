"""A worker's short memory: what a request worked out, kept for a few seconds for the requests after it.

Used for the account behind a session cookie and a unit's queue counts (:mod:`auth.sessioncache`) and
for the CSRF token signed for a session (:mod:`core.csrf_tokens`).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

from core import clock

#: The most keys one memory holds: a put into a full memory empties it first.
MAX_ENTRIES = 4096

V = TypeVar("V")


class TimedMemory(Generic[V]):
    """key → value, each given back for ``seconds`` after it was put, then forgotten. Thread-safe.

    Time is :func:`core.clock.now` (so ``clock.travel`` moves it too). A value put at a moment the clock
    now reads as still to come is not given back: its age cannot be told, and the bound must hold.
    Bounded: a memory of :data:`MAX_ENTRIES` keys is emptied by the next put, so a flood of new keys
    costs working things out again, never the worker's memory."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._data: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The value put under ``key`` less than ``seconds`` ago, or None."""
        entry = self.entry(key)
        return None if entry is None else entry[1]

    def entry(self, key: Hashable) -> tuple[float, V] | None:
        """(when it was put, as a POSIX timestamp; the value) for a value put under ``key`` less than
        ``seconds`` ago, or None: for a caller that must also know how old the value is."""
        entry = self._data.get(key)
        if entry is None:
            return None
        if not 0 <= clock.now().timestamp() - entry[0] < self.seconds:
            with self._lock:
                self._data.pop(key, None)
            return None
        return entry

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            if len(self._data) >= MAX_ENTRIES:
                self._data.clear()
            self._data[key] = (clock.now().timestamp(), value)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
