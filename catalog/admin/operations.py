"""Catalog editing use cases for admins: drafts, their parts, publishing, retiring, bundles and the
working-day calendar. Plain arguments in, models out, domain errors raised; ``flush()``, never
commit. Every change is audited as ``service_item``/<code> with ``{"before": …, "after": …}``.

Edits only ever touch a draft version: the published version (and every superseded one an
application may be pinned to) is never rewritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from auth.models import Unit, UnitKind
from catalog import english
from catalog.admin.checks import OtherItem, Problem, flow_breaks, publish_problems
from catalog.admin.io import money, version_record
from catalog.admin.queries import published_flows_using
from catalog.loader import _canonical_hash, bump_revision, search_aliases
from catalog.models import (
    Bundle,
    BundleItem,
    Category,
    DocumentRequirement,
    ExternalDepartment,
    FormField,
    ItemStatus,
    ItemVersion,
    ServiceItem,
    Situation,
    SituationOption,
    VersionState,
)
from catalog.search import build_entry, search_text
from core import audit
from core.db import db, utcnow
from core.errors import DomainError, FieldError
from core.i18n import N_
from core.workdays.models import CalendarOverride, note_day_changed

PARTS = ("documents", "situations", "fields")


class PublishRefused(DomainError):
    """The draft breaks publish rules; ``problems`` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("；".join(p.message for p in problems))
        self.problems = problems


def _audit(action: str, item: ServiceItem, before: Any, after: Any, **extra: Any) -> None:
    audit.record(
        action,
        object_type="service_item",
        object_id=item.code,
        details={"before": before, "after": after, **extra},
    )


# Reading -----------------------------------------------------------------------------------------


def get_item(code: str) -> ServiceItem | None:
    return db.session.scalar(select(ServiceItem).where(ServiceItem.code == code))


def version_in(item: ServiceItem, state: VersionState) -> ItemVersion | None:
    return db.session.scalar(
        select(ItemVersion).where(ItemVersion.item_id == item.id, ItemVersion.state == state)
    )


def version_number(item: ServiceItem, number: int) -> ItemVersion | None:
    return db.session.scalar(
        select(ItemVersion)
        .where(ItemVersion.item_id == item.id, ItemVersion.version == number)
        .options(
            selectinload(ItemVersion.documents),
            selectinload(ItemVersion.fields),
            selectinload(ItemVersion.situations).selectinload(Situation.options),
        )
    )


def working_version(item: ServiceItem) -> ItemVersion | None:
    """What the editor shows: the draft if there is one, else the published (or latest) version."""
    return (
        version_in(item, VersionState.DRAFT)
        or version_in(item, VersionState.PUBLISHED)
        or db.session.scalar(
            select(ItemVersion).where(ItemVersion.item_id == item.id).order_by(ItemVersion.version.desc())
        )
    )


def record_of(version: ItemVersion, item: ServiceItem) -> dict[str, Any]:
    category = db.session.get(Category, version.category_id)
    return version_record(version, item.code, category.code if category else "")


def missing_english(item: ServiceItem, version: ItemVersion) -> list[str]:
    """What a foreigner-facing version has no English for (empty for other items): the editor shows
    it and publishing warns about it, without refusing (the English page falls back to Chinese)."""
    if not version.foreigner_facing:
        return []
    rec = record_of(version, item)
    return english.missing_english({**rec, "english": rec.get("en") or {}})


def other_items(exclude_id: int | None = None) -> list[OtherItem]:
    """Every other item's published (or, never published, latest) name and aliases."""
    rows = db.session.execute(
        select(ServiceItem.id, ServiceItem.code, ItemVersion.name, ItemVersion.aliases)
        .join(ItemVersion, ItemVersion.item_id == ServiceItem.id)
        .where(ItemVersion.state == VersionState.PUBLISHED, ServiceItem.status != ItemStatus.RETIRED)
    ).all()
    return [OtherItem(r.id, r.code, r.name, tuple(r.aliases or ())) for r in rows if r.id != exclude_id]


# Drafts ------------------------------------------------------------------------------------------


class StaleDraft(DomainError):
    """The draft changed after the admin's page was drawn: saving would overwrite the other change."""


