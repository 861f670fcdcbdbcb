"""Read side of the catalog: an immutable in-memory snapshot of everything published.

Each worker keeps one :class:`CatalogSnapshot`; at most once a second (``CATALOG_CHECK_SECONDS``) it
reads the one-row ``catalog_state.revision`` and rebuilds when another worker or the CLI changed the
catalog. Pages and the API read only the snapshot, so catalog pages run no per-item queries at all.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
from flask import current_app, g, has_request_context
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from auth.models import Unit
from catalog.loader import search_aliases
from catalog.models import (
    Bundle,
    BundleItem,
    CatalogState,
    Category,
    ItemStatus,
    ItemVersion,
    ServiceItem,
    Situation,
    VersionState,
)
from catalog.search import SearchIndex, build_entry
from core.db import db


@dataclass(frozen=True)
class OptionView:
    value: str
    label: str
    fee: Decimal | None


@dataclass(frozen=True)
class SituationView:
    key: str
    question: str
    options: tuple[OptionView, ...]

    def option(self, value: str | None) -> OptionView | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True)
class DocumentView:
    name: str
    form: str
    copies: int
    requirement: str
    source: str
    issuer: str
    notes: str
    accept: tuple[str, ...]
    condition: dict[str, tuple[str, ...]]
    position: int


@dataclass(frozen=True)
class FieldView:
    key: str
    label: str
    type: str
    required: bool
    options: tuple[str, ...]
    help: str
    condition: dict[str, tuple[str, ...]]
    #: English labels of ``options`` (the stored answer stays the option itself).
    option_labels: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def option_label(self, option: str) -> str:
        return self.option_labels.get(option, option)


@dataclass(frozen=True)
class CategoryView:
    code: str
    name: str
    description: str
    icon: str
    position: int


@dataclass(frozen=True)
class ItemView:
    """A published item version, everything a guide page or the API needs."""

    id: int
    version_id: int
    code: str
    version: int
    name: str
    aliases: tuple[str, ...]
    category: CategoryView
    item_type: str
    unit_kind: str
    legal_basis: str
    conditions: str
    description: str
    legal_days: int
    promised_days: int
    day_kind: str
    instant: bool
    min_assurance: int
    fee: Decimal
    fee_note: str
    visits: int
    visit_reason: str
    online_depth: int
    delivery: tuple[str, ...]
    result_name: str
    e_certificate: bool
    proxy_allowed: bool
    counters: str
    hours: str
    phone: str
    complaint_phone: str
    popular: bool
    faq: tuple[dict[str, Any], ...]
    situations: tuple[SituationView, ...]
    documents: tuple[DocumentView, ...]
    fields: tuple[FieldView, ...]
    foreigner_facing: bool = False
    english: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def zero_visit(self) -> bool:
        return self.visits == 0

    @property
    def fee_range(self) -> tuple[Decimal, Decimal] | None:
        """(lowest, highest) fee when situation answers change it, else None."""
        overrides = [o.fee for s in self.situations for o in s.options if o.fee is not None]
        if not overrides:
            return None
        # a question whose chosen option carries no fee leaves the item's own fee in force
        fees = set(overrides)
        if any(o.fee is None for s in self.situations for o in s.options):
            fees.add(self.fee)
        return (min(fees), max(fees)) if len(fees) > 1 else None

    @property
    def free(self) -> bool:
        return self.fee == 0 and all(o.fee in (None, Decimal(0)) for s in self.situations for o in s.options)


@dataclass(frozen=True)
class BundleView:
    code: str
    name: str
    aliases: tuple[str, ...]
    description: str
    partners: tuple[str, ...]
    item_codes: tuple[str, ...]
    english: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def in_english(self) -> BundleView:
        en = self.english
        return replace(
            self,
            name=en.get("name") or self.name,
            description=en.get("description") or self.description,
            partners=tuple(en.get("partners") or ()) or self.partners,
        )


@dataclass(frozen=True)
class UnitView:
    code: str
    name: str
    kind: str
    district: str | None
    address: str | None
    phone: str | None
    hours: str | None
    id: int | None = field(default=None, compare=False)


@dataclass
class CatalogSnapshot:
    revision: int
    categories: tuple[CategoryView, ...] = ()
    items: dict[str, ItemView] = field(default_factory=dict)
    bundles: dict[str, BundleView] = field(default_factory=dict)
    units: dict[str, UnitView] = field(default_factory=dict)
    index: SearchIndex = field(default_factory=lambda: SearchIndex([]))

    def unit_names(self) -> dict[int, str]:
        """Every unit's name by its id (the pages that name the unit handling an application), built once
        per snapshot: a renamed unit bumps the catalog revision like any other catalog change."""
        names = self.__dict__.get("_unit_names")
        if names is None:
            names = self.__dict__["_unit_names"] = {u.id: u.name for u in self.units.values()}
        return names

    def by_version(self, version_id: int) -> ItemView | None:
        """The published item whose current version is ``version_id`` (None when superseded)."""
        index = self.__dict__.get("_by_version")
        if index is None:
            index = self.__dict__["_by_version"] = {i.version_id: i for i in self.items.values()}
        return index.get(version_id)

    def category(self, code: str) -> CategoryView | None:
        return next((c for c in self.categories if c.code == code), None)

    def items_in(self, category_code: str) -> list[ItemView]:
        return [i for i in self.items.values() if i.category.code == category_code]

    def popular(self) -> list[ItemView]:
        return [i for i in self.items.values() if i.popular]

    def for_locale(self, code: str) -> CatalogSnapshot:
        """This snapshot with every item's text in ``code`` where it has it (English), else itself."""
        if code != "en":
            return self
        cached = self.__dict__.get("_english")
        if cached is None:
            from flask_babel import force_locale, gettext

            with force_locale("en"):
                cats = {
                    c.code: replace(c, name=gettext(c.name), description=gettext(c.description))
                    for c in self.categories
                }
            cached = self.__dict__["_english"] = replace(
                self,
                categories=tuple(cats[c.code] for c in self.categories),
                items={
                    k: replace(in_english(v), category=cats[v.category.code]) for k, v in self.items.items()
                },
                bundles={k: b.in_english() for k, b in self.bundles.items()},
            )
            cached.__dict__.pop("_by_version", None)
        return cached

    def search(self, query: str, limit: int | None = None):
        """Ranked (ItemView, Hit) pairs; bundles are indexed with a ``bundle:`` key prefix."""
        out = []
        for hit in self.index.search(query, limit=None):
            if hit.key in self.items:
                out.append((self.items[hit.key], hit))
        return out[:limit] if limit else out

    def item_entries(self):
        """A numpy mask over the search index's entries: True for an item (False for a bundle)."""
        mask = self.__dict__.get("_item_entries")
        if mask is None:
            mask = self.__dict__["_item_entries"] = np.asarray(
                [e.key in self.items for e in self.index.entries], dtype=bool
            )
        return mask

    def search_bundles(self, query: str) -> list[BundleView]:
        return [self.bundles[h.key[7:]] for h in self.index.search(query) if h.key.startswith("bundle:")]


