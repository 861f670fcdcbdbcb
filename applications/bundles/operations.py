"""The citizen's 一件事 application: start it, fill it once (shared questions, the merged situation
questions, each item's own questions, the shared documents, delivery), check it, and submit it —
the submit fans out into one police application per item step and one part per step, in ONE
transaction (nothing half-created when any item fails its check or its routing).

Plain arguments in, models out, domain errors raised; ``flush()``, never ``commit()`` — the view
commits once (:func:`core.transaction.transaction`). Uploads go through the same checks and storage
as an application's (:func:`applications.documents.uploads.clean_upload`,
:func:`applications.submission.operations.store_file`: a file written in a transaction that rolls
back is deleted again).

Public functions (for the citizen view, the exchange and the clerk's bundle panel):
:func:`get_own_bundle`, :func:`published_version`, :func:`definition_of`, :func:`start_bundle`,
:func:`item_steps`, :func:`shared_fields`, :func:`own_fields`, :func:`delivery_methods`,
:func:`document_needs`, :func:`save_shared`, :func:`save_situations`, :func:`save_item_answers`,
:func:`save_delivery`, :func:`attach_bundle_document`, :func:`use_wallet_for_bundle`,
:func:`remove_bundle_document`, :func:`check_bundle`, :func:`submit_bundle`, :func:`is_held_draft`,
:func:`bundle_of_application`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from applications.bundles import progress
from applications.bundles.models import (
    BundleApplication,
    BundleDocument,
    BundlePart,
    BundleState,
    PartKind,
    PartStatus,
)
from applications.documents.uploads import CleanFile
from applications.ecert.queries import held_by_name
from applications.models import Application, ApplicationDocument, WalletDocument
from applications.notify.send import send_to
from applications.submission import operations as app_ops
from applications.submission.reference import BUNDLE_PREFIX
from applications.workflow.states import State
from auth.models import User
from catalog import bundle_spec
from catalog.application_form import field_name, stored_problems
from catalog.districts import DISTRICTS
from catalog.guide import Guide, build_guide
from catalog.models import Bundle, BundleVersion, VersionState
from catalog.queries import FieldView, ItemView, catalog
from core import audit
from core.clock import local_today
from core.db import db, utcnow
from core.errors import DomainError, NotFound
from core.i18n import N_
from core.storage import Storage

#: The form's sections in the order the citizen fills them (one page each).
SECTIONS = ("shared", "situations", "items", "documents", "delivery")
SECTION_LABELS = {
    "shared": N_("共同信息"),
    "situations": N_("情形"),
    "items": N_("各事项补充信息"),
    "documents": N_("共用材料"),
    "delivery": N_("送达方式"),
    "submit": N_("提交核对"),
}

Problems = dict[str, list[tuple[str, str]]]


class BundleUnavailable(DomainError):
    """The bundle has no published flow, or one of its items can no longer be applied for online."""


class BundleAlreadySubmitted(DomainError):
    """The bundle was submitted already (a double click, a second tab, a replayed form)."""


class IncompleteBundle(DomainError):
    """Submit refused: ``problems`` maps each section to its (anchor, message) pairs."""

    def __init__(self, problems: Problems) -> None:
        super().__init__(N_("申请还不完整，请按提示补充后再提交。"))
        self.problems = problems


# Reading -----------------------------------------------------------------------------------------


def get_own_bundle(user: User, bundle_application_id: int) -> BundleApplication:
    """The user's own bundle application, or :class:`NotFound` (someone else's id answers 404 too)."""
    bundle = db.session.scalar(
        select(BundleApplication).where(
            BundleApplication.id == bundle_application_id, BundleApplication.applicant_id == user.id
        )
    )
    if bundle is None:
        raise NotFound()
    return bundle


def published_version(code: str) -> tuple[Bundle, BundleVersion] | None:
    """The bundle of ``code`` and its published flow (None: the bundle is a guide page only)."""
    row = db.session.execute(
        select(Bundle, BundleVersion)
        .join(BundleVersion, BundleVersion.bundle_id == Bundle.id)
        .where(Bundle.code == code, BundleVersion.state == VersionState.PUBLISHED)
    ).first()
    return (row[0], row[1]) if row is not None else None


def definition_of(bundle: BundleApplication) -> bundle_spec.Definition:
    """The flow the bundle application was started under (its pinned version)."""
    version = db.session.get(BundleVersion, bundle.bundle_version_id)
    if version is None:  # pragma: no cover - foreign key guarantees it
        raise NotFound()
    return bundle_spec.parse(version.definition)


def bundle_name(bundle: BundleApplication) -> str:
    row = db.session.get(Bundle, bundle.bundle_id)
    return row.name if row is not None else ""


def _answers(bundle: BundleApplication) -> dict[str, Any]:
    a = dict(bundle.answers or {})
    return {
        **a,
        "shared": dict(a.get("shared") or {}),
        "situations": dict(a.get("situations") or {}),
        "items": {k: dict(v) for k, v in (a.get("items") or {}).items()},
    }


def _item(code: str | None) -> ItemView:
    item = catalog().items.get(code or "")
    if item is None:
        raise BundleUnavailable(N_("联办事项暂不能网上申请，请稍后再试或到窗口办理。"))
    return item


def item_answers(step: bundle_spec.Step, situations: Mapping[str, str]) -> dict[str, str]:
    """The item's own situation answers, taken from the bundle's merged answers (``const:`` values
    as written)."""
    out = {}
    for own, source in step.situation_map.items():
        value = source[6:] if source.startswith("const:") else situations.get(source)
        if value:
            out[own] = value
    return out


@dataclass(frozen=True)
class ItemStep:
    """A police item step as the form sees it now: its current published item and guide."""

    step: bundle_spec.Step
    item: ItemView
    guide: Guide

    @property
    def own_fields(self) -> tuple[FieldView, ...]:
        return own_fields(self.step, self.guide)


def item_steps(bundle: BundleApplication, defn: bundle_spec.Definition | None = None) -> list[ItemStep]:
    """Every item step in the definition's order, with its guide under the answers given so far."""
    defn = defn or definition_of(bundle)
    situations = _answers(bundle)["situations"]
    out = []
    for step in defn.item_steps:
        item = _item(step.item)
        out.append(ItemStep(step, item, build_guide(item, item_answers(step, situations))))
    return out


