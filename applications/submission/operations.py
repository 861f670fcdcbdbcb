"""Application use cases: start, save, attach, submit, withdraw, resubmit, wallet.

Plain arguments in, models out, domain errors raised; ``flush()``, never ``commit()`` — the view
commits once. Files are written to storage before the commit; if the transaction rolls back, the
session's ``after_rollback`` hook deletes them, so a file and its row exist together or not at all
(a process killed in between leaves an orphan that ``flask storage sweep`` removes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from applications.bundles.models import BundleDocument
from applications.documents.uploads import CleanFile
from applications.ecert.models import Certificate
from applications.ecert.queries import held_certificates, record_uses
from applications.models import (
    OPEN_STATES,
    Application,
    ApplicationDocument,
    DeferredDocument,
    ReferenceCounter,
    RoutingRule,
    StatusEvent,
    TrustLevel,
    WalletDocument,
)
from applications.notify.send import notify, send_to
from applications.stats import rollup
from applications.submission.pinned import guide_for, pinned_item
from applications.submission.reference import PREFIX, make_reference
from applications.workflow.clock import close_pauses
from applications.workflow.deadlines import deferral_due
from applications.workflow.routing import RuleRef, UnitRef, route
from applications.workflow.states import Action, State, next_state
from auth.models import Assurance, Role, Unit, User, user_units
from catalog.application_form import field_name, stored_problems
from catalog.districts import DISTRICTS
from catalog.guide import Guide, build_guide
from catalog.models import Category, ServiceItem
from catalog.queries import ItemView
from core import audit
from core.audit import AuditLog
from core.clock import local_today
from core.db import db, utcnow
from core.errors import DomainError, NotFound
from core.i18n import N_
from core.outbox import OutboxMessage
from core.storage import Storage
from core.workdays.models import load_calendar

MAX_FILES_PER_APPLICATION = 20


class IncompleteApplication(DomainError):
    """Submit refused: ``problems`` lists (anchor, message) pairs to show on the review page."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(N_("申请还不完整，请补充后再提交。"))
        self.problems = problems


class AlreadySubmitted(DomainError):
    """The draft was submitted already (a double click or a replayed form)."""


# Files written in this transaction are deleted if it rolls back ----------------------------------


def _pending(session: Session) -> list[tuple[Storage, str]]:
    return session.info.setdefault("pending_files", [])


@event.listens_for(Session, "after_rollback")
def _delete_uncommitted_files(session: Session) -> None:
    for storage, key in session.info.pop("pending_files", []):
        storage.delete(key)


@event.listens_for(Session, "after_commit")
def _forget_committed_files(session: Session) -> None:
    session.info.pop("pending_files", None)


def store_file(storage: Storage, clean: CleanFile) -> str:
    return store_pending(storage, clean.data, suffix=clean.suffix)


def store_pending(storage: Storage, data: bytes, *, suffix: str) -> str:
    """Save ``data`` and return its key; the file is deleted again if this transaction rolls back."""
    key = storage.save(data, suffix=suffix)
    _pending(db.session()).append((storage, key))
    return key


# Reading -----------------------------------------------------------------------------------------


@cache
def _own_statement():
    """Built once: only the ids differ, and building the statement and its cache key on every citizen
    page cost about a tenth of a millisecond."""
    return select(Application).where(
        Application.id == bindparam("application_id"), Application.applicant_id == bindparam("applicant_id")
    )


def get_own_application(user: User, application_id: int) -> Application:
    """The user's own application, or :class:`NotFound` (someone else's id answers 404 too)."""
    app = db.session.scalar(_own_statement(), {"application_id": application_id, "applicant_id": user.id})
    if app is None:
        raise NotFound()
    return app


def pickup_units(item: ItemView) -> list[Unit]:
    """The windows where this item's result can be collected (none unless it offers counter pickup)."""
    if "counter" not in item.delivery:
        return []
    return list(db.session.scalars(select(Unit).where(Unit.kind == item.unit_kind).order_by(Unit.code)))


# Writing -----------------------------------------------------------------------------------------


class AssuranceTooLow(DomainError):
    """The account's assurance is below what the item needs (DESIGN §6)."""


def check_assurance(user: User, item: ItemView) -> None:
    """Raise :class:`AssuranceTooLow` when ``user`` may not apply for ``item``: every application
    needs a proven mobile (L1); items that release personal records need real-name verification (L2)."""
    needed = max(int(Assurance.L1), item.min_assurance or 1)
    if user.level >= needed:
        return
    if needed >= Assurance.L2:
        raise AssuranceTooLow(
            N_(
                "该事项出具个人信息，须实名认证（L2）后办理：请在“个人中心”进行人口信息核验，"
                "未能通过的可携带本人身份证到任一公安窗口核验。"
            )
        )
    raise AssuranceTooLow(N_("请先验证手机号码（在登录页用“忘记密码”接收验证码即可完成）后再办理。"))