def in_english(item: ItemView) -> ItemView:
    """The item with its English text where it has it, the Chinese elsewhere (catalog.english)."""
    en = item.english
    if not en:
        return item
    docs, sits, fields = en.get("documents") or {}, en.get("situations") or {}, en.get("fields") or {}
    return replace(
        item,
        name=en.get("name") or item.name,
        description=en.get("description") or item.description,
        conditions=en.get("conditions") or item.conditions,
        visit_reason=en.get("visit_reason") or item.visit_reason,
        result_name=en.get("result_name") or item.result_name,
        fee_note=en.get("fee_note") or item.fee_note,
        counters=en.get("counters") or item.counters,
        hours=en.get("hours") or item.hours,
        faq=tuple(en.get("faq") or ()) or item.faq,
        documents=tuple(
            replace(
                d,
                name=docs.get(d.name, {}).get("name") or d.name,
                notes=docs.get(d.name, {}).get("notes") or d.notes,
            )
            for d in item.documents
        ),
        situations=tuple(
            replace(
                s,
                question=sits.get(s.key, {}).get("question") or s.question,
                options=tuple(
                    replace(o, label=(sits.get(s.key, {}).get("options") or {}).get(o.value) or o.label)
                    for o in s.options
                ),
            )
            for s in item.situations
        ),
        fields=tuple(
            replace(
                f,
                label=fields.get(f.key, {}).get("label") or f.label,
                help=fields.get(f.key, {}).get("help") or f.help,
                option_labels=dict(fields.get(f.key, {}).get("options") or {}),
            )
            for f in item.fields
        ),
    )


