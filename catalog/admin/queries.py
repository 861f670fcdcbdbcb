"""Read helpers of the catalog editor: the admin's item list, filtered in SQL; the published 一件事 flows
an item or a department is part of."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import aliased

from catalog import bundle_spec
from catalog.models import Bundle, BundleVersion, Category, ItemStatus, ItemVersion, ServiceItem, VersionState
from core.db import db


@dataclass(frozen=True)
class ItemRow:
    item: ServiceItem
    version: ItemVersion
    category: Category
    has_draft: bool


def admin_items(
    *, q: str = "", category: str = "", status: str = "", depth: int | None = None, has_draft: str = ""
) -> list[ItemRow]:
    """Every item with its working version (the draft, else the published one, else the latest),
    filtered by the database: text in code, name or aliases (literal, not a wildcard), category code,
    status, online depth, and with / without a draft."""
    rank = func.row_number().over(
        partition_by=ItemVersion.item_id,
        order_by=(
            case(
                (ItemVersion.state == VersionState.DRAFT, 2),
                (ItemVersion.state == VersionState.PUBLISHED, 1),
                else_=0,
            ).desc(),
            ItemVersion.version.desc(),
        ),
    )
    working = select(ItemVersion.id.label("version_id"), rank.label("rank")).subquery()
    v = aliased(ItemVersion)
    draft = exists().where(
        and_(ItemVersion.item_id == ServiceItem.id, ItemVersion.state == VersionState.DRAFT)
    )
    stmt = (
        select(ServiceItem, v, Category, draft.label("has_draft"))
        .join(v, v.item_id == ServiceItem.id)
        .join(working, and_(working.c.version_id == v.id, working.c.rank == 1))
        .join(Category, Category.id == v.category_id)
        .order_by(ServiceItem.code)
    )
    if q:
        needle = q.lower()
        stmt = stmt.where(
            or_(
                func.lower(ServiceItem.code).contains(needle, autoescape=True),
                func.lower(v.name).contains(needle, autoescape=True),
                func.lower(cast(v.aliases, String)).contains(needle, autoescape=True),
            )
        )
    if category:
        stmt = stmt.where(Category.code == category)
    if status in {s.value for s in ItemStatus}:
        stmt = stmt.where(ServiceItem.status == ItemStatus(status))
    if depth:
        stmt = stmt.where(v.online_depth == depth)
    if has_draft in ("0", "1"):
        stmt = stmt.where(draft if has_draft == "1" else ~draft)
    return [ItemRow(i, ver, c, bool(d)) for i, ver, c, d in db.session.execute(stmt)]


@dataclass(frozen=True)
class PublishedFlow:
    """A bundle's published flow, parsed (:mod:`catalog.bundle_spec`)."""

    bundle_code: str
    bundle_name: str
    definition: Any


def _published_flows() -> list[tuple[str, str, dict]]:
    return [
        (r.code, r.name, r.definition or {})
        for r in db.session.execute(
            select(Bundle.code, Bundle.name, BundleVersion.definition)
            .join(BundleVersion, BundleVersion.bundle_id == Bundle.id)
            .where(BundleVersion.state == VersionState.PUBLISHED)
            .order_by(Bundle.code)
        )
    ]


def published_flows_using(item_code: str) -> list[PublishedFlow]:
    """The published 一件事 flows with a step for ``item_code`` (a flow that no longer parses is left
    out: its own publish checks answer for it)."""
    out = []
    for code, name, definition in _published_flows():
        try:
            defn = bundle_spec.parse(definition)
        except bundle_spec.DefinitionError:
            continue
        if any(s.item == item_code for s in defn.item_steps):
            out.append(PublishedFlow(code, name, defn))
    return out


def departments_in_use(department: str) -> list[tuple[str, str]]:
    """(code, name) of the bundles whose published flow hands a step to ``department``."""
    return [
        (code, name)
        for code, name, definition in _published_flows()
        if any(
            isinstance(s, dict) and s.get("kind") == "handoff" and s.get("department") == department
            for s in definition.get("steps") or []
        )
    ]


@dataclass(frozen=True)
class ItemOutline:
    """What a flow's author and its preview need of an item's published version."""

    code: str
    name: str
    active: bool
    fields: list[tuple[str, str, bool]]  # key, label, required
    situations: list[tuple[str, str, list[str]]]  # key, question, option values
    documents: list[str]
    #: when a field (by key) or a document (by name) applies: situation key → allowed values
    conditions: dict[str, dict[str, list[str]]]


def item_outlines(codes: list[str]) -> dict[str, ItemOutline]:
    """The published version of each item in ``codes`` (an item without one is left out)."""
    if not codes:
        return {}
    versions = db.session.scalars(
        select(ItemVersion)
        .join(ServiceItem, ServiceItem.id == ItemVersion.item_id)
        .where(ServiceItem.code.in_(codes), ItemVersion.state == VersionState.PUBLISHED)
    )
    out = {}
    for v in versions:
        out[v.item.code] = ItemOutline(
            code=v.item.code,
            name=v.name,
            active=v.item.status == ItemStatus.PUBLISHED,
            fields=[(f.key, f.label, f.required) for f in v.fields],
            situations=[(s.key, s.question, [o.value for o in s.options]) for s in v.situations],
            documents=[d.name for d in v.documents],
            conditions={
                **{d.name: dict(d.condition or {}) for d in v.documents},
                **{f.key: dict(f.condition or {}) for f in v.fields},
            },
        )
    return out
