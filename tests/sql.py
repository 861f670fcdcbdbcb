"""The SQL the engine sends while a block runs, for tests that count statements or read a statement's
query plan."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event

from core.db import db


@contextmanager
def sql_sent(
    app: Flask | None = None, where: str | Callable[[str], bool] | None = None
) -> Iterator[list[tuple[str, Any]]]:
    """Collect ``(statement, parameters)`` for each statement the engine of ``app`` (by default the
    current app's) sends inside the block, as the driver gets them; only those containing ``where``
    when it is a string, or for which it is true when it is a function."""
    if app is not None:
        with app.app_context():
            engine = db.engine
    else:
        engine = db.engine
    keep = (lambda statement: where in statement) if isinstance(where, str) else where
    sent: list[tuple[str, Any]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if keep is None or keep(statement):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", before)