def own_fields(step: bundle_spec.Step, guide: Guide) -> tuple[FieldView, ...]:
    """The item's fields asked in its own section: those that apply and that no source fills."""
    return tuple(f for f in guide.fields if f.key not in step.field_map)


def shared_fields(defn: bundle_spec.Definition) -> tuple[FieldView, ...]:
    """The shared questions as form fields (same types and checks as an item's fields)."""
    return tuple(
        FieldView(
            key=q.key,
            label=q.label,
            type=q.type,
            required=q.required,
            options=tuple(q.options),
            help=q.help,
            condition={},
        )
        for q in defn.questions
    )


def contact_key(defn: bundle_spec.Definition) -> str | None:
    """The shared question that is the contact phone (asked once, not again as 联系电话)."""
    return next((q.key for q in defn.questions if q.type == "mobile"), None)


def address_key(defn: bundle_spec.Definition) -> str | None:
    """The shared question that is the mailing address (the delivery part does not ask it again)."""
    return next((q.key for q in defn.questions if q.type == "address"), None)


def contact_of(bundle: BundleApplication, defn: bundle_spec.Definition) -> str:
    answers = _answers(bundle)
    key = contact_key(defn)
    return str((answers["shared"].get(key) if key else answers.get("contact_mobile")) or "")


def delivery_address_of(bundle: BundleApplication, defn: bundle_spec.Definition) -> dict[str, Any]:
    address = dict(bundle.delivery_address or {})
    key = address_key(defn)
    if key:
        address["address"] = _answers(bundle)["shared"].get(key) or ""
    return address


def delivery_methods(steps: list[ItemStep]) -> tuple[str, ...]:
    """The delivery methods every police item of the bundle offers (first item's order)."""
    if not steps:
        return ()
    first = steps[0].item.delivery
    return tuple(m for m in first if all(m in s.item.delivery for s in steps[1:]))


@dataclass
class DocumentNeed:
    """A shared document as the form asks it now: for which items, accepted types, required or not;
    ``fetched`` when every requirement it answers is fetched from another department (not uploaded)."""

    doc: bundle_spec.SharedDocument
    steps: list[str] = field(default_factory=list)
    required: bool = False
    accept: tuple[str, ...] = ()
    fetched: bool = False
    #: the item requirement names this shared document answers
    names: set[str] = field(default_factory=set)
    #: 免提交: a valid e-certificate of the applicant satisfies every requirement it answers
    certificate: Any = None


