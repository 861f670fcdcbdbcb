"""Submitted 一件事 applications for the citizen-view tests, shaped as the bundle submit makes them
(:func:`demo.bundles.build_bundle`: parts of the published flow, police items' applications created
complete, the ones without prerequisites submitted and routed, the rest held as drafts), and the
clerk's and departments' moves that carry their parts on (through :mod:`applications.bundles.progress`)."""

from __future__ import annotations

from applications.bundles.models import BundleApplication
from applications.clerk import operations as clerk_ops
from applications.models import Application
from core.db import db
from core.storage import get_storage
from demo.bundles import BIRTH, NEW_CAR, approve_item, build_bundle, finish_handoff, part
from tests.clerk.helpers import citizen

__all__ = ["BIRTH", "NEW_CAR", "approve_item", "finish_handoff", "item_app", "part", "submitted_bundle"]


def submitted_bundle(code: str = BIRTH, applicant=None) -> BundleApplication:
    """A submitted bundle of ``code`` for the demo citizen (or ``applicant``), flushed."""
    return build_bundle(applicant or citizen(), code, get_storage())


def item_app(ba: BundleApplication, step_key: str) -> Application:
    return db.session.get(Application, part(ba, step_key).application_id)


def ask_correction(ba: BundleApplication, step_key: str, items: list[dict[str, str]]) -> Application:
    """The step's unit claims, accepts and asks for a correction listing ``items``."""
    from demo.bundles import _clerk_of

    app = item_app(ba, step_key)
    clerk = _clerk_of(app)
    clerk_ops.claim(app, clerk)
    clerk_ops.accept(app, clerk)
    clerk_ops.request_correction(app, clerk, items)
    db.session.flush()
    return app
