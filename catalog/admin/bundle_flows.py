"""一件事 flows and external departments in the catalog editor: the write use cases and the publish checks
that need the database. Plain arguments in, models out, domain errors raised; ``flush()``, never commit.

A bundle's flow is versioned like an item (:class:`catalog.models.BundleVersion`): an admin edits one
draft (at most one per bundle), previews it, and publishes it — the published version is superseded by
:func:`catalog.loader.publish_flow`, the same step ``flask catalog load`` uses — or discards it. Bundle
applications stay pinned to the version they were filed under, so a published version is never
rewritten. Every change is audited as ``bundle``/<code> (departments as ``department``/<code>) with
``{"before": …, "after": …}``, like every other catalog change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from catalog import bundle_spec
from catalog.admin.operations import StaleDraft, _lock_row
from catalog.admin.queries import ItemOutline, departments_in_use
from catalog.loader import _canonical_hash, bump_revision, publish_flow
from catalog.models import Bundle, BundleVersion, ExternalDepartment, VersionState
from catalog.queries import item_facts
from core import audit
from core.db import db
from core.errors import DomainError, FieldError
from core.i18n import N_

#: what the editor shows for a bundle with no flow yet (a save needs at least one step)
EMPTY_DEFINITION: dict[str, Any] = {"questions": [], "situations": [], "documents": [], "steps": []}


class FlowPublishRefused(DomainError):
    """The draft may not be published; ``problems`` lists every reason (Chinese sentences)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("；".join(problems))
        self.problems = problems


def _audit(action: str, bundle: Bundle, before: Any, after: Any, **extra: Any) -> None:
    audit.record(
        action,
        object_type="bundle",
        object_id=bundle.code,
        details={"before": before, "after": after, **extra},
    )


# Reading -----------------------------------------------------------------------------------------


def flow_version(bundle: Bundle, state: VersionState) -> BundleVersion | None:
    return db.session.scalar(
        select(BundleVersion).where(BundleVersion.bundle_id == bundle.id, BundleVersion.state == state)
    )


def flow_number(bundle: Bundle, number: int) -> BundleVersion | None:
    return db.session.scalar(
        select(BundleVersion).where(BundleVersion.bundle_id == bundle.id, BundleVersion.version == number)
    )


def working_flow(bundle: Bundle) -> BundleVersion | None:
    """What the flow editor shows: the draft, else the published version, else None (no flow yet)."""
    return flow_version(bundle, VersionState.DRAFT) or flow_version(bundle, VersionState.PUBLISHED)


def flow_versions(bundle: Bundle) -> list[BundleVersion]:
    return list(
        db.session.scalars(
            select(BundleVersion)
            .where(BundleVersion.bundle_id == bundle.id)
            .order_by(BundleVersion.version.desc())
        )
    )


def flow_token(bundle: Bundle) -> str:
    """What the flow editor's forms send back: the working version's number and a digest of its
    definition. A save, discard or publish by anyone in between gives another token."""
    version = working_flow(bundle)
    if version is None:
        return "none"
    return f"{version.version}-{_canonical_hash(version.definition)[:20]}"


def lock_flow(bundle: Bundle, token: str | None) -> None:
    """Take the bundle's row lock, then compare ``token`` (when the request brought one) with the flow
    as it is now. Raises :class:`StaleDraft` when another admin changed it since the page was drawn."""
    _lock_row(Bundle, bundle.id)
    if token and token != flow_token(bundle):
        raise StaleDraft(N_("该联办流程在您打开页面后已被其他管理员修改"))


# Drafts ------------------------------------------------------------------------------------------


def save_draft(bundle: Bundle, definition: dict[str, Any]) -> BundleVersion | None:
    """Store ``definition`` as the bundle's draft (created on the first save as the next version
    number; a bundle has at most one draft, guarded by the bundle's row lock :func:`lock_flow` takes).
    The definition may still have problems: they are the publish checks' business, so an admin can
    save half-done work. Returns None, creating nothing, when there is no draft and ``definition``
    says what the published version says."""
    draft = flow_version(bundle, VersionState.DRAFT)
    if draft is None:
        current = flow_version(bundle, VersionState.PUBLISHED)
        if current is not None and _same(current.definition, definition):
            return None
        latest = (
            db.session.scalar(
                select(func.max(BundleVersion.version)).where(BundleVersion.bundle_id == bundle.id)
            )
            or 0
        )
        draft = BundleVersion(
            bundle_id=bundle.id, version=latest + 1, state=VersionState.DRAFT, definition={}
        )
        db.session.add(draft)
        before = None
    else:
        before = draft.definition
    if before == definition:
        return draft
    draft.definition = definition
    db.session.flush()
    _audit("catalog.bundle_flow_draft", bundle, before, definition, version=draft.version)
    return draft


