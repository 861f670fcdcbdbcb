"""Read helpers of the catalog editor: the admin's item list, filtered in SQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import aliased

from catalog.models import Category, ItemStatus, ItemVersion, ServiceItem, VersionState
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