def for_display(item: ItemView) -> ItemView:
    """``item`` as the visitor reads it: in English for an English page (where it has English), else
    as it is. For rendering only: operations keep the Chinese item (names are stored and matched)."""
    from flask_babel import get_locale

    return in_english(item) if has_request_context() and str(get_locale()) == "en" else item


def _cond(raw: dict | None) -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in (raw or {}).items()}


def version_view(v: ItemVersion, code: str, categories: dict[int, CategoryView]) -> ItemView:
    """Turn a loaded version (with children) into an immutable view."""
    return ItemView(
        id=v.item_id,
        version_id=v.id,
        code=code,
        version=v.version,
        name=v.name,
        aliases=tuple(v.aliases or ()),
        category=categories[v.category_id],
        item_type=v.item_type.value,
        unit_kind=v.unit_kind.value,
        legal_basis=v.legal_basis,
        conditions=v.conditions,
        description=v.description,
        legal_days=v.legal_days,
        promised_days=v.promised_days,
        day_kind=v.day_kind.value,
        instant=v.instant,
        min_assurance=v.min_assurance or 1,
        fee=Decimal(v.fee or 0),
        fee_note=v.fee_note,
        visits=v.visits,
        visit_reason=v.visit_reason,
        online_depth=v.online_depth,
        delivery=tuple(v.delivery or ()),
        result_name=v.result_name,
        e_certificate=v.e_certificate,
        proxy_allowed=v.proxy_allowed,
        counters=v.counters,
        hours=v.hours,
        phone=v.phone,
        complaint_phone=v.complaint_phone,
        popular=v.popular,
        faq=tuple(v.faq or ()),
        foreigner_facing=bool(v.foreigner_facing),
        english=dict(v.english or {}),
        situations=tuple(
            SituationView(s.key, s.question, tuple(OptionView(o.value, o.label, o.fee) for o in s.options))
            for s in v.situations
        ),
        documents=tuple(
            DocumentView(
                d.name,
                d.form.value,
                d.copies,
                d.requirement.value,
                d.source.value,
                d.issuer,
                d.notes,
                tuple(d.accept or ()),
                _cond(d.condition),
                d.position,
            )
            for d in v.documents
        ),
        fields=tuple(
            FieldView(
                f.key, f.label, f.type.value, f.required, tuple(f.options or ()), f.help, _cond(f.condition)
            )
            for f in v.fields
        ),
    )


def _version_loader():
    return (
        selectinload(ItemVersion.documents),
        selectinload(ItemVersion.fields),
        selectinload(ItemVersion.situations).selectinload(Situation.options),
    )


def _aliases(item: ItemView) -> list[str]:
    return search_aliases({"aliases": item.aliases, "english": item.english})


def build_snapshot(revision: int) -> CatalogSnapshot:
    """Load everything published in a fixed handful of queries (no N+1)."""
    categories = {
        c.id: CategoryView(c.code, c.name, c.description, c.icon, c.position)
        for c in db.session.scalars(select(Category).order_by(Category.position))
    }
    rows = db.session.execute(
        select(ItemVersion, ServiceItem.code)
        .join(ServiceItem, ServiceItem.id == ItemVersion.item_id)
        .where(ItemVersion.state == VersionState.PUBLISHED, ServiceItem.status == ItemStatus.PUBLISHED)
        .options(*_version_loader())
        .order_by(ServiceItem.code)
    ).all()
    items = {code: version_view(v, code, categories) for v, code in rows}
    bundles: dict[str, BundleView] = {}
    for b in db.session.scalars(
        select(Bundle).options(selectinload(Bundle.items).selectinload(BundleItem.item)).order_by(Bundle.code)
    ):
        codes = tuple(bi.item.code for bi in b.items if bi.item.code in items)
        bundles[b.code] = BundleView(
            b.code,
            b.name,
            tuple(b.aliases or ()),
            b.description,
            tuple(b.partners or ()),
            codes,
            dict(b.english or {}),
        )
    units = {
        u.code: UnitView(u.code, u.name, u.kind.value, u.district, u.address, u.phone, u.hours, u.id)
        for u in db.session.scalars(select(Unit).order_by(Unit.code))
    }
    entries = [build_entry(i.code, i.name, _aliases(i), i.description) for i in items.values()]
    entries += [
        build_entry(
            "bundle:" + b.code,
            b.name,
            search_aliases({"aliases": b.aliases, "english": b.english}),
            b.description,
        )
        for b in bundles.values()
    ]
    return CatalogSnapshot(
        revision=revision,
        categories=tuple(sorted(categories.values(), key=lambda c: c.position)),
        items=items,
        bundles=bundles,
        units=units,
        index=SearchIndex(entries),
    )