def document_needs(steps: list[ItemStep], holder: int | None = None) -> list[DocumentNeed]:
    """The shared documents that apply under the current answers, in the definition's order: each
    names the items it goes to; one that applies to no item's requirement is left out. With
    ``holder`` (the applicant's id), a document the holder has as a valid e-certificate for every
    requirement it answers carries that certificate (免提交: not asked for)."""
    from collections import OrderedDict

    needs: OrderedDict[str, DocumentNeed] = OrderedDict()
    defn_docs: dict[str, bundle_spec.SharedDocument] = {}
    for s in steps:
        for name, key in s.step.document_map.items():
            defn_docs.setdefault(key, bundle_spec.SharedDocument(key=key, name=name))
    fetched_only: dict[str, bool] = {}
    accepts: dict[str, set[str] | None] = {}
    for s in steps:
        for req in s.guide.documents:
            key = s.step.document_map.get(req.name)
            if key is None:
                continue
            need = needs.setdefault(key, DocumentNeed(doc=defn_docs[key]))
            if req.source != "applicant":
                fetched_only.setdefault(key, True)
                continue
            fetched_only[key] = False
            need.names.add(req.name)
            if s.step.name not in need.steps:
                need.steps.append(s.step.name)
            need.required = need.required or req.requirement == "required"
            previous = accepts.get(key)
            accepts[key] = set(req.accept) if previous is None else previous & set(req.accept)
    for key, need in needs.items():
        need.fetched = fetched_only.get(key, False)
        need.accept = tuple(sorted(accepts.get(key) or ()))
    if holder is not None:
        wanted = {n for need in needs.values() if not need.fetched for n in need.names}
        held = held_by_name(holder, wanted) if wanted else {}
        for need in needs.values():
            if need.names and all(n in held for n in need.names):
                need.certificate = held[sorted(need.names)[0]]
    return list(needs.values())


def with_definition_documents(needs: list[DocumentNeed], defn: bundle_spec.Definition) -> list[DocumentNeed]:
    """``needs`` with each shared document's own name and help from the definition, in its order."""
    by_key = {d.key: d for d in defn.documents}
    order = [d.key for d in defn.documents]
    for need in needs:
        if need.doc.key in by_key:
            need.doc = by_key[need.doc.key]
    return sorted(needs, key=lambda n: order.index(n.doc.key) if n.doc.key in order else len(order))


# Starting ----------------------------------------------------------------------------------------


def start_bundle(user: User, code: str, token: str) -> BundleApplication:
    """Create a draft bundle application pinned to the bundle's published flow. The one-time
    ``token`` of the start form is unique: posting it twice returns the first draft. Raises
    :class:`BundleUnavailable` without a published flow (or an item that cannot be applied for) and
    :class:`~applications.submission.operations.AssuranceTooLow` when the account may not apply for
    one of its items."""
    found = published_version(code)
    if found is None:
        raise BundleUnavailable(N_("该一件事暂未开通网上申请。"))
    bundle_row, version = found
    defn = bundle_spec.parse(version.definition)
    for step in defn.item_steps:
        app_ops.check_assurance(user, _item(step.item))
    existing = db.session.scalar(select(BundleApplication).where(BundleApplication.start_token == token))
    if existing is not None:
        if existing.applicant_id != user.id:
            raise NotFound()
        return existing
    bundle = BundleApplication(
        start_token=token,
        applicant_id=user.id,
        bundle_id=bundle_row.id,
        bundle_version_id=version.id,
        state=BundleState.DRAFT,
        answers={"shared": {}, "situations": {}, "items": {}, "contact_mobile": user.mobile or ""},
        delivery_address={},
    )
    key = contact_key(defn)
    if key and user.mobile:
        bundle.answers["shared"][key] = user.mobile  # asked once: the account's phone, can be changed
    try:
        with db.session.begin_nested():
            db.session.add(bundle)
            db.session.flush()
    except IntegrityError:
        existing = db.session.scalar(select(BundleApplication).where(BundleApplication.start_token == token))
        if existing is None or existing.applicant_id != user.id:
            raise
        return existing
    audit.record(
        "bundle.start",
        object_type="bundle_application",
        object_id=bundle.id,
        details={"bundle": code, "version": version.version},
    )
    return bundle


