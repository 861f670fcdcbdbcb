"""The catalog version an application was filed under, and its guide: every later step reads the
item as it was when the citizen applied (DESIGN §2: applications are pinned to their version)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Row

from applications.models import Application
from catalog.guide import Guide, build_guide
from catalog.models import ItemVersion
from catalog.queries import ItemView, catalog, version_by_id
from core.db import db
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


def item_names(apps: Iterable[Application | Row]) -> dict[int, str]:
    """Version id → item name for these applications, or rows with their ``version_id`` (the worker's
    catalog snapshot, and one query for versions since superseded): the lists of 我的办件 and 我的数据."""
    names = {i.version_id: i.name for i in catalog().items.values()}
    missing = {a.version_id for a in apps} - set(names)
    if missing:
        rows = db.session.execute(select(ItemVersion.id, ItemVersion.name).where(ItemVersion.id.in_(missing)))
        names.update(dict(rows.all()))
    return names


def guide_for(app: Application, item: ItemView | None = None) -> Guide:
    return build_guide(item or pinned_item(app), app.answers or {})
