"""The catalog version an application was filed under, and its guide: every later step reads the
item as it was when the citizen applied (DESIGN §2: applications are pinned to their version)."""

from __future__ import annotations

from applications.models import Application
from catalog.guide import Guide, build_guide
from catalog.queries import ItemView, catalog, version_by_id
from core.errors import NotFound


def pinned_item(app: Application) -> ItemView:
    """The item version the application was filed under (never a later one).

    Usually that is the version in the worker's catalog snapshot (no query); an application filed
    under a version since superseded is loaded from the database.
    """
    view = catalog().by_version(app.version_id) or version_by_id(app.version_id)
    if view is None:  # pragma: no cover - foreign key guarantees it
        raise NotFound()
    return view


def guide_for(app: Application, item: ItemView | None = None) -> Guide:
    return build_guide(item or pinned_item(app), app.answers or {})