# Saving what was typed (valid or not: nothing typed is lost) -------------------------------------


def _require_draft(bundle: BundleApplication) -> None:
    if bundle.state != BundleState.DRAFT:
        raise BundleAlreadySubmitted(N_("该一件事申请已提交，不能再修改。"))


def _storable(value: Any, length: int = 2000) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        return value
    return value.replace("\x00", "")[:length]


def _touch(bundle: BundleApplication, answers: dict[str, Any]) -> None:
    bundle.answers = answers  # a new dict: the encrypted column sees the change
    bundle.updated_at = utcnow()


def save_shared(
    bundle: BundleApplication, *, district: str | None, contact_mobile: str | None, shared: Mapping[str, Any]
) -> None:
    """The 共同信息 section: district, contact phone (unless a shared question asks it) and the
    shared questions' answers (keyed by question key)."""
    _require_draft(bundle)
    answers = _answers(bundle)
    answers["shared"].update({k: _storable(v) for k, v in shared.items()})
    if contact_mobile is not None:
        answers["contact_mobile"] = _storable(contact_mobile, 20)
    bundle.district = _storable(district or "", 32) or None
    _touch(bundle, answers)


def save_situations(bundle: BundleApplication, values: Mapping[str, str]) -> None:
    """The merged situation questions (an answer that is not an option of its question is dropped)."""
    _require_draft(bundle)
    defn = definition_of(bundle)
    answers = _answers(bundle)
    for s in defn.situations:
        value = values.get(s.key)
        if value in {o.value for o in s.options}:
            answers["situations"][s.key] = value
        elif s.key in values:
            answers["situations"].pop(s.key, None)
    _touch(bundle, answers)


def save_item_answers(bundle: BundleApplication, values: Mapping[str, Mapping[str, Any]]) -> None:
    """Each item step's own answers: ``{step key: {field key: value}}`` (unknown steps are ignored)."""
    _require_draft(bundle)
    defn = definition_of(bundle)
    keys = {s.key for s in defn.item_steps}
    answers = _answers(bundle)
    for step_key, fields in values.items():
        if step_key in keys:
            answers["items"].setdefault(step_key, {}).update({k: _storable(v) for k, v in fields.items()})
    _touch(bundle, answers)


def save_delivery(bundle: BundleApplication, method: str | None, address: Mapping[str, Any]) -> None:
    """送达方式 and the mailing details (recipient, phone, district; the address itself too unless a
    shared question asks it)."""
    _require_draft(bundle)
    bundle.delivery_method = _storable(method or "", 16) or None
    bundle.delivery_address = {
        k: _storable(v, 200)
        for k, v in address.items()
        if k in ("recipient", "mobile", "district", "address")
    }
    bundle.updated_at = utcnow()


# Shared documents --------------------------------------------------------------------------------


def _need(bundle: BundleApplication, doc_key: str) -> DocumentNeed:
    need = next(
        (n for n in document_needs(item_steps(bundle), bundle.applicant_id) if n.doc.key == doc_key), None
    )
    if need is None or need.fetched:
        raise NotFound()
    return need


def _replace_bundle_document(bundle: BundleApplication, doc_key: str, **file_fields: Any) -> BundleDocument:
    for old in [d for d in bundle.documents if d.doc_key == doc_key]:
        bundle.documents.remove(old)
    row = BundleDocument(doc_key=doc_key, **file_fields)
    bundle.documents.append(row)
    bundle.updated_at = utcnow()
    db.session.flush()
    return row


def attach_bundle_document(
    bundle: BundleApplication, doc_key: str, clean: CleanFile, storage: Storage
) -> BundleDocument:
    """Store a cleaned upload once for shared document ``doc_key`` (replacing an earlier one); at
    submit it is attached to every item that needs it."""
    _require_draft(bundle)
    need = _need(bundle, doc_key)
    if need.accept and clean.kind not in need.accept:
        raise DomainError(N_("该材料不接受此类文件。"))
    row = _replace_bundle_document(
        bundle,
        doc_key,
        storage_key=app_ops.store_file(storage, clean),
        kind=clean.kind,
        mimetype=clean.mimetype,
        size=clean.size,
        sha256=clean.sha256,
        display_name=clean.display_name,
    )
    audit.record(
        "bundle.document_upload",
        object_type="bundle_application",
        object_id=bundle.id,
        details={"document": need.doc.name, "size": clean.size, "sha256": clean.sha256},
    )
    return row