def draft_token(item: ServiceItem) -> str:
    """What the editor's pages send back with every change: the working version's number and a digest
    of its whole record (fields, documents, situations, form fields). Any change by anyone — and a
    draft discarded or published in between — gives another token."""
    version = working_version(item)
    if version is None:
        return ""
    return f"{version.version}-{_canonical_hash(record_of(version, item))[:20]}"


def lock_for_edit(item: ServiceItem, token: str | None) -> None:
    """Start a change to ``item``'s draft: take the item's row lock (PostgreSQL; a POST on SQLite
    already holds the write lock), so concurrent edits of one item run one after the other, then
    compare ``token`` — when the request brought one — with the draft as it is now.

    Raises :class:`StaleDraft` if another change came in since the page was drawn. A request without
    a token (a script, the API of tomorrow) changes the draft unconditionally, as an HTTP PUT without
    If-Match does."""
    _lock_row(ServiceItem, item.id)
    if token and token != draft_token(item):
        raise StaleDraft("该草稿在您打开页面后已被其他管理员修改")


def _lock_row(model: type[ServiceItem] | type[Bundle] | type[ExternalDepartment], row_id: int) -> None:
    """Take ``row_id``'s row lock (``SELECT … FOR UPDATE``; SQLite's write lock already serialises a
    POST), then forget what this request loaded, so it reads what the lock's last holder committed."""
    db.session.execute(select(model.id).where(model.id == row_id).with_for_update())
    db.session.expire_all()


def _copy(src: ItemVersion, number: int) -> ItemVersion:
    skip = {"id", "item_id", "version", "state", "created_at", "published_at", "source_hash"}
    columns = [c.key for c in ItemVersion.__table__.columns if c.key not in skip]
    draft = ItemVersion(
        item_id=src.item_id,
        version=number,
        state=VersionState.DRAFT,
        **{c: _clone(getattr(src, c)) for c in columns},
    )
    for d in src.documents:
        draft.documents.append(
            DocumentRequirement(
                position=d.position,
                name=d.name,
                form=d.form,
                copies=d.copies,
                requirement=d.requirement,
                source=d.source,
                issuer=d.issuer,
                notes=d.notes,
                accept=list(d.accept or []),
                condition=_clone(d.condition or {}),
                blank_form=d.blank_form,
                sample=d.sample,
            )
        )
    for s in src.situations:
        sit = Situation(position=s.position, key=s.key, question=s.question)
        for o in s.options:
            sit.options.append(SituationOption(position=o.position, value=o.value, label=o.label, fee=o.fee))
        draft.situations.append(sit)
    for f in src.fields:
        draft.fields.append(
            FormField(
                position=f.position,
                key=f.key,
                label=f.label,
                type=f.type,
                required=f.required,
                options=list(f.options or []),
                help=f.help,
                condition=_clone(f.condition or {}),
            )
        )
    return draft