def start_application(user: User, item: ItemView, answers: Mapping[str, str], token: str) -> Application:
    """Create a draft pinned to ``item``'s published version. The one-time ``token`` from the start
    form is unique: posting it twice returns the first draft instead of making a second one.
    Raises :class:`AssuranceTooLow` when the account may not apply for the item."""
    check_assurance(user, item)
    existing = db.session.scalar(select(Application).where(Application.start_token == token))
    if existing is not None:
        if existing.applicant_id != user.id:
            raise NotFound()
        return existing
    guide = build_guide(item, answers)
    app = Application(
        start_token=token,
        applicant_id=user.id,
        item_id=item.id,
        version_id=item.version_id,
        state=State.DRAFT,
        answers=dict(guide.answers),
        is_proxy=guide.answers.get("applicant") == "proxy",
        contact_mobile=user.mobile,
    )
    try:
        with db.session.begin_nested():
            db.session.add(app)
            db.session.flush()
    except IntegrityError:
        existing = db.session.scalar(select(Application).where(Application.start_token == token))
        if existing is None or existing.applicant_id != user.id:
            raise
        return existing
    app.events.append(_event(app, None, State.DRAFT, "start", user))
    audit.record(
        "application.start",
        object_type="application",
        object_id=app.id,
        details={"item": item.code, "version": item.version},
    )
    return app


def _require_draft(app: Application) -> None:
    if app.state != State.DRAFT:
        raise AlreadySubmitted(N_("该申请已提交，不能再修改。"))


def _storable(value: Any, length: int | None = 2000) -> Any:
    """A typed string as the database can keep it: no NUL characters, at most ``length`` long."""
    if not isinstance(value, str):
        return value
    value = value.replace("\x00", "")
    return value[:length] if length else value


def save_form(app: Application, values: Mapping[str, Any]) -> None:
    """Keep what the citizen typed (validated or not) so nothing is lost between steps."""
    _require_draft(app)
    standard = {
        "district",
        "contact_mobile",
        "principal_name",
        "principal_id_number",
        "relationship_to_principal",
        "delivery_method",
    }
    columns = Application.__table__.c
    for key in standard:
        if key in values:
            # Unvalidated input must still fit the column (PostgreSQL enforces lengths and refuses
            # NUL characters); the page re-renders what was typed from the request anyway.
            setattr(app, key, _storable(values[key], columns[key].type.length) or None)
    if "delivery_address" in values:
        app.delivery_address = {k: _storable(v) for k, v in dict(values["delivery_address"] or {}).items()}
    if "pickup_unit_id" in values:
        app.pickup_unit_id = values["pickup_unit_id"]
    fields = {k: _storable(v) for k, v in dict(values.get("fields", {})).items()}
    app.form_data = {**(app.form_data or {}), **fields}
    app.updated_at = utcnow()


def attach_document(
    app: Application, requirement: int, clean: CleanFile, storage: Storage, item: ItemView | None = None
) -> ApplicationDocument:
    """Store a cleaned upload for document requirement number ``requirement`` (replacing an earlier one)."""
    if app.state not in (State.DRAFT, State.CORRECTION_REQUESTED):
        raise AlreadySubmitted(N_("该申请已提交，不能再修改材料。"))
    item = item or pinned_item(app)
    doc = _requirement(item, requirement)
    if clean.kind not in doc.accept:
        raise DomainError(N_("该材料不接受此类文件。"))
    if len(app.documents) >= MAX_FILES_PER_APPLICATION:
        raise DomainError(N_("每件申请最多上传20个文件。"))
    return _replace_document(
        app,
        requirement,
        doc.name,
        audit_action="application.document_upload",
        audit_details={"requirement": doc.name, "size": clean.size, "sha256": clean.sha256},
        storage_key=store_file(storage, clean),
        kind=clean.kind,
        mimetype=clean.mimetype,
        size=clean.size,
        sha256=clean.sha256,
        display_name=clean.display_name,
    )


def use_wallet_document(
    app: Application, requirement: int, wallet_doc: WalletDocument
) -> ApplicationDocument:
    """Reuse a wallet document for a requirement instead of a new upload (same stored file)."""
    if app.state not in (State.DRAFT, State.CORRECTION_REQUESTED):
        raise AlreadySubmitted(N_("该申请已提交，不能再修改材料。"))
    if wallet_doc.owner_id != app.applicant_id:
        raise NotFound()
    if wallet_doc.expires_on and wallet_doc.expires_on < local_today():
        raise DomainError(N_("该材料已过有效期，请重新上传。"))
    if wallet_doc.rejected_at is not None:
        raise DomainError(N_("该材料曾被工作人员退回补正，不能再选用，请重新上传。"))
    doc = _requirement(pinned_item(app), requirement)
    return _replace_document(
        app,
        requirement,
        doc.name,
        audit_action="application.document_from_wallet",
        audit_details={"requirement": doc.name, "wallet_document": wallet_doc.id},
        storage_key=wallet_doc.storage_key,
        kind=wallet_doc.kind,
        mimetype=wallet_doc.mimetype,
        size=wallet_doc.size,
        sha256=wallet_doc.sha256,
        display_name=wallet_doc.display_name,
        wallet_document_id=wallet_doc.id,
    )