def use_wallet_for_bundle(
    bundle: BundleApplication, doc_key: str, wallet_doc: WalletDocument
) -> BundleDocument:
    """Take a 我的材料 document for shared document ``doc_key`` (the same stored file)."""
    _require_draft(bundle)
    if wallet_doc.owner_id != bundle.applicant_id:
        raise NotFound()
    need = _need(bundle, doc_key)
    if wallet_doc.expires_on and wallet_doc.expires_on < local_today():
        raise DomainError(N_("该材料已过有效期，请重新上传。"))
    if wallet_doc.rejected_at is not None:
        raise DomainError(N_("该材料曾被工作人员退回补正，不能再选用，请重新上传。"))
    if need.accept and wallet_doc.kind not in need.accept:
        raise DomainError(N_("该材料不接受此类文件。"))
    row = _replace_bundle_document(
        bundle,
        doc_key,
        storage_key=wallet_doc.storage_key,
        kind=wallet_doc.kind,
        mimetype=wallet_doc.mimetype,
        size=wallet_doc.size,
        sha256=wallet_doc.sha256,
        display_name=wallet_doc.display_name,
        wallet_document_id=wallet_doc.id,
    )
    audit.record(
        "bundle.document_from_wallet",
        object_type="bundle_application",
        object_id=bundle.id,
        details={"document": need.doc.name, "wallet_document": wallet_doc.id},
    )
    return row


def matching_wallet(user: User, needs: list[DocumentNeed], steps: list[ItemStep]) -> dict[str, list]:
    """For each shared document, the user's valid wallet documents of a type it answers."""
    names: dict[str, set[str]] = {}
    for s in steps:
        for name, key in s.step.document_map.items():
            names.setdefault(key, set()).add(name)
    today = local_today()
    docs = [
        d
        for d in app_ops.wallet_for(user)
        if (not d.expires_on or d.expires_on >= today) and d.rejected_at is None
    ]
    out: dict[str, list] = {}
    for need in needs:
        wanted = names.get(need.doc.key, set()) | {need.doc.name}
        matches = [d for d in docs if d.doc_type in wanted and (not need.accept or d.kind in need.accept)]
        if matches:
            out[need.doc.key] = matches
    return out


def remove_bundle_document(bundle: BundleApplication, document_id: int) -> None:
    _require_draft(bundle)
    doc = next((d for d in bundle.documents if d.id == document_id), None)
    if doc is None:
        raise NotFound()
    bundle.documents.remove(doc)
    audit.record(
        "bundle.document_remove",
        object_type="bundle_application",
        object_id=bundle.id,
        details={"doc_key": doc.doc_key},
    )


# Checking ----------------------------------------------------------------------------------------