class CatalogCache:
    """Per-worker cache of the snapshot with a cheap, rate-limited revision check."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: CatalogSnapshot | None = None
        self._checked_at = 0.0

    def current_revision(self) -> int:
        return db.session.scalar(select(CatalogState.revision).where(CatalogState.id == 1)) or 0

    def get(self) -> CatalogSnapshot:
        interval = current_app.config.get("CATALOG_CHECK_SECONDS", 1.0)
        now = time.monotonic()
        snap = self._snapshot
        if snap is not None and now - self._checked_at < interval:
            return snap
        revision = self.current_revision()
        self._checked_at = now
        if snap is not None and snap.revision == revision:
            return snap
        with self._lock:
            if self._snapshot is None or self._snapshot.revision != revision:
                self._snapshot = build_snapshot(revision)
            return self._snapshot

    def invalidate(self) -> None:
        self._checked_at = 0.0

    def peek(self, interval: float) -> int | None:
        """The revision this worker checked less than ``interval`` seconds ago, without a query;
        None when the check is due (then a request must go through the app to refresh it)."""
        snap = self._snapshot
        if snap is None or time.monotonic() - self._checked_at >= interval:
            return None
        return snap.revision


def catalog() -> CatalogSnapshot:
    """The current published catalog for this worker, the same snapshot throughout a request (the
    page cache's key and the page it renders come from one revision, checked once)."""
    if has_request_context():
        if "catalog_snapshot" not in g:
            g.catalog_snapshot = current_app.extensions["catalog_cache"].get()
        return g.catalog_snapshot
    cache: CatalogCache = current_app.extensions["catalog_cache"]
    return cache.get()


def item_history(code: str) -> list[ItemVersion]:
    """Every version of an item, oldest first (for admins and pinned applications)."""
    return list(
        db.session.scalars(
            select(ItemVersion)
            .join(ServiceItem)
            .where(ServiceItem.code == code)
            .order_by(ItemVersion.version)
        )
    )


def version_by_id(version_id: int, categories: dict[int, CategoryView] | None = None) -> ItemView | None:
    """A specific (possibly superseded) version as a view: what an application was filed under."""
    row = db.session.execute(
        select(ItemVersion, ServiceItem.code)
        .join(ServiceItem, ServiceItem.id == ItemVersion.item_id)
        .where(ItemVersion.id == version_id)
        .options(*_version_loader())
    ).first()
    if row is None:
        return None
    if categories is None:
        categories = {
            c.id: CategoryView(c.code, c.name, c.description, c.icon, c.position)
            for c in db.session.scalars(select(Category))
        }
    return version_view(row[0], row[1], categories)


def item_facts(code: str):
    """What a bundle's publish check needs to know of an item, from its published version in the
    database (None when the item has none)."""
    from catalog.bundle_spec import ItemFacts

    item = db.session.scalar(select(ServiceItem).where(ServiceItem.code == code))
    if item is None:
        return None
    version = db.session.scalar(
        select(ItemVersion).where(ItemVersion.item_id == item.id, ItemVersion.state == VersionState.PUBLISHED)
    )
    if version is None:
        return None
    return ItemFacts(
        code=code,
        name=version.name,
        active=item.status == ItemStatus.PUBLISHED,
        fields=frozenset(f.key for f in version.fields),
        situations={s.key: frozenset(o.value for o in s.options) for s in version.situations},
        documents=frozenset(d.name for d in version.documents),
        delivery=tuple(version.delivery or ()),
    )