def discard_draft(bundle: Bundle) -> None:
    draft = flow_version(bundle, VersionState.DRAFT)
    if draft is None:
        raise DomainError(N_("没有草稿可以放弃"))
    before, number = draft.definition, draft.version
    db.session.delete(draft)
    db.session.flush()
    _audit("catalog.bundle_flow_discard", bundle, before, None, version=number)


# Publish checks ----------------------------------------------------------------------------------


def department_problems(defn: bundle_spec.Definition) -> list[str]:
    """Hand-off steps naming a department that is not in the register, or no longer active."""
    departments = {d.code: d for d in db.session.scalars(select(ExternalDepartment))}
    problems = []
    for step in defn.handoff_steps:
        dept = departments.get(step.department or "")
        if dept is None:
            problems.append(
                _("步骤“%(step)s”的协办部门 %(code)s 不存在", step=step.name, code=step.department)
            )
        elif not dept.active:
            problems.append(_("步骤“%(step)s”的协办部门“%(name)s”已停用", step=step.name, name=dept.name))
    return problems


def flow_problems(bundle: Bundle, definition: dict[str, Any]) -> list[str]:
    """Every reason ``definition`` may not be published for ``bundle`` (empty: it may): the definition's
    own rules (:func:`catalog.bundle_spec.parse`), the catalog as it is now (an item retired, a mapped
    field, situation, option or document gone), the department register, and the bundle's item list."""
    try:
        defn = bundle_spec.parse(definition)
    except bundle_spec.DefinitionError as exc:
        return list(exc.problems)
    problems = bundle_spec.catalog_problems(defn, item_facts)
    problems += department_problems(defn)
    listed = {bi.item.code for bi in bundle.items}
    for step in defn.item_steps:
        if step.item and step.item not in listed:
            problems.append(
                _(
                    "步骤“%(step)s”的事项 %(code)s 不在本一件事包含的事项中，请先在“包含的事项编码”中加入",
                    step=step.name,
                    code=step.item,
                )
            )
    return problems


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two definitions say the same (defaults written out or left implicit)."""
    try:
        return bundle_spec.Definition.model_validate(a) == bundle_spec.Definition.model_validate(b)
    except ValueError:
        return a == b


def publish_draft(bundle: Bundle) -> BundleVersion:
    """Publish the draft in the caller's transaction: the published version (if any) is superseded, the
    catalog revision bumped, the change audited. Raises :class:`FlowPublishRefused` with every problem
    (the draft stays as it is) or :class:`DomainError` when there is no draft."""
    draft = flow_version(bundle, VersionState.DRAFT)
    if draft is None:
        raise DomainError(N_("没有待发布的草稿"))
    problems = flow_problems(bundle, draft.definition)
    if problems:
        raise FlowPublishRefused(problems)
    current = flow_version(bundle, VersionState.PUBLISHED)
    if current is not None and _same(current.definition, draft.definition):
        raise DomainError(N_("草稿与已发布的版本相同，无需发布；不需要时可放弃草稿"))
    definition, number = draft.definition, draft.version
    bundle.versions.remove(draft)  # publish_flow numbers the new version after the highest one left
    db.session.delete(draft)
    db.session.flush()
    version = publish_flow(bundle, definition, note="admin")
    bump_revision()
    _audit(
        "catalog.bundle_flow_publish",
        bundle,
        {"version": current.version} if current is not None else None,
        {"version": version.version},
        draft=number,
    )
    return version


# External departments ----------------------------------------------------------------------------

DEPARTMENT_FIELDS = ("name", "english_name", "endpoint_url", "contract", "active")


def _department_record(dept: ExternalDepartment) -> dict[str, Any]:
    return {f: getattr(dept, f) for f in DEPARTMENT_FIELDS}


def _department_audit(action: str, code: str, before: Any, after: Any) -> None:
    audit.record(action, object_type="department", object_id=code, details={"before": before, "after": after})


def create_department(code: str, values: dict[str, Any]) -> ExternalDepartment:
    """Add a department to the register. Raises :class:`FieldError` for a code in use."""
    if db.session.scalar(select(ExternalDepartment.id).where(ExternalDepartment.code == code)):
        raise FieldError("code", N_("该部门编码已存在"))
    dept = ExternalDepartment(code=code, **{f: values[f] for f in DEPARTMENT_FIELDS})
    db.session.add(dept)
    db.session.flush()
    _department_audit("catalog.department_create", code, None, _department_record(dept))
    return dept


def update_department(dept: ExternalDepartment, values: dict[str, Any]) -> None:
    """Change a department's name, address, contract or active flag (the code is fixed: flows and
    exchange messages name it). Deactivating a department a published flow hands steps to is refused
    (:class:`FieldError` on ``active``, naming the bundles): their applications would stall."""
    _lock_row(ExternalDepartment, dept.id)
    if dept.active and not values["active"]:
        users = departments_in_use(dept.code)
        if users:
            names = "、".join(f"{name}（{code}）" for code, name in users)
            raise FieldError(
                "active",
                _(
                    "以下一件事的已发布流程仍把步骤交给该部门，不能停用：%(names)s。请先修改这些流程。",
                    names=names,
                ),
            )
    before = _department_record(dept)
    for f in DEPARTMENT_FIELDS:
        setattr(dept, f, values[f])
    after = _department_record(dept)
    if before != after:
        db.session.flush()
        _department_audit("catalog.department_update", dept.code, before, after)


# Preview -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemPart:
    step: bundle_spec.Step
    item_name: str  # empty when the item has no published version
    extra_fields: list[tuple[str, bool]]  # label, required: the item's own questions
    extra_situations: list[str]
    extra_documents: list[str]


@dataclass(frozen=True)
class FlowPreview:
    definition: bundle_spec.Definition
    items: list[ItemPart]
    document_uses: dict[str, list[str]]  # shared document key → "step name（item document）"
    order: list[tuple[bundle_spec.Step, list[str]]]  # steps in start order, with the names they wait for
    departments: dict[str, str]  # code → name


def _possible(when: dict[str, list[str]], fixed: dict[str, str]) -> bool:
    """Whether a field or document with condition ``when`` can apply, given the situations a step fixes."""
    return all(fixed[k] in allowed for k, allowed in when.items() if k in fixed)


def preview(defn: bundle_spec.Definition, outlines: dict[str, ItemOutline]) -> FlowPreview:
    """What a citizen will be asked and what happens after the submit, for the preview page."""
    items = []
    uses: dict[str, list[str]] = {d.key: [] for d in defn.documents}
    for step in defn.item_steps:
        outline = outlines.get(step.item or "")
        for name, key in step.document_map.items():
            uses.setdefault(key, []).append(f"{step.name}（{name}）")
        if outline is None:
            items.append(ItemPart(step, "", [], [], []))
            continue
        fixed = {k: v[6:] for k, v in step.situation_map.items() if v.startswith("const:")}
        possible = {name for name, when in outline.conditions.items() if _possible(when, fixed)}
        items.append(
            ItemPart(
                step,
                outline.name,
                [
                    (label, req)
                    for key, label, req in outline.fields
                    if key not in step.field_map and key in possible
                ],
                [q for key, q, _opts in outline.situations if key not in step.situation_map],
                [d for d in outline.documents if d not in step.document_map and d in possible],
            )
        )
    try:
        keys = bundle_spec.start_order(defn)
    except bundle_spec.DefinitionError:  # a cycle: the draft's own order, the problem is listed above
        keys = [s.key for s in defn.steps]
    names = {s.key: s.name for s in defn.steps}
    order = [(defn.step(k), [names.get(d, d) for d in defn.step(k).depends_on]) for k in keys]
    departments = {d.code: d.name for d in db.session.scalars(select(ExternalDepartment))}
    return FlowPreview(defn, items, uses, order, departments)
