"""The one commit helper: one transaction per request, committed by the view after the operation.

A view parses its input, then::

    with transaction(form) as tx:
        ops.do_something(...)
    if tx.ok:
        return redirect(...)
    return render_template(..., form=form), 422

The block's end commits through :func:`commit`, which first runs the app's *commit steps* — the one
"after change" step of the house: :mod:`applications.stats` registers the roll-up refresh there, and
operations say explicitly what they changed (``rollup.changing(app)``), so reading an operation
tells the whole story and no ORM listener works behind it. CLI commands and the demo simulator
commit with :func:`commit` too.

Any exception rolls the session back. A :class:`~core.errors.DomainError` (a rule said no) is caught
and kept on ``tx.error``: a :class:`~core.errors.FieldError` naming a field of ``form`` is shown at
that field, any other one among the form's own errors (``form_errors``, which the form macro lists
above the fields); without a form the caller shows ``tx.message`` itself.
:class:`~core.errors.NotFound` and every other exception are re-raised after the rollback (a 404, or
a 500 page). Operations never commit; nothing else in a request does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from core.db import db
from core.errors import DomainError, FieldError, NotFound

CommitStep = Callable[[Session], None]
_STEPS = "portal.commit_steps"


def add_commit_step(app: Flask, step: CommitStep) -> None:
    """Run ``step(session)`` before every :func:`commit` of ``app`` (idempotent). A step does the
    derived writes that the operations of the transaction asked for, in the same transaction; it
    returns at once when nothing was asked."""
    steps: list[CommitStep] = app.extensions.setdefault(_STEPS, [])
    if step not in steps:
        steps.append(step)


def commit(session: Session | None = None) -> None:
    """Flush, run the commit steps, commit: the one way a request, a command or the simulator commits."""
    session = session if session is not None else db.session
    if has_app_context():
        steps: list[CommitStep] = current_app.extensions.get(_STEPS, [])
        if steps:
            session.flush()
            for step in steps:
                step(session)
    session.commit()


@dataclass
class Transaction:
    """What happened to the block: committed (``ok``), or refused with ``error``."""

    ok: bool = False
    error: DomainError | None = None

    @property
    def message(self) -> str:
        """The refusal, translated (empty when the block committed)."""
        if self.error is None:
            return ""
        return _(getattr(self.error, "message", None) or str(self.error))


@contextmanager
def transaction(form: Any = None) -> Iterator[Transaction]:
    """Commit after the block, or roll back; see the module docstring for what is caught."""
    tx = Transaction()
    try:
        yield tx
        commit()  # inside: a commit that fails (a lost race, the database gone) rolls back too
    except NotFound:
        db.session.rollback()
        raise
    except DomainError as exc:
        db.session.rollback()
        tx.error = exc
        if form is not None:
            show_error(form, exc)
        return
    except BaseException:
        db.session.rollback()
        raise
    tx.ok = True


def show_error(form: Any, exc: DomainError) -> None:
    """Put the refusal next to its field, or among the form's own errors."""
    message = _(getattr(exc, "message", None) or str(exc))
    field = getattr(form, exc.field, None) if isinstance(exc, FieldError) else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, message]
    else:
        form.form_errors.append(message)