def field_problems(fields: tuple[FieldView, ...], values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The form's own checks run again on stored answers: (field id, "label：message") pairs."""
    from applications.bundles.forms import build_fields_form

    formdata = MultiDict()
    for f in fields:
        value = values.get(f.key)
        if value is None or value is False or value == "":
            continue
        formdata[field_name(f.key)] = "y" if value is True else str(value)
    form = build_fields_form(fields, formdata=formdata, meta={"csrf": False})
    form.validate()
    return [(fld.id, f"{fld.label.text}：{fld.errors[0]}") for fld in form if fld.errors]


def check_bundle(bundle: BundleApplication) -> Problems:
    """Every reason the bundle cannot be submitted yet, per section (empty sections left out)."""
    defn = definition_of(bundle)
    answers = _answers(bundle)
    problems: Problems = {}

    def add(section: str, anchor: str, message: str) -> None:
        problems.setdefault(section, []).append((anchor, message))

    try:
        steps = item_steps(bundle, defn)
    except BundleUnavailable as exc:
        add("submit", "", str(exc))
        return problems
    # 共同信息
    if bundle.district not in DISTRICTS:
        add("shared", "district", N_("请选择办理辖区"))
    for anchor, message in field_problems(shared_fields(defn), answers["shared"]):
        add("shared", anchor, message)
    if contact_key(defn) is None:
        mobile = answers.get("contact_mobile") or ""
        if not mobile:
            add("shared", "contact_mobile", N_("请填写联系电话"))
        else:
            for anchor, label, message in stored_problems((), (), False, {"contact_mobile": mobile}):
                if anchor == "contact_mobile":
                    add("shared", anchor, f"{label}：{message}")
    # 情形
    for s in defn.situations:
        if answers["situations"].get(s.key) not in {o.value for o in s.options}:
            add("situations", f"s-{s.key}", N_("请选择：") + s.question)
    # 各事项补充信息
    for s in steps:
        own = answers["items"].get(s.step.key, {})
        for anchor, message in field_problems(s.own_fields, own):
            add("items", f"{s.step.key}-{anchor}", f"{s.step.name}：{message}")
    # 共用材料
    given = {d.doc_key: d for d in bundle.documents}
    for need in document_needs(steps, bundle.applicant_id):
        if need.fetched or (need.certificate is not None and need.doc.key not in given):
            continue
        doc = given.get(need.doc.key)
        if doc is None and need.required:
            add("documents", f"doc-{need.doc.key}", N_("请上传：") + need.doc.name)
        elif doc is not None and need.accept and doc.kind not in need.accept:
            add("documents", f"doc-{need.doc.key}", N_("该材料不接受此类文件，请重新上传：") + need.doc.name)
    # 送达方式
    methods = delivery_methods(steps)
    if bundle.delivery_method not in methods:
        add("delivery", "delivery_method", N_("请选择结果送达方式"))
    elif bundle.delivery_method == "mail":
        address = delivery_address_of(bundle, defn)
        values = {
            "delivery_method": "mail",
            "recipient": address.get("recipient"),
            "recipient_mobile": address.get("mobile"),
            "mail_district": address.get("district"),
            "mail_address": address.get("address"),
        }
        if not all(values.values()):
            add("delivery", "recipient", N_("请填写完整的邮寄地址"))
        else:
            for anchor, label, message in stored_problems((), methods, False, values):
                if anchor in ("recipient", "recipient_mobile", "mail_district", "mail_address"):
                    add("delivery", anchor, f"{label}：{message}")
    return problems


# Submitting: the fan-out -------------------------------------------------------------------------


def _item_form_values(
    bundle: BundleApplication, defn: bundle_spec.Definition, s: ItemStep, answers: dict[str, Any]
) -> dict[str, Any]:
    fields = {
        key: bundle_spec.resolve(
            source, shared=answers["shared"], situations=answers["situations"], results={}
        )
        for key, source in s.step.field_map.items()
    }
    own = answers["items"].get(s.step.key, {})
    fields.update({f.key: own.get(f.key) for f in s.own_fields})
    return {
        "district": bundle.district,
        "contact_mobile": contact_of(bundle, defn),
        "delivery_method": bundle.delivery_method,
        "delivery_address": delivery_address_of(bundle, defn) if bundle.delivery_method == "mail" else {},
        "fields": fields,
    }


def _attach_shared(app: Application, s: ItemStep, documents: dict[str, BundleDocument]) -> list[str]:
    """ApplicationDocument rows pointing at the bundle's stored files, one per requirement of the item
    that applies and is answered by a shared document (no copy of the file)."""
    attached = []
    for req in s.guide.to_bring:
        key = s.step.document_map.get(req.name)
        doc = documents.get(key) if key else None
        if doc is None:
            continue
        app.documents.append(
            ApplicationDocument(
                requirement=req.position,
                requirement_name=req.name,
                storage_key=doc.storage_key,
                kind=doc.kind,
                mimetype=doc.mimetype,
                size=doc.size,
                sha256=doc.sha256,
                display_name=doc.display_name,
                wallet_document_id=doc.wallet_document_id,
            )
        )
        attached.append(req.name)
    return attached


def submit_bundle(bundle: BundleApplication, actor: User) -> BundleApplication:
    """Submit the bundle and fan it out, all in the caller's transaction:

    1. draft → submitted as a conditional UPDATE on ``row_version`` (of two racing submits, one
       fans out; the other gets :class:`BundleAlreadySubmitted`);
    2. a bundle reference number from the house's one daily counter (prefix ``YJ``);
    3. one part per step in :func:`catalog.bundle_spec.start_order`; for an item step, its police
       application pinned to the item's current published version (answers via ``situation_map``,
       form via ``field_map`` and the step's own answers, the shared files attached by
       ``document_map``), checked with ``check_complete`` and its routing tried;
    4. :func:`applications.bundles.progress.start_ready` submits the items that wait for nothing
       and pushes the hand-offs that wait for nothing; the others wait as held drafts;
    5. audit ``bundle.submit``, message ``bundle_submitted``.

    Any problem raises (:class:`IncompleteBundle` with every problem, :class:`BundleUnavailable`) and
    the caller's rollback leaves nothing: no application, part or message; the draft and its
    uploaded files stay as they were.
    """
    if bundle.state != BundleState.DRAFT:
        raise BundleAlreadySubmitted(N_("该一件事申请已提交。"))
    problems = check_bundle(bundle)
    if problems:
        raise IncompleteBundle(problems)
    won = db.session.execute(
        update(BundleApplication)
        .where(
            BundleApplication.id == bundle.id,
            BundleApplication.state == BundleState.DRAFT,
            BundleApplication.row_version == bundle.row_version,
        )
        .values(
            state=BundleState.SUBMITTED,
            row_version=BundleApplication.row_version + 1,
            submitted_at=utcnow(),
            reference=app_ops.next_reference(local_today(), prefix=BUNDLE_PREFIX),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        raise BundleAlreadySubmitted(N_("该一件事申请已提交。"))
    db.session.refresh(bundle)

    defn = definition_of(bundle)
    answers = _answers(bundle)
    steps = {s.step.key: s for s in item_steps(bundle, defn)}
    documents = {d.doc_key: d for d in bundle.documents}
    applicant = db.session.get(User, bundle.applicant_id) or actor
    failures: Problems = {}
    summary = []
    for position, key in enumerate(bundle_spec.start_order(defn)):
        step = defn.step(key)
        part = BundlePart(
            step_key=step.key,
            position=position,
            kind=PartKind(step.kind),
            name=step.name,
            depends_on=list(step.depends_on),
            status=PartStatus.WAITING,
        )
        if step.kind == "item":
            s = steps[step.key]
            app = app_ops.start_application(
                applicant, s.item, item_answers(step, answers["situations"]), secrets.token_urlsafe(24)
            )
            app_ops.save_form(app, _item_form_values(bundle, defn, s, answers))
            _attach_shared(app, s, documents)
            db.session.flush()
            for anchor, message in app_ops.check_complete(app, s.item):
                failures.setdefault("submit", []).append((anchor, f"{step.name}：{message}"))
            try:
                app_ops.route_application(app, s.item)
            except LookupError:
                failures.setdefault("submit", []).append(
                    (
                        "district",
                        N_("%(step)s：所选辖区暂无办理单位，请换一个辖区或到窗口办理") % {"step": step.name},
                    )
                )
            part.item_code = s.item.code
            part.application_id = app.id
        else:
            part.department_code = step.department
            part.payload = {"payload_map": dict(step.payload_map)}
        bundle.parts.append(part)
        summary.append(step.key)
    if failures:
        raise IncompleteBundle(failures)
    db.session.flush()
    progress.start_ready(bundle)
    audit.record(
        "bundle.submit",
        object_type="bundle_application",
        object_id=bundle.id,
        details={
            "reference": bundle.reference,
            "steps": summary,
            "applications": [p.application_id for p in bundle.parts if p.application_id],
        },
    )
    send_to(
        bundle.applicant_id,
        "bundle_submitted",
        bundle=bundle_name(bundle),
        reference=bundle.reference or "",
        parts=len(bundle.parts),
    )
    return bundle


# Held drafts -------------------------------------------------------------------------------------


def bundle_of_application(app: Application) -> BundleApplication | None:
    """The bundle application a police application belongs to (None for one of its own)."""
    part = progress.part_of(app)
    return part.bundle_application if part is not None else None


def is_held_draft(app: Application) -> bool:
    """A bundle's police application that waits for another step (not the citizen's to edit,
    submit or withdraw on its own)."""
    return app.state == State.DRAFT and progress.part_of(app) is not None