def _clone(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def ensure_draft(item: ServiceItem) -> ItemVersion:
    """The item's draft, created on first edit as a copy of the published version (documents,
    situations with options, form fields). Raises :class:`DomainError` for an item with no version."""
    draft = version_in(item, VersionState.DRAFT)
    if draft is not None:
        return draft
    src = working_version(item)
    if src is None:
        raise DomainError("该事项没有任何版本")
    latest = (
        db.session.scalar(select(func.max(ItemVersion.version)).where(ItemVersion.item_id == item.id)) or 0
    )
    draft = _copy(src, latest + 1)
    db.session.add(draft)
    db.session.flush()
    _audit("catalog.draft_create", item, None, {"version": draft.version}, based_on=src.version)
    return draft


def discard_draft(item: ServiceItem) -> None:
    draft = version_in(item, VersionState.DRAFT)
    if draft is None:
        raise DomainError("没有草稿可以放弃")
    before = record_of(draft, item)
    number = draft.version
    db.session.delete(draft)
    db.session.flush()
    _audit("catalog.draft_discard", item, before, None, version=number)


def create_item(*, code: str, name: str, category: Category, values: dict[str, Any]) -> ServiceItem:
    """A new item (status draft) with a first draft version; nothing is public until published.
    Raises :class:`FieldError` for a code already in use."""
    if get_item(code) is not None:
        raise FieldError("code", "该事项编码已存在")
    item = ServiceItem(code=code, status=ItemStatus.DRAFT)
    db.session.add(item)
    db.session.flush()
    version = ItemVersion(
        item_id=item.id, version=1, state=VersionState.DRAFT, name=name, category_id=category.id
    )
    for key, value in values.items():
        setattr(version, key, value)
    _refresh_search(version, code)
    db.session.add(version)
    db.session.flush()
    _audit("catalog.item_create", item, None, record_of(version, item))
    return item


def _refresh_search(version: ItemVersion, code: str) -> None:
    version.search_text = search_text(
        build_entry(
            code,
            version.name,
            search_aliases({"aliases": version.aliases or [], "english": version.english or {}}),
            version.description,
        )
    )


ITEM_FIELDS = (
    "name",
    "aliases",
    "category_id",
    "item_type",
    "unit_kind",
    "legal_basis",
    "conditions",
    "description",
    "legal_days",
    "promised_days",
    "day_kind",
    "instant",
    "min_assurance",
    "fee",
    "fee_note",
    "visits",
    "visit_reason",
    "online_depth",
    "delivery",
    "result_name",
    "e_certificate",
    "proxy_allowed",
    "counters",
    "hours",
    "phone",
    "complaint_phone",
    "popular",
    "faq",
    "foreigner_facing",
    "english",
)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money(value)
    if hasattr(value, "value"):
        return value.value
    return value


def update_item(item: ServiceItem, values: dict[str, Any]) -> ItemVersion:
    """Set the item-level fields of the draft (created when missing); audits the changed ones."""
    draft = ensure_draft(item)
    before, after = {}, {}
    for key in ITEM_FIELDS:
        if key not in values:
            continue
        old, new = getattr(draft, key), values[key]
        if key == "fee":
            new = Decimal(new or 0).quantize(Decimal("0.01"))
        if key == "delivery":  # keep the order the item had: a save that changes nothing changes nothing
            kept = [d for d in (old or []) if d in new]
            new = kept + [d for d in new if d not in kept]
        if _plain(old) != _plain(new):
            before[key], after[key] = _plain(old), _plain(new)
            setattr(draft, key, new)
    if before:
        _refresh_search(draft, item.code)
        db.session.flush()
        _audit("catalog.item_update", item, before, after, version=draft.version)
    return draft


# Parts: documents, situations, form fields -------------------------------------------------------


def _part_list(draft: ItemVersion, kind: str) -> list:
    if kind not in PARTS:
        raise ValueError(kind)
    return getattr(draft, kind)


def part_record(obj: Any) -> dict[str, Any]:
    if isinstance(obj, DocumentRequirement):
        return {
            "name": obj.name,
            "form": _plain(obj.form),
            "copies": obj.copies,
            "requirement": _plain(obj.requirement),
            "source": _plain(obj.source),
            "issuer": obj.issuer,
            "notes": obj.notes,
            "accept": list(obj.accept or []),
            "when": dict(obj.condition or {}),
            "blank_form": obj.blank_form,
            "sample": obj.sample,
        }
    if isinstance(obj, Situation):
        return {
            "key": obj.key,
            "question": obj.question,
            "options": [{"value": o.value, "label": o.label, "fee": money(o.fee)} for o in obj.options],
        }
    return {
        "key": obj.key,
        "label": obj.label,
        "type": _plain(obj.type),
        "required": obj.required,
        "options": list(obj.options or []),
        "help": obj.help,
        "when": dict(obj.condition or {}),
    }


def _renumber(parts: list) -> None:
    for pos, p in enumerate(parts):
        p.position = pos


def _assign(obj: Any, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if key == "options" and isinstance(obj, Situation):
            existing = {o.value: o for o in obj.options}
            obj.options.clear()
            db.session.flush()
            for pos, (val, lab, fee) in enumerate(value):
                obj.options.append(SituationOption(position=pos, value=val, label=lab, fee=fee))
            del existing
        else:
            setattr(obj, key, value)


def _new_part(kind: str, values: dict[str, Any]) -> Any:
    if kind == "documents":
        return DocumentRequirement(**values)
    if kind == "situations":
        options = values.pop("options", [])
        sit = Situation(**values)
        for pos, (val, lab, fee) in enumerate(options):
            sit.options.append(SituationOption(position=pos, value=val, label=lab, fee=fee))
        return sit
    return FormField(**values)


def _unique_key(parts: list, kind: str, key: str | None, skip: Any = None) -> None:
    if kind != "documents" and any(p.key == key and p is not skip for p in parts):
        raise FieldError("key", "同一事项内的键不能重复")


def add_part(item: ServiceItem, kind: str, values: dict[str, Any]) -> int:
    """Append a document requirement, situation or form field to the draft; returns its index."""
    draft = ensure_draft(item)
    parts = _part_list(draft, kind)
    _unique_key(parts, kind, values.get("key"))
    obj = _new_part(kind, dict(values))
    obj.position = len(parts)
    parts.append(obj)
    db.session.flush()
    _audit(f"catalog.{kind}_add", item, None, part_record(obj), version=draft.version, index=len(parts) - 1)
    return len(parts) - 1


def update_part(item: ServiceItem, kind: str, index: int, values: dict[str, Any]) -> None:
    draft = ensure_draft(item)
    parts = _part_list(draft, kind)
    obj = _at(parts, index)
    _unique_key(parts, kind, values.get("key"), skip=obj)
    before = part_record(obj)
    _assign(obj, dict(values))
    db.session.flush()
    after = part_record(obj)
    if before != after:
        _audit(f"catalog.{kind}_update", item, before, after, version=draft.version, index=index)


def remove_part(item: ServiceItem, kind: str, index: int) -> None:
    draft = ensure_draft(item)
    parts = _part_list(draft, kind)
    obj = _at(parts, index)
    before = part_record(obj)
    parts.remove(obj)
    _renumber(parts)
    db.session.flush()
    _audit(f"catalog.{kind}_remove", item, before, None, version=draft.version, index=index)


def move_part(item: ServiceItem, kind: str, index: int, step: int) -> int:
    """Move one part up (``step=-1``) or down (``+1``); returns its new index."""
    draft = ensure_draft(item)
    parts = _part_list(draft, kind)
    obj = _at(parts, index)
    target = max(0, min(len(parts) - 1, index + step))
    if target == index:
        return index
    before = [_label(p) for p in parts]
    parts.remove(obj)
    parts.insert(target, obj)
    _renumber(parts)
    db.session.flush()
    _audit(f"catalog.{kind}_reorder", item, before, [_label(p) for p in parts], version=draft.version)
    return target


def _label(p: Any) -> str:
    return p.name if isinstance(p, DocumentRequirement) else p.key


def _at(parts: list, index: int) -> Any:
    if not 0 <= index < len(parts):
        raise DomainError("该条目不存在")
    return parts[index]


# Publishing --------------------------------------------------------------------------------------


def check_draft(item: ServiceItem, draft: ItemVersion) -> list[Problem]:
    """Every publish problem of ``draft``, including the published 一件事 flows it would break."""
    rec = record_of(draft, item)
    problems = publish_problems(rec, item_id=item.id, others=other_items(item.id))
    return problems + flow_breaks(rec, published_flows_using(item.code))


def publish(item: ServiceItem) -> ItemVersion:
    """Make the draft the published version in the caller's transaction: the old published version
    becomes superseded (kept: applications stay pinned to it), the revision is bumped so every
    worker's cache rebuilds. Raises :class:`PublishRefused` with every problem; nothing changes."""
    draft = version_in(item, VersionState.DRAFT)
    if draft is None:
        raise DomainError("没有待发布的草稿")
    problems = check_draft(item, draft)
    if problems:
        raise PublishRefused(problems)
    current = version_in(item, VersionState.PUBLISHED)
    before = None
    if current is not None:
        before = {"version": current.version}
        current.state = VersionState.SUPERSEDED
        db.session.flush()  # the partial unique index: one published version per item
    record = record_of(draft, item)
    draft.state = VersionState.PUBLISHED
    draft.published_at = utcnow()
    draft.source_hash = _canonical_hash(record)
    _refresh_search(draft, item.code)
    status_before = item.status.value
    if item.status == ItemStatus.DRAFT:
        item.status = ItemStatus.PUBLISHED
    db.session.flush()
    bump_revision()
    _audit(
        "catalog.publish",
        item,
        before,
        {"version": draft.version, "status": item.status.value},
        status_before=status_before,
    )
    return draft


def retire(item: ServiceItem) -> None:
    """Hide the item from search, pages and new applications; filed applications keep their version.
    Refused (:class:`DomainError`, naming the bundles) while a published 一件事 flow has a step for it."""
    if item.status == ItemStatus.RETIRED:
        raise DomainError("该事项已停用")
    current = version_in(item, VersionState.PUBLISHED)
    if current is not None:
        breaks = flow_breaks(record_of(current, item), published_flows_using(item.code), retiring=True)
        if breaks:
            raise DomainError("；".join(p.message for p in breaks))
    before = item.status.value
    item.status = ItemStatus.RETIRED
    db.session.flush()
    bump_revision()
    _audit("catalog.retire", item, {"status": before}, {"status": "retired"})


def reinstate(item: ServiceItem) -> None:
    if item.status != ItemStatus.RETIRED:
        raise DomainError("该事项未停用")
    if version_in(item, VersionState.PUBLISHED) is None:
        raise DomainError("该事项没有已发布的版本，请先发布草稿")
    item.status = ItemStatus.PUBLISHED
    db.session.flush()
    bump_revision()
    _audit("catalog.reinstate", item, {"status": "retired"}, {"status": "published"})


# Bundles -----------------------------------------------------------------------------------------


def bundle_record(bundle: Bundle) -> dict[str, Any]:
    return {
        "name": bundle.name,
        "aliases": list(bundle.aliases or []),
        "description": bundle.description,
        "items": [bi.item.code for bi in bundle.items],
        "partners": list(bundle.partners or []),
    }


def bundle_token(bundle: Bundle) -> str:
    """The bundle's counterpart of :func:`draft_token`: a digest of its record."""
    return _canonical_hash(bundle_record(bundle))[:20]


def lock_bundle(bundle: Bundle, token: str | None) -> None:
    """As :func:`lock_for_edit`, for a bundle: its row lock, then the token check."""
    _lock_row(Bundle, bundle.id)
    if token and token != bundle_token(bundle):
        raise StaleDraft("该一件事在您打开页面后已被其他管理员修改")


def _bundle_items(item_codes: Iterable[str]) -> list[ServiceItem]:
    codes = list(dict.fromkeys(item_codes))
    if not codes:
        raise FieldError("items", "至少包含一个事项")
    found = {i.code: i for i in db.session.scalars(select(ServiceItem).where(ServiceItem.code.in_(codes)))}
    missing = [c for c in codes if c not in found]
    if missing:
        raise FieldError("items", "事项不存在：" + "、".join(missing))
    return [found[c] for c in codes]


def _bundle_changed(action: str, code: str, before: dict | None, after: dict | None) -> None:
    """What every bundle change does once flushed: the public pages see it, the trail records it."""
    bump_revision()
    audit.record(action, object_type="bundle", object_id=code, details={"before": before, "after": after})


def create_bundle(
    *,
    code: str,
    name: str,
    aliases: list[str],
    description: str,
    item_codes: Iterable[str],
    partners: list[str],
) -> Bundle:
    """A new 一件事, public at once. Raises :class:`FieldError` for a taken code or unknown items."""
    if db.session.scalar(select(Bundle.id).where(Bundle.code == code)) is not None:
        raise FieldError("code", "该编码已被其他一件事使用")
    items = _bundle_items(item_codes)
    bundle = Bundle(code=code, name=name, aliases=aliases, description=description, partners=partners)
    bundle.items = [BundleItem(item=item, position=pos) for pos, item in enumerate(items)]
    db.session.add(bundle)
    db.session.flush()
    _bundle_changed("catalog.bundle_create", code, None, bundle_record(bundle))
    return bundle


def delete_bundle(bundle: Bundle) -> None:
    """Remove a 一件事 (its items stay; applications never point at a bundle)."""
    before = bundle_record(bundle)
    db.session.delete(bundle)
    db.session.flush()
    _bundle_changed("catalog.bundle_delete", bundle.code, before, None)


def update_bundle(
    bundle: Bundle,
    *,
    name: str,
    aliases: list[str],
    description: str,
    item_codes: Iterable[str],
    partners: list[str],
) -> None:
    """Set a bundle's fields and its ordered items. Raises :class:`FieldError` for unknown codes."""
    items = _bundle_items(item_codes)
    before = bundle_record(bundle)
    bundle.name, bundle.aliases, bundle.description, bundle.partners = name, aliases, description, partners
    bundle.items.clear()
    db.session.flush()
    for pos, item in enumerate(items):
        bundle.items.append(BundleItem(item_id=item.id, position=pos))
    bundle.source_hash = ""
    db.session.flush()
    db.session.refresh(bundle)
    after = bundle_record(bundle)
    if before != after:
        _bundle_changed("catalog.bundle_update", bundle.code, before, after)


# Working-day calendar ----------------------------------------------------------------------------


def add_calendar_override(day: date, working: bool, note: str):
    """Declare ``day`` a working (or non-working) day whatever chinese-calendar says."""

    if db.session.scalar(select(CalendarOverride.id).where(CalendarOverride.day == day)):
        raise FieldError("day", "该日期已有调整记录，请先删除")
    row = CalendarOverride(day=day, working=working, note=note)
    db.session.add(row)
    db.session.flush()
    note_day_changed(db.session, day)
    audit.record(
        "calendar.override_add",
        object_type="calendar",
        object_id=day.isoformat(),
        details={"before": None, "after": {"working": working, "note": note}},
    )
    return row


def delete_calendar_override(override_id: int) -> None:

    row = db.session.get(CalendarOverride, override_id)
    if row is None:
        raise DomainError("该日期调整不存在")
    before = {"working": row.working, "note": row.note}
    day = row.day
    db.session.delete(row)
    db.session.flush()
    note_day_changed(db.session, day)
    audit.record(
        "calendar.override_delete",
        object_type="calendar",
        object_id=day.isoformat(),
        details={"before": before, "after": None},
    )


# Units ------------------------------------------------------------------------------------------

UNIT_FIELDS = ("name", "district", "parent_id", "address", "phone", "hours")


def create_unit(code: str, kind: UnitKind, values: dict) -> Unit:
    """Add a unit (counter hall, police station …); audited, the catalog revision bumped.
    Raises :class:`FieldError` for a code in use or a parent that does not exist."""
    if db.session.scalar(select(Unit.id).where(Unit.code == code)):
        raise FieldError("code", N_("该单位编码已存在"))
    unit = Unit(code=code, kind=kind, **{f: values.get(f) for f in UNIT_FIELDS})
    db.session.add(unit)
    db.session.flush()
    audit.record(
        "unit.create",
        object_type="unit",
        object_id=unit.code,
        details={"after": {"kind": kind.value, **{f: values.get(f) for f in UNIT_FIELDS}}},
    )
    bump_revision()
    return unit


def update_unit(unit: Unit, values: dict) -> None:
    """Change a unit's name, district, parent and contact details (code and kind are fixed once
    created); audited when anything changed. Raises :class:`FieldError` when the parent would make
    a cycle (the unit itself or one of its own subunits)."""
    if _creates_cycle(unit, values.get("parent_id")):
        raise FieldError("parent", N_("上级单位不能是本单位或其下级单位"))
    before = {f: getattr(unit, f) for f in UNIT_FIELDS}
    for f in UNIT_FIELDS:
        setattr(unit, f, values.get(f))
    after = {f: getattr(unit, f) for f in UNIT_FIELDS}
    if before != after:
        db.session.flush()
        audit.record(
            "unit.update", object_type="unit", object_id=unit.code, details={"before": before, "after": after}
        )
        bump_revision()


def _creates_cycle(unit: Unit, parent_id: int | None) -> bool:
    seen = {unit.id}
    while parent_id is not None:
        if parent_id in seen:
            return True
        seen.add(parent_id)
        parent_id = db.session.scalar(select(Unit.parent_id).where(Unit.id == parent_id))
    return False