def _replace_document(
    app: Application,
    requirement: int,
    name: str,
    *,
    audit_action: str,
    audit_details: dict,
    **file_fields: Any,
) -> ApplicationDocument:
    """Give a file for one requirement: on a draft it replaces the earlier one; during a correction
    it is added beside it, marked as the correction — and a 容缺 document still owed that arrives this
    way fulfils its deferral too (the clerk's page shows it arrived). Audited."""
    if app.state == State.DRAFT:
        for old in [d for d in app.documents if d.requirement == requirement and not d.for_correction]:
            app.documents.remove(old)
    row = ApplicationDocument(
        requirement=requirement,
        requirement_name=name,
        for_correction=app.state == State.CORRECTION_REQUESTED,
        **file_fields,
    )
    app.documents.append(row)
    db.session.flush()
    owed = next((d for d in app.deferrals if d.requirement == requirement and d.fulfilled_at is None), None)
    if app.state != State.DRAFT and owed is not None:
        db.session.execute(
            update(DeferredDocument)
            .where(DeferredDocument.id == owed.id, DeferredDocument.fulfilled_at.is_(None))
            .values(fulfilled_at=utcnow(), document_id=row.id)
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(owed)
        audit_details = {**audit_details, "deferral_fulfilled": True}
    audit.record(audit_action, object_type="application", object_id=app.id, details=audit_details)
    return row


def _requirement(item: ItemView, requirement: int):
    docs = {d.position: d for d in item.documents}
    if requirement not in docs:
        raise NotFound()
    return docs[requirement]


def remove_document(app: Application, document_id: int) -> None:
    _require_draft(app)
    doc = next((d for d in app.documents if d.id == document_id), None)
    if doc is None:
        raise NotFound()
    app.documents.remove(doc)
    audit.record(
        "application.document_remove",
        object_type="application",
        object_id=app.id,
        details={"requirement": doc.requirement_name},
    )


def is_authorisation(doc) -> bool:
    """The 委托书 of a 亲友代办: a proxy-only document the principal's own confirmation can replace."""
    return doc.condition.get("applicant") == ("proxy",) and "委托" in doc.name and "公证" not in doc.name


#: Said whatever happened, so that the button never tells whether someone holds an account.
PRINCIPAL_ASKED = N_(
    "如被代办人已注册并完成实名认证，我们已请其登录后在“代办授权”中确认，确认后无需上传授权委托书；"
    "也可以直接上传其签名的授权委托书。"
)
#: Requests one applicant may send a day, and one principal may receive a day (SMS flooding).
PRINCIPAL_REQUESTS_PER_SENDER = 5
PRINCIPAL_REQUESTS_PER_RECIPIENT = 3


def request_principal_confirmation(app: Application, actor: User) -> None:
    """Ask the principal to confirm the authorisation in the portal instead of a signed 委托书.

    Sent only when an active, real-name verified (L2) account holds the principal's ID number, at most
    once a day per application, :data:`PRINCIPAL_REQUESTS_PER_SENDER` a day per applicant and
    :data:`PRINCIPAL_REQUESTS_PER_RECIPIENT` a day per principal; the caller shows the neutral
    :data:`PRINCIPAL_ASKED` in every case. Raises :class:`DomainError` only for what the applicant
    must fix (no principal ID number yet, or too many requests of their own today)."""
    _require_draft(app)
    if not app.is_proxy or not app.principal_id_number:
        raise DomainError(N_("请先在“填写信息”中填写被代办人的身份证号码。"))
    day_ago = utcnow() - timedelta(days=1)
    asked = AuditLog.action == "application.principal_confirmation_requested"
    mine = db.session.scalar(
        select(func.count()).where(asked, AuditLog.actor_id == actor.id, AuditLog.at > day_ago)
    )
    if mine >= PRINCIPAL_REQUESTS_PER_SENDER:
        raise DomainError(N_("今天发出的代办确认请求已达上限，请明天再试，或上传授权委托书。"))
    already = db.session.scalar(
        select(func.count()).where(asked, AuditLog.object_id == str(app.id), AuditLog.at > day_ago)
    )
    audit.record("application.principal_confirmation_requested", object_type="application", object_id=app.id)
    if already:
        return  # one request a day per application: the principal has it already
    principal = db.session.scalar(
        select(User).where(User.id_number_is(app.principal_id_number or ""), User.id != app.applicant_id)
    )
    if principal is None or not principal.active or principal.level < Assurance.L2:
        return
    received = db.session.scalar(
        select(func.count()).where(
            OutboxMessage.user_id == principal.id,
            OutboxMessage.kind == "proxy_confirm",
            OutboxMessage.created_at > day_ago,
        )
    )
    if received >= PRINCIPAL_REQUESTS_PER_RECIPIENT:
        return
    app.principal_user_id = principal.id
    app.principal_confirmed_at = None
    send_to(principal.id, "proxy_confirm", actor=actor.real_name, item=pinned_item(app).name)


def confirm_as_principal(user: User, application_id: int) -> Application:
    """The principal confirms that the applicant may act for them (NotFound for anyone else)."""
    app = db.session.scalar(
        select(Application).where(Application.id == application_id, Application.principal_user_id == user.id)
    )
    if app is None:
        raise NotFound()
    if app.state != State.DRAFT:
        raise AlreadySubmitted(N_("该申请已提交，无需再确认。"))
    if user.level < Assurance.L2:
        raise DomainError(
            N_("确认代办授权须先完成实名认证（L2）：请在“个人中心”进行人口信息核验，或到任一公安窗口核验。")
        )
    app.principal_confirmed_at = utcnow()
    audit.record("application.principal_confirmed", object_type="application", object_id=app.id)
    notify(app, "proxy_confirmed", item=pinned_item(app).name)
    return app


def owed_documents(app: Application, guide: Guide | None = None) -> list:
    """容缺 documents that apply and have not been given yet (listed as owed after submit)."""
    guide = guide or guide_for(app)
    given = {d.requirement for d in app.documents}
    return [d for d in guide.to_bring if d.requirement == "deferrable" and d.position not in given]


def form_values(app: Application, guide: Guide) -> dict[str, Any]:
    """What the application form shows for ``app``: its stored values under the form's field names."""
    address = app.delivery_address or {}
    data: dict[str, Any] = {
        "district": app.district,
        "contact_mobile": app.contact_mobile,
        "principal_name": app.principal_name,
        "principal_id_number": app.principal_id_number,
        "relationship_to_principal": app.relationship_to_principal,
        "delivery_method": app.delivery_method,
        "recipient": address.get("recipient"),
        "recipient_mobile": address.get("mobile"),
        "mail_district": address.get("district"),
        "mail_address": address.get("address"),
        "pickup_unit": address.get("pickup_unit"),
    }
    for f in guide.fields:
        value = (app.form_data or {}).get(f.key)
        if f.type == "date" and value:
            try:
                value = date.fromisoformat(value)
            except ValueError:
                value = None
        data[field_name(f.key)] = value
    return data


def check_complete(app: Application, item: ItemView | None = None) -> list[tuple[str, str]]:
    """Every reason the draft cannot be submitted yet, as (anchor, message) pairs: the anchor is the
    field's id on the form page, or ``doc-<position>`` on the documents page."""
    item = item or pinned_item(app)
    guide = build_guide(item, app.answers or {})
    problems: list[tuple[str, str]] = []
    data = app.form_data or {}
    if app.district not in DISTRICTS:
        problems.append(("district", N_("请选择办理辖区")))
    if not app.contact_mobile:
        problems.append(("contact_mobile", N_("请填写联系电话")))
    for f in guide.fields:
        if f.required and data.get(f.key) in (None, "", False):
            problems.append((field_name(f.key), N_("请填写：") + f.label))
    if app.is_proxy and not (
        app.principal_name and app.principal_id_number and app.relationship_to_principal
    ):
        problems.append(("principal_name", N_("请填写被代办人的姓名、身份证号码和与您的关系")))
    if app.delivery_method not in item.delivery:
        problems.append(("delivery_method", N_("请选择结果送达方式")))
    elif app.delivery_method == "mail":
        addr = app.delivery_address or {}
        if not (
            addr.get("recipient") and addr.get("mobile") and addr.get("district") and addr.get("address")
        ):
            problems.append(("recipient", N_("请填写完整的邮寄地址")))
    if not problems:  # presence is fine: now every format and choice, as the form checks them
        for anchor, label, message in stored_problems(
            tuple(guide.fields), item.delivery, app.is_proxy, form_values(app, guide)
        ):
            problems.append((anchor, f"{label}：{message}"))
    given = {d.requirement for d in app.documents}
    given |= set(held_certificates(app, guide.to_bring))  # 免提交: held as an e-certificate
    if app.principal_confirmed_at is not None:
        given |= {d.position for d in guide.to_bring if is_authorisation(d)}
    for d in guide.to_bring:
        if d.requirement == "required" and d.form != "original" and d.position not in given:
            problems.append((f"doc-{d.position}", N_("请上传：") + d.name))
        if d.requirement == "required" and d.form == "original" and d.position not in given:
            problems.append((f"doc-{d.position}", N_("请上传原件的照片或扫描件：") + d.name))
    return problems


def next_reference(today: date, prefix: str = PREFIX) -> str:
    """The next number of the day from the one daily counter (applications ``LJ…``, 一件事 ``YJ…``)."""
    table = ReferenceCounter.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (
        insert(table)
        .values(day=today, last=1)
        .on_conflict_do_update(index_elements=[table.c.day], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    return make_reference(today, db.session.execute(stmt).scalar_one(), prefix)


_next_reference = next_reference  # the clerk's walk-in registration calls it by this name


def _event(
    app: Application,
    from_state: State | None,
    to_state: State,
    action: str,
    actor: User | None,
    note: str = "",
) -> StatusEvent:
    return StatusEvent(
        application_id=app.id,
        from_state=from_state.value if from_state else None,
        to_state=to_state.value,
        action=action,
        actor_id=actor.id if actor else None,
        actor_role=actor.role_value if actor else None,
        unit_id=app.unit_id,
        note=note,
    )


def transition(app: Application, action: Action, actor: User | None, note: str = "") -> State:
    """Move ``app`` through the transition table, append a status event and an audit row, and mark
    its statistics for the commit step to refresh (:func:`applications.stats.rollup.changing`).

    Raises :class:`~applications.workflow.InvalidTransition` (also audited by the caller's error path).
    The ORM's version column makes a concurrent change fail with ``StaleDataError`` at flush.
    """
    old = State(app.state)
    new = next_state(old, action)
    rollup.changing(app)
    app.state = new
    app.updated_at = utcnow()
    app.events.append(_event(app, old, new, action.value, actor, note))
    audit.record(
        f"application.{action.value}",
        object_type="application",
        object_id=app.id,
        details={"from": old.value, "to": new.value, "reference": app.reference},
    )
    return new


def submit(app: Application, actor: User) -> Application:
    """Submit a complete draft: route it to a unit, give it a reference number, write the first
    status event, audit row and notification, and keep the uploads in the wallet (trust level C).

    Raises :class:`AlreadySubmitted` for a second submit and :class:`IncompleteApplication` with
    every problem when something required is missing.
    """
    if app.state != State.DRAFT:
        raise AlreadySubmitted(N_("该申请已提交。"))
    item = pinned_item(app)
    check_assurance(db.session.get(User, app.applicant_id) or actor, item)
    problems = check_complete(app, item)
    if problems:
        raise IncompleteApplication(problems)
    chosen = route_application(app, item)
    units = {u.code: u for u in db.session.scalars(select(Unit))}
    unit = units[chosen.unit_code]
    app.unit_id = unit.id
    app.approving_unit_id = units[chosen.approving_unit_code].id if chosen.approving_unit_code else None
    app.routing_rule = chosen.rule
    app.reference = next_reference(local_today())
    app.submitted_at = utcnow()
    transition(app, Action.SUBMIT, actor)
    notify(app, "submitted", item=item.name, reference=app.reference, unit=unit.name)
    _keep_in_wallet(app, item)
    record_deferrals(app)
    record_uses(app, item.code, build_guide(item, app.answers or {}).to_bring)
    return app


def route_application(app: Application, item: ItemView):
    """Apply the ordered routing rules (and the default) to this application."""

    rows = db.session.execute(
        select(RoutingRule, ServiceItem.code, Category.code)
        .outerjoin(ServiceItem, ServiceItem.id == RoutingRule.item_id)
        .outerjoin(Category, Category.id == RoutingRule.category_id)
        .where(RoutingRule.active.is_(True))
    ).all()
    unit_codes = {u.id: u.code for u in db.session.scalars(select(Unit))}
    rules = [
        RuleRef(
            r.id,
            r.position,
            item_code,
            cat_code,
            r.district,
            unit_codes[r.unit_id],
            unit_codes.get(r.approving_unit_id) if r.approving_unit_id else None,
        )
        for r, item_code, cat_code in rows
    ]
    units = [UnitRef(u.code, u.kind.value, u.district) for u in db.session.scalars(select(Unit))]
    return route(
        item.unit_kind, app.district, units, item_code=item.code, category=item.category.code, rules=rules
    )


def _keep_in_wallet(app: Application, item: ItemView) -> None:
    issuer_by_pos = {d.position: d for d in item.documents}
    for doc in app.documents:
        if doc.wallet_document_id is not None:
            continue
        req = issuer_by_pos.get(doc.requirement)
        exists = db.session.scalar(
            select(WalletDocument.id).where(
                WalletDocument.owner_id == app.applicant_id,
                WalletDocument.sha256 == doc.sha256,
                WalletDocument.doc_type == doc.requirement_name,
            )
        )
        if exists:
            doc.wallet_document_id = exists
            continue
        wallet = WalletDocument(
            owner_id=app.applicant_id,
            doc_type=doc.requirement_name,
            issuer=req.issuer if req else "",
            trust_level=TrustLevel.C,
            storage_key=doc.storage_key,
            kind=doc.kind,
            mimetype=doc.mimetype,
            size=doc.size,
            sha256=doc.sha256,
            display_name=doc.display_name,
            source_application_id=app.id,
        )
        db.session.add(wallet)
        db.session.flush()
        doc.wallet_document_id = wallet.id


# 容缺受理: documents given after submitting (补交) --------------------------------------------------


class NotDeferred(DomainError):
    """补交 of a document the application did not defer (or a requirement it does not have)."""


class AlreadyGiven(DomainError):
    """补交 of a deferred document that has been given already (a double submit)."""


def record_deferrals(app: Application, guide: Guide | None = None) -> list[DeferredDocument]:
    """At submission: one :class:`DeferredDocument` per 容缺 document left out, all due by
    :func:`~applications.workflow.deadlines.deferral_due` of the submission time (stored, so the date
    the citizen is told never moves). Idempotent; nothing for an application not submitted."""
    if app.submitted_at is None:
        return []
    have = {d.requirement for d in app.deferrals}
    due = deferral_due(load_calendar(), app.submitted_at)
    for d in owed_documents(app, guide):
        if d.position not in have:
            app.deferrals.append(
                DeferredDocument(requirement=d.position, requirement_name=d.name, due_on=due)
            )
    return list(app.deferrals)


def deferrals_of(app: Application, guide: Guide | None = None) -> list[DeferredDocument]:
    """The application's deferrals for a page. One submitted before deferrals were stored gets them
    computed (not stored) the same way, so its 补交 section shows the same dates the first 补交 stores."""
    if app.deferrals or app.submitted_at is None:
        return list(app.deferrals)
    owed = owed_documents(app, guide)
    if not owed:  # nothing owed (most applications): no calendar to read
        return []
    due = deferral_due(load_calendar(), app.submitted_at)
    return [DeferredDocument(requirement=d.position, requirement_name=d.name, due_on=due) for d in owed]


def give_deferred_document(
    app: Application,
    requirement: int,
    actor: User,
    *,
    clean: CleanFile | None = None,
    wallet_doc: WalletDocument | None = None,
    storage: Storage | None = None,
) -> DeferredDocument:
    """补交: attach a 容缺 document after submitting — a cleaned upload (``clean``, written to
    ``storage`` and kept in the wallet at level C) or one of the applicant's wallet documents — and
    mark its deferral fulfilled, once: the mark is a conditional UPDATE, so of two submits racing only
    one gives a document. Audited; the clerk holding the application (or, while nobody holds it, the
    unit's clerks and leads) gets an inbox message. Taken after the due date too while the application
    is open (marked late for the clerk: see :func:`~applications.workflow.deadlines.deferral_due`).

    Raises :class:`DomainError` when the application is closed or withdrawn, nothing was given, the
    file type is not accepted for the document or the wallet document has expired;
    :class:`NotDeferred` for a document the application did not defer; :class:`AlreadyGiven` for a
    second 补交; :class:`NotFound` for another person's wallet document.
    """
    if app.state not in OPEN_STATES:
        raise DomainError(N_("该申请已办结或已撤回，不能再补交材料。"))
    if not app.deferrals:
        record_deferrals(app)  # submitted before deferrals were stored
    deferral = next((d for d in app.deferrals if d.requirement == requirement), None)
    if deferral is None:
        raise NotDeferred(N_("该材料不是本申请的容缺材料，无需补交。"))
    if deferral.fulfilled_at is not None:
        raise AlreadyGiven(N_("该材料已经补交过了，无需重复提交。"))
    item = pinned_item(app)
    req = _requirement(item, requirement)
    if len(app.documents) >= MAX_FILES_PER_APPLICATION:
        raise DomainError(N_("每件申请最多上传20个文件。"))
    if clean is not None and storage is not None:
        if clean.kind not in req.accept:
            raise DomainError(N_("该材料不接受此类文件。"))
        source = "upload"
        file_fields: dict[str, Any] = {
            "storage_key": store_file(storage, clean),
            "kind": clean.kind,
            "mimetype": clean.mimetype,
            "size": clean.size,
            "sha256": clean.sha256,
            "display_name": clean.display_name,
        }
    elif wallet_doc is not None:
        if wallet_doc.owner_id != app.applicant_id:
            raise NotFound()
        if wallet_doc.expires_on and wallet_doc.expires_on < local_today():
            raise DomainError(N_("该材料已过有效期，请重新上传。"))
        if wallet_doc.kind not in req.accept:
            raise DomainError(N_("该材料不接受此类文件。"))
        source = "wallet"
        file_fields = {
            "storage_key": wallet_doc.storage_key,
            "kind": wallet_doc.kind,
            "mimetype": wallet_doc.mimetype,
            "size": wallet_doc.size,
            "sha256": wallet_doc.sha256,
            "display_name": wallet_doc.display_name,
            "wallet_document_id": wallet_doc.id,
        }
    else:
        raise DomainError(N_("请选择要上传的文件，或从“我的材料”中选择一份。"))
    row = ApplicationDocument(requirement=requirement, requirement_name=req.name, **file_fields)
    app.documents.append(row)
    db.session.flush()
    given = db.session.execute(
        update(DeferredDocument)
        .where(DeferredDocument.id == deferral.id, DeferredDocument.fulfilled_at.is_(None))
        .values(fulfilled_at=utcnow(), document_id=row.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if given != 1:
        raise AlreadyGiven(N_("该材料已经补交过了，无需重复提交。"))
    db.session.refresh(deferral)
    if source == "upload":
        _keep_in_wallet(app, item)
    late = deferral.late
    audit.record(
        "application.deferred_document_given",
        object_type="application",
        object_id=app.id,
        details={
            "requirement": req.name,
            "due_on": deferral.due_on.isoformat(),
            "late": late,
            "source": source,
            "sha256": row.sha256,
        },
    )
    for user_id in _clerks_to_tell(app):
        send_to(
            user_id,
            "deferred_given_late" if late else "deferred_given",
            application_id=app.id,
            reference=app.reference,
            document=req.name,
            due=deferral.due_on.isoformat(),
        )
    return deferral


def _clerks_to_tell(app: Application) -> list[int]:
    """The clerk holding the application; while nobody holds it, the active clerks and leads of its unit
    (whoever claims it next)."""
    if app.claimed_by_id is not None:
        return [app.claimed_by_id]
    if app.unit_id is None:
        return []
    return list(
        db.session.scalars(
            select(User.id)
            .join(user_units, user_units.c.user_id == User.id)
            .where(
                user_units.c.unit_id == app.unit_id,
                User.role.in_((Role.CLERK, Role.UNIT_LEAD)),
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )


def withdraw(app: Application, actor: User, reason: str = "") -> None:
    """The citizen withdraws a draft, a submitted application or one awaiting correction."""
    transition(app, Action.WITHDRAW, actor, note=reason)
    if app.reference:
        notify(app, "withdrawn", reference=app.reference)
    from applications.bundles import progress

    progress.application_closed(app)  # a 一件事 item: its part is returned, what waits for it holds


@dataclass(frozen=True)
class CorrectionAsk:
    """One thing the clerk's correction request asked for, with the clerk's words.

    ``kind`` is ``document`` (answered by a new upload for requirement ``position``), ``field`` (a new
    value for form field ``key``) or ``other`` (a written reply)."""

    target: str
    note: str
    kind: str
    position: int | None = None
    key: str | None = None


class IncompleteCorrection(DomainError):
    """Some of what the correction asked for has no answer yet; ``missing`` lists it."""

    def __init__(self, missing: list[CorrectionAsk]) -> None:
        super().__init__(N_("补正还不完整，请逐项补充后再提交。"))
        self.missing = missing


def correction_event(app: Application) -> StatusEvent | None:
    """The correction request now open (the latest event that asked for one)."""
    return next((e for e in reversed(app.events) if e.to_state == State.CORRECTION_REQUESTED), None)


def correction_asks(app: Application, guide: Guide) -> list[CorrectionAsk]:
    """What the open correction request asked for, each matched to a document or a form field."""
    event = correction_event(app)
    items = (event.details or {}).get("items", []) if event is not None else []
    docs = {d.name: d for d in guide.to_bring}
    fields = {f.label: f for f in guide.fields}
    asks = []
    for i in items:
        target, note = str(i.get("target", "")), str(i.get("note", ""))
        if target in docs:
            asks.append(CorrectionAsk(target, note, "document", position=docs[target].position))
        elif target in fields:
            asks.append(CorrectionAsk(target, note, "field", key=fields[target].key))
        else:
            asks.append(CorrectionAsk(target, note, "other"))
    return asks


def answer_correction(app: Application, actor: User, guide: Guide, replies: Mapping[str, str]) -> None:
    """Resubmit an answer to a correction request — only when every item asked for has its answer: a
    new upload for each document (made since the request), a value for each field, a reply for anything
    else. Field values are stored; written replies go on the status event. Raises
    :class:`IncompleteCorrection` listing what is missing (uploads already made are kept by the caller's
    commit) and :class:`InvalidTransition` when the application is not waiting for a correction."""
    event = correction_event(app)
    asks = correction_asks(app, guide)
    since = event.at if event is not None else None
    fresh = {
        d.requirement for d in app.documents if d.for_correction and (since is None or d.created_at >= since)
    }
    missing = []
    data = dict(app.form_data or {})
    written = {}
    for ask in asks:
        reply = (replies.get(ask.target) or "").strip()
        if ask.kind == "document" and ask.position not in fresh:
            missing.append(ask)
        elif ask.kind == "field":
            if not reply:
                missing.append(ask)
            else:
                data[ask.key] = reply[:2000]
        elif ask.kind == "other":
            if not reply:
                missing.append(ask)
            else:
                written[ask.target] = reply[:500]
    if missing:
        raise IncompleteCorrection(missing)
    app.form_data = data
    resubmit(app, actor)
    if written:
        app.events[-1].details = {"replies": written}


def resubmit(app: Application, actor: User) -> None:
    """Answer a correction request: back to the same unit's queue; the clock restarts."""
    transition(app, Action.RESUBMIT, actor)
    close_pauses(app)
    notify(app, "resubmitted", reference=app.reference)
    _keep_in_wallet(app, pinned_item(app))  # the corrected files join 我的材料 (level C until checked)


def request_correction(app: Application, actor: User, items: list[dict[str, str]]) -> None:
    """Ask once for every deficiency (一次性告知补正); ``items`` are {"target", "note"} dicts."""
    if not items:
        raise DomainError(N_("请至少列出一项需要补正的内容。"))
    transition(app, Action.REQUEST_CORRECTION, actor, note="；".join(i.get("note", "") for i in items))
    app.events[-1].details = {"items": items}
    notify(
        app,
        "correction",
        reference=app.reference,
        items="；".join(f"{i.get('target')}：{i.get('note')}" for i in items),
    )


# Wallet ------------------------------------------------------------------------------------------


def wallet_for(user: User) -> list[WalletDocument]:
    return list(
        db.session.scalars(
            select(WalletDocument)
            .where(WalletDocument.owner_id == user.id)
            .order_by(WalletDocument.created_at.desc())
        )
    )


def delete_wallet_document(user: User, wallet_id: int, storage: Storage) -> None:
    """Delete one's own wallet document; the file goes too unless an application still uses it."""
    doc = db.session.scalar(
        select(WalletDocument).where(WalletDocument.id == wallet_id, WalletDocument.owner_id == user.id)
    )
    if doc is None:
        raise NotFound()
    key = doc.storage_key
    in_use = db.session.scalar(
        select(ApplicationDocument.id).where(ApplicationDocument.storage_key == key)
    ) or db.session.scalar(select(Certificate.id).where(Certificate.storage_key == key))
    in_use = in_use or db.session.scalar(select(BundleDocument.id).where(BundleDocument.storage_key == key))
    db.session.delete(doc)
    audit.record(
        "wallet.delete",
        object_type="wallet_document",
        object_id=wallet_id,
        details={"doc_type": doc.doc_type, "file_kept": bool(in_use)},
    )
    if not in_use:
        session = db.session()
        session.info.setdefault("delete_after_commit", []).append((storage, key))


@event.listens_for(Session, "after_commit")
def _delete_after_commit(session: Session) -> None:
    for storage, key in session.info.pop("delete_after_commit", []):
        storage.delete(key)


@event.listens_for(Session, "after_rollback")
def _keep_after_rollback(session: Session) -> None:
    session.info.pop("delete_after_commit", None)


def referenced_storage_keys() -> set[str]:
    """Every stored file some row still points at (for the orphan sweeper)."""
    keys = set(db.session.scalars(select(ApplicationDocument.storage_key)))
    keys |= set(db.session.scalars(select(WalletDocument.storage_key)))
    keys |= set(db.session.scalars(select(Certificate.storage_key)))  # the register keeps its PDF
    keys |= set(db.session.scalars(select(BundleDocument.storage_key)))  # uploaded once for a 一件事
    return keys


def matching_wallet(user: User, item: ItemView) -> dict[int, list[WalletDocument]]:
    """For each document requirement, the user's valid wallet documents of the same type."""
    today = local_today()
    # a file a clerk sent back for correction is never offered again
    docs = [
        d for d in wallet_for(user) if (not d.expires_on or d.expires_on >= today) and d.rejected_at is None
    ]
    out: dict[int, list[WalletDocument]] = {}
    for req in item.documents:
        matches = [d for d in docs if d.doc_type == req.name and d.kind in req.accept]
        if matches:
            out[req.position] = matches
    return out
