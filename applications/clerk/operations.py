"""The clerk's use cases: claim, release, reassign, accept, refuse, correct, approve, transfer, visits,
walk-ins and the audited reveal of an ID number.

Concurrency by statement, not by hope: a claim is one conditional ``UPDATE … WHERE claimed_by_id IS
NULL`` with a rowcount check (plus ``FOR UPDATE SKIP LOCKED`` on PostgreSQL); a decision checks the
``row_version`` the clerk saw, and the ORM's version column refuses a concurrent write, so a stale
decision gets a clear message instead of a second decision. ``flush()``, never ``commit()``.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from applications.bundles import progress
from applications.clerk.verdicts import reject_corrected_in_wallet
from applications.documents.uploads import CleanFile
from applications.ecert.operations import issue_for_application
from applications.models import (
    OPEN_STATES,
    Application,
    ApplicationDocument,
    Channel,
    ClockPause,
    CorrectionSignoff,
    StatusEvent,
    Visit,
    of_units,
)
from applications.notify.send import notify, send_to
from applications.ratings.operations import invite_rating, unit_leads
from applications.stats import rollup
from applications.submission.operations import (
    MAX_FILES_PER_APPLICATION,
    IncompleteApplication,
    _next_reference,
    check_complete,
    record_deferrals,
    route_application,
    save_form,
    start_application,
    store_file,
    transition,
)
from applications.submission.pinned import pinned_item
from applications.workflow.clock import recompute_due_dates
from applications.workflow.deadlines import due_dates
from applications.workflow.states import Action, InvalidTransition, State
from auth.models import Assurance, Role, Unit, User
from auth.operations import verify_at_counter
from auth.passwords import hash_password
from catalog.guide import build_guide
from core import audit
from core.clock import local_today
from core.db import db, utcnow
from core.errors import DomainError, FieldError, NotFound
from core.i18n import N_
from core.outbox import queue_message
from core.storage import Storage, get_storage
from core.workdays.models import load_calendar

QUEUE_STATES = (State.SUBMITTED, State.RESUBMITTED)
VISIT_PURPOSES = ("核验原件", "采集照片指纹", "领取结果", "窗口受理", "补充材料", "其他")


class StaleDecision(DomainError):
    """Someone else changed the application since the clerk opened it."""


def unit_ids(user: User) -> list[int]:
    return [u.id for u in user.units]


def get_for_staff(user: User, application_id: int) -> Application:
    """Load, then authorise: another unit's application answers :class:`NotFound` (404)."""
    app = db.session.scalar(
        _staff_statement(), {"application_id": application_id, "unit_ids": unit_ids(user) or [-1]}
    )
    if app is None:
        raise NotFound()
    return app


@cache
def _staff_statement():
    """:func:`get_for_staff`'s statement, built once (only the parameters differ): the staff's rule
    (:func:`~applications.models.of_units`) with the unit ids as one expanding parameter."""
    return select(Application).where(
        Application.id == bindparam("application_id"),
        Application.state != State.DRAFT,
        of_units(bindparam("unit_ids", expanding=True)),
    )


def _check_version(app: Application, seen_version: int | None) -> None:
    if seen_version is not None and app.row_version != seen_version:
        raise StaleDecision(N_("该申请已被其他人处理或已更新，请刷新页面查看最新状态后再操作。"))


def _require_holder(app: Application, clerk: User) -> None:
    if app.claimed_by_id != clerk.id:
        raise StaleDecision(N_("请先领取该申请再办理（可能已被其他人领取）。"))


def _state_in(*states: State) -> ColumnElement[bool]:
    """``state IN ('…', …)`` with the states written into the SQL instead of bound as parameters: the
    partial indexes name these states, and only with the values in the text can PostgreSQL use them in
    a prepared statement's generic plan; bound, every execution was planned anew (more than half of a
    queue page's database time)."""
    values = [s.value for s in states]
    return Application.state.in_(
        bindparam(None, values, expanding=True, literal_execute=True, type_=String())
    )


# Claiming ---------------------------------------------------------------------------------------


def claim_next(clerk: User) -> int | None:
    """Atomically claim the most urgent unclaimed application of the clerk's units; its id, or None.

    Most urgent: earliest promised due date, then earliest submission. The candidate is chosen and
    claimed in one conditional UPDATE; on PostgreSQL the sub-select skips rows another clerk has
    locked, so concurrent clerks never wait on or take the same row. The UPDATE returns the claimed
    id and reference (no SELECT to load it, no ORM object built): a claim is this statement and its
    audit row.
    """
    ids = unit_ids(clerk)
    if not ids:
        return None
    dialect = db.session.get_bind().dialect.name
    table = Application.__table__
    for _attempt in range(5):
        candidate = (
            select(Application.id)
            .where(
                Application.unit_id.in_(ids),
                Application.claimed_by_id.is_(None),
                _state_in(*QUEUE_STATES),
            )
            .order_by(
                Application.promised_due.is_(None),
                Application.promised_due,
                Application.submitted_at,
                Application.id,
            )
            .limit(1)
        )
        if dialect == "postgresql":
            candidate = candidate.with_for_update(skip_locked=True)
        stmt = (
            update(table)
            .where(table.c.id == candidate.scalar_subquery(), table.c.claimed_by_id.is_(None))
            .values(claimed_by_id=clerk.id, claimed_at=utcnow(), row_version=table.c.row_version + 1)
            .returning(table.c.id, table.c.reference)
        )
        claimed = db.session.execute(stmt).one_or_none()
        if claimed is not None:
            audit.record(
                "application.claim",
                object_type="application",
                object_id=claimed.id,
                details={"reference": claimed.reference},
            )
            return claimed.id
        still_there = db.session.scalar(
            select(func.count())
            .select_from(Application)
            .where(
                Application.unit_id.in_(ids),
                Application.claimed_by_id.is_(None),
                _state_in(*QUEUE_STATES),
            )
        )
        if not still_there:
            return None
    return None


def claim(app: Application, clerk: User) -> None:
    """Claim one specific application (from the list); refused if someone holds it."""
    result = db.session.execute(
        update(Application)
        .where(
            Application.id == app.id,
            Application.claimed_by_id.is_(None),
            _state_in(*OPEN_STATES),
        )
        .values(claimed_by_id=clerk.id, claimed_at=utcnow(), row_version=Application.row_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise StaleDecision(N_("该申请已被其他人领取。"))
    db.session.refresh(app)
    audit.record("application.claim", object_type="application", object_id=app.id)


def release(app: Application, clerk: User) -> None:
    """Give a claimed application back to the unit's queue."""
    _require_holder(app, clerk)
    app.claimed_by_id = None
    app.claimed_at = None
    audit.record("application.release", object_type="application", object_id=app.id)


def reassign(app: Application, lead: User, to_user: User, seen_version: int | None = None) -> None:
    """A unit lead hands an application to a clerk of the same unit."""
    if Role(lead.role) != Role.UNIT_LEAD:
        raise DomainError(N_("只有科室负责人可以改派。"))
    _check_version(app, seen_version)
    if not set(unit_ids(to_user)) & {app.unit_id, app.approving_unit_id} or Role(to_user.role) not in (
        Role.CLERK,
        Role.UNIT_LEAD,
    ):
        raise FieldError("to_user", N_("只能改派给本单位的工作人员。"))
    old = app.claimed_by_id
    app.claimed_by_id = to_user.id
    app.claimed_at = utcnow()
    audit.record(
        "application.reassign",
        object_type="application",
        object_id=app.id,
        details={"from_user": old, "to_user": to_user.id},
    )


# Decisions --------------------------------------------------------------------------------------


def accept(app: Application, clerk: User, seen_version: int | None = None) -> None:
    """受理: starts the clock; the promised and legal due dates are stored."""
    _check_version(app, seen_version)  # first: a decision made meanwhile is "处理过", not "未领取"
    _require_holder(app, clerk)
    transition(app, Action.ACCEPT, clerk)
    if app.accepted_at is None:
        app.accepted_at = utcnow()
    recompute_due_dates(app)
    notify(app, "accepted", reference=app.reference, due=app.promised_due)


def not_accept(
    app: Application, clerk: User, *, reason: str, legal_basis: str, seen_version: int | None = None
) -> None:
    """不予受理 with the reason and its legal basis (both required)."""
    if not reason.strip():
        raise FieldError("reason", N_("请填写不予受理的理由"))
    if not legal_basis.strip():
        raise FieldError("legal_basis", N_("请填写不予受理的法律依据"))
    _check_version(app, seen_version)  # first: a decision made meanwhile is "处理过", not "未领取"
    _require_holder(app, clerk)
    transition(app, Action.NOT_ACCEPT, clerk, note=f"{reason}（依据：{legal_basis}）")
    app.completed_at = utcnow()
    app.claimed_by_id = None
    notify(app, "not_accepted", reference=app.reference, reason=reason, legal_basis=legal_basis)
    progress.application_closed(app)  # a 一件事 item: its part is returned, what waits for it holds


def request_correction(
    app: Application,
    clerk: User,
    items: list[dict[str, str]],
    *,
    exception_reason: str = "",
    seen_version: int | None = None,
) -> str:
    """一次性告知补正: every deficiency at once; returns ``"sent"``.

    A second request on the same application is an exception (DESIGN §3): it is not sent but waits
    for a unit lead of the unit as a :class:`CorrectionSignoff` (reason required; one waiting per
    application), and ``"awaiting_lead"`` is returned. Raises :class:`FieldError` for no item or no
    reason, :class:`DomainError` when a request is already waiting.
    """
    items = [i for i in items if (i.get("note") or "").strip()]
    if not items:
        raise FieldError("items", N_("请勾选需要补正的材料或内容，并逐项写明要求"))
    _check_version(app, seen_version)  # first: a decision made meanwhile is "处理过", not "未领取"
    _require_holder(app, clerk)
    if app.correction_count >= 1:
        if not exception_reason.strip():
            raise FieldError("exception_reason", N_("请填写再次补正的理由"))
        _request_signoff(app, clerk, items, exception_reason.strip()[:300])
        return "awaiting_lead"
    _issue_correction(app, clerk, items)
    return "sent"


def _issue_correction(
    app: Application, actor: User, items: list[dict[str, str]], *, lead: User | None = None, reason: str = ""
) -> None:
    second = lead is not None
    transition(
        app, Action.REQUEST_CORRECTION, actor, note="；".join(f"{i['target']}：{i['note']}" for i in items)
    )
    app.events[-1].details = {
        "items": items,
        "second": second,
        **({"approved_by": lead.id, "reason": reason} if lead is not None else {}),
    }
    app.correction_count += 1
    if app.accepted_at is not None:
        app.pauses.append(ClockPause(reason="补正"))
    reject_corrected_in_wallet(app, items)  # the files asked for again are not offered for reuse
    notify(
        app,
        "correction",
        reference=app.reference,
        items="；".join(f"{i['target']}：{i['note']}" for i in items),
    )


def _request_signoff(
    app: Application, clerk: User, items: list[dict[str, str]], reason: str
) -> CorrectionSignoff:
    signoff = CorrectionSignoff(
        application_id=app.id, requested_by_id=clerk.id, unit_id=app.unit_id, reason=reason, items=items
    )
    try:
        with db.session.begin_nested():
            db.session.add(signoff)
            db.session.flush()
    except IntegrityError as exc:
        raise DomainError(N_("该办件已有一项再次补正申请在等待科室负责人审批。")) from exc
    audit.record(
        "application.signoff_request",
        object_type="application",
        object_id=app.id,
        actor=clerk,
        details={"signoff": signoff.id, "reason": reason, "items": items},
    )
    for lead in unit_leads(app.unit_id):
        send_to(
            lead.id, "signoff_request", application_id=app.id, reference=app.reference, clerk=clerk.real_name
        )
    return signoff


def pending_signoffs(lead: User) -> list[CorrectionSignoff]:
    """The second-correction requests waiting for ``lead`` (their units), oldest first."""
    units = unit_ids(lead)
    if Role(lead.role) != Role.UNIT_LEAD or not units:
        return []
    return list(
        db.session.scalars(
            select(CorrectionSignoff)
            .where(CorrectionSignoff.status == "pending", CorrectionSignoff.unit_id.in_(units))
            .order_by(CorrectionSignoff.created_at, CorrectionSignoff.id)
        )
    )


def get_signoff(lead: User, signoff_id: int) -> CorrectionSignoff:
    """A sign-off of one of the lead's units, else :class:`NotFound` (a clerk gets 404 too)."""
    signoff = db.session.get(CorrectionSignoff, signoff_id)
    if signoff is None or Role(lead.role) != Role.UNIT_LEAD or signoff.unit_id not in unit_ids(lead):
        raise NotFound()
    return signoff


def decide_signoff(signoff: CorrectionSignoff, lead: User, *, approve: bool, note: str = "") -> None:
    """The lead approves (the correction goes out now, in the requesting clerk's name, counted as a
    second one) or rejects (with a note) a waiting request; both audited, the clerk told. Raises
    :class:`DomainError` when it was decided already or the application moved on meanwhile."""
    if signoff.status != "pending":
        raise DomainError(N_("该申请已处理。"))
    if not approve and not note.strip():
        raise FieldError("note", N_("请填写不同意的理由"))
    app = signoff.application
    requester = db.session.get(User, signoff.requested_by_id)
    if approve:
        try:
            _issue_correction(app, requester, signoff.items, lead=lead, reason=signoff.reason)
        except InvalidTransition as exc:
            raise DomainError(N_("该办件状态已变化，不能再要求补正；请驳回此申请。")) from exc
    signoff.status = "approved" if approve else "rejected"
    signoff.decided_by_id = lead.id
    signoff.decided_at = utcnow()
    signoff.note = note.strip()[:300]
    audit.record(
        "application.signoff_approve" if approve else "application.signoff_reject",
        object_type="application",
        object_id=app.id,
        actor=lead,
        details={"signoff": signoff.id, "note": signoff.note},
    )
    send_to(
        signoff.requested_by_id,
        "signoff_decided",
        application_id=app.id,
        reference=app.reference,
        outcome="同意，补正告知已发出" if approve else f"不同意：{signoff.note}",
    )


def approve(
    app: Application,
    clerk: User,
    *,
    delivery: str,
    carrier: str = "",
    tracking: str = "",
    storage: Storage | None = None,
    seen_version: int | None = None,
) -> None:
    """办结·准予 with the result's delivery: 邮寄 (carrier and tracking number), 窗口领取 (the pickup is
    recorded as a visit when it happens), 电子证照 (the system issues the signed certificate — register,
    PDF with its QR seal, 我的材料 at level A: :func:`applications.ecert.operations.issue_for_application`).
    Raises :class:`~applications.ecert.keys.NoSigningKey` when no signing key can be had."""
    _check_version(app, seen_version)  # first: a decision made meanwhile is "处理过", not "未领取"
    _require_holder(app, clerk)
    item = pinned_item(app)
    if delivery not in item.delivery:
        raise FieldError("delivery", N_("该事项不支持此送达方式"))
    if delivery == "mail" and not (carrier.strip() and tracking.strip()):
        raise FieldError("tracking", N_("邮寄送达请填写快递公司和运单号"))
    transition(app, Action.APPROVE, clerk)
    app.completed_at = utcnow()
    app.result = {"delivery": delivery, "carrier": carrier.strip(), "tracking": tracking.strip()}
    if delivery == "ecert":
        cert = issue_for_application(app, item, storage or get_storage())
        app.result = {**app.result, "wallet_document_id": cert.wallet_document_id, "certificate": cert.number}
    app.claimed_by_id = None
    how = {
        "mail": f"已通过{carrier}寄出，运单号{tracking}",
        "counter": "请到窗口领取",
        "ecert": "电子证照已签发并存入“我的材料”",
    }[delivery]
    notify(app, "approved", reference=app.reference, how=how)
    invite_rating(app)
    progress.application_closed(app)  # a 一件事 item: its part is done, the steps waiting for it start


def refuse(app: Application, clerk: User, *, reason: str, seen_version: int | None = None) -> None:
    """办结·不予许可 with the reason."""
    if not reason.strip():
        raise FieldError("reason", N_("请填写不予许可的理由"))
    _check_version(app, seen_version)  # first: a decision made meanwhile is "处理过", not "未领取"
    _require_holder(app, clerk)
    transition(app, Action.REFUSE, clerk, note=reason)
    app.completed_at = utcnow()
    app.claimed_by_id = None
    notify(app, "refused", reference=app.reference, reason=reason)
    invite_rating(app)
    progress.application_closed(app)  # a 一件事 item: its part is returned, what waits for it holds


def transfer(
    app: Application, clerk: User, *, to_unit: Unit, reason: str, seen_version: int | None = None
) -> None:
    """Send the application to another unit's queue (reason required)."""
    if not reason.strip():
        raise FieldError("reason", N_("请填写转办理由"))
    _check_version(app, seen_version)  # first: a decision made meanwhile is "处理过", not "未领取"
    _require_holder(app, clerk)
    if to_unit.id == app.unit_id:
        raise FieldError("to_unit", N_("请选择其他单位"))
    old = app.unit_id
    rollup.changing(app)  # the accepting unit is a dimension of the statistics
    app.unit_id = to_unit.id
    app.claimed_by_id = None
    app.routing_rule = f"转办：{reason}"[:120]

    app.events.append(
        StatusEvent(
            application_id=app.id,
            from_state=app.state.value,
            to_state=app.state.value,
            action="transfer",
            actor_id=clerk.id,
            actor_role=clerk.role_value,
            unit_id=to_unit.id,
            note=reason,
        )
    )
    audit.record(
        "application.transfer",
        object_type="application",
        object_id=app.id,
        details={"from_unit": old, "to_unit": to_unit.id, "reason": reason},
    )


def record_visit(
    app: Application, clerk: User, *, at: datetime | None, place: str, purpose: str, note: str = ""
) -> Visit:
    """Record an on-site visit (it makes the application not zero-visit)."""
    if purpose not in VISIT_PURPOSES:
        raise FieldError("purpose", N_("请选择到场事由"))
    if not place.strip():
        raise FieldError("place", N_("请填写到场地点"))
    at = at or utcnow()
    if at > utcnow() + timedelta(minutes=5):
        raise FieldError("at", N_("到场时间不能晚于现在"))
    visit = Visit(
        application_id=app.id,
        at=at,
        place=place.strip(),
        purpose=purpose,
        unit_id=clerk.units[0].id if clerk.units else None,
        recorded_by_id=clerk.id,
        note=note,
    )
    app.visits.append(visit)
    rollup.changing(app)  # a visit makes it not zero-visit in the statistics
    db.session.flush()
    audit.record(
        "application.visit",
        object_type="application",
        object_id=app.id,
        details={"purpose": purpose, "place": place},
    )
    return visit


def pickup(app: Application, clerk: User) -> None:
    """The citizen collected the result at the counter: a visit, and the application is delivered."""
    if app.state != State.APPROVED:
        raise InvalidTransition(app.state, Action.DELIVER)
    unit = db.session.get(Unit, app.unit_id)
    record_visit(app, clerk, at=None, place=unit.name if unit else "窗口", purpose="领取结果")
    transition(app, Action.DELIVER, clerk)
    progress.application_closed(app)


def mark_delivered(app: Application, clerk: User) -> None:
    """The mailed result or e-certificate reached the citizen."""
    transition(app, Action.DELIVER, clerk)
    progress.application_closed(app)


def reveal_id_number(app: Application, clerk: User, which: str) -> str:
    """The assigned clerk's explicit, audited look at a full ID number (applicant or principal)."""
    if app.claimed_by_id != clerk.id:
        raise DomainError(N_("只有已领取该申请的工作人员才能查看完整号码。"))
    number = app.principal_id_number if which == "principal" else app.applicant.id_number
    audit.record(
        "application.reveal_id", object_type="application", object_id=app.id, details={"which": which}
    )
    return number or ""


def audit_document_view(app: Application, document_id: int) -> None:
    audit.record(
        "application.document_view",
        object_type="application",
        object_id=app.id,
        details={"document": document_id},
    )


def register_walk_in_citizen(clerk: User, *, real_name: str, id_number: str, mobile: str) -> User:
    """The walk-in's citizen account, for a person whose ID card the clerk has checked face to face.

    An existing account with this ID number is used only when the name on it is the name on the card
    (else :class:`FieldError` at the name: the clerk checks the card again); the clerk's in-person
    check raises it to L2, and the attachment is audited. Otherwise a new account is made at L2
    (``counter``) with a random password nobody knows, and an activation SMS tells the person to set
    a password with 忘记密码 on their own phone. Raises :class:`FieldError` when a new account's mobile
    is another account's.
    """
    citizen = db.session.scalar(select(User).where(User.id_number_is(id_number)))
    if citizen is not None:
        if citizen.real_name != real_name.strip():
            raise FieldError("real_name", N_("姓名与该身份证号码已登记的账号不一致，请再次核对身份证件"))
        verify_at_counter(citizen, clerk)
        audit.record(
            "account.counter_attach", object_type="user", object_id=citizen.id, actor=clerk, details={}
        )
        return citizen
    if db.session.scalar(select(User.id).where(User.mobile_is(mobile))):
        raise FieldError("mobile", N_("该手机号码已被其他账号使用"))
    citizen = User(
        role=Role.CITIZEN,
        real_name=real_name.strip(),
        id_number=id_number,
        mobile=mobile,
        password_hash=hash_password(secrets.token_urlsafe(24)),
        assurance=int(Assurance.L1),  # the clerk copied the number from the person in front of them
    )
    db.session.add(citizen)
    db.session.flush()
    audit.record("account.counter_create", object_type="user", object_id=citizen.id, actor=clerk)
    verify_at_counter(citizen, clerk)
    queue_message("account_activation", user_id=citizen.id)
    return citizen


@dataclass(frozen=True)
class Scan:
    """One file the clerk scanned for document requirement ``requirement`` (already checked and
    re-encoded by :func:`~applications.documents.uploads.clean_upload`)."""

    requirement: int
    clean: CleanFile


def walk_in_for_token(clerk: User, token: str) -> Application | None:
    """The counter application this walk-in form's one-time ``token`` made already (a double-clicked
    登记, a reloaded POST), when the clerk's units can see it; :class:`NotFound` for anyone else's."""
    app = db.session.scalar(select(Application).where(Application.start_token == token))
    if app is None:
        return None
    if app.channel != Channel.COUNTER or app.state == State.DRAFT:
        raise NotFound()
    return get_for_staff(clerk, app.id)


def missing_scans(guide, given: Collection[int], deferred: Collection[int]) -> dict[int, str]:
    """Documents the counter has neither scanned (``given``) nor, where the item allows 容缺, marked
    as brought later (``deferred``): position → message. Optional documents are never missing."""
    out = {}
    for d in guide.to_bring:
        if d.position in given:
            continue
        if d.requirement == "required":
            out[d.position] = N_("请扫描上传：") + d.name
        elif d.requirement == "deferrable" and d.position not in deferred:
            out[d.position] = N_("请扫描上传，或勾选容缺后补：") + d.name
    return out


def register_walk_in(
    clerk: User,
    *,
    citizen: User,
    item,
    answers: dict[str, str],
    district: str,
    token: str,
    values: Mapping[str, Any] | None = None,
    scans: Sequence[Scan] = (),
    deferred: Collection[int] = (),
    purpose: str = "窗口受理",
    note: str = "",
    storage: Storage | None = None,
) -> Application:
    """A counter (walk-in) application: channel = counter, claimed by the clerk, and the counter visit
    recorded as its one visit (a walk-in is never zero-visit).

    ``values`` are the item's application form as the citizen would fill it on line (stored by the
    same :func:`~applications.submission.operations.save_form`); ``scans`` the files the clerk scanned,
    several per requirement allowed; ``deferred`` the positions of 容缺 documents the citizen brings
    later. With ``values`` the case must be complete exactly as an online submit must be, and every
    容缺 document either scanned or in ``deferred``: else :class:`IncompleteApplication` with every
    problem, and the caller's rollback leaves nothing behind (no account, no case, no file). Without
    ``values`` (the demo's simulation) the form and documents are not checked.

    The one-time ``token`` makes a double submit return the first application.
    """

    app = start_application(citizen, item, answers, token)
    if app.state != State.DRAFT:
        return app
    app.channel = Channel.COUNTER
    app.district = district
    app.contact_mobile = citizen.mobile
    if values is not None:
        save_form(app, values)
        guide = build_guide(item, app.answers or {})
        _attach_scans(app, guide, scans, storage)
        problems = check_complete(app, item)
        given = {d.requirement for d in app.documents}
        problems += [(f"doc-{p}", m) for p, m in missing_scans(guide, given, deferred).items()]
        if problems:
            raise IncompleteApplication(problems)
    chosen = route_application(app, item)
    units = {u.code: u for u in db.session.scalars(select(Unit))}
    app.unit_id = units[chosen.unit_code].id
    mine = set(unit_ids(clerk))
    if app.unit_id not in mine and clerk.units:
        app.unit_id = clerk.units[0].id
    app.routing_rule = "窗口受理"
    app.reference = _next_reference(local_today())
    app.submitted_at = utcnow()
    app.claimed_by_id = clerk.id
    app.claimed_at = utcnow()
    transition(app, Action.SUBMIT, clerk, note="窗口受理")
    if values is not None:
        owed = [d.name for d in guide.to_bring if d.position in deferred and d.requirement == "deferrable"]
        app.events[-1].details = {"scanned": len(scans), "deferred": owed}
        record_deferrals(app, guide)  # the 容缺 documents get their due date, as online (补交 online)
    unit = db.session.get(Unit, app.unit_id)
    record_visit(app, clerk, at=None, place=unit.name if unit else "窗口", purpose=purpose, note=note)
    notify(app, "walk_in", item=item.name, reference=app.reference)
    return app


def _attach_scans(app: Application, guide, scans: Sequence[Scan], storage: Storage | None) -> None:
    """Keep every scanned file (several per requirement: one page each), each audited like an upload."""
    docs = {d.position: d for d in guide.to_bring}
    if scans and storage is None:
        raise ValueError("scans need a storage")
    if len(scans) > MAX_FILES_PER_APPLICATION:
        raise DomainError(N_("每件申请最多上传20个文件。"))
    for scan in scans:
        doc = docs.get(scan.requirement)
        if doc is None:
            raise NotFound()
        if scan.clean.kind not in doc.accept:
            raise FieldError(f"doc-{doc.position}", N_("该材料不接受此类文件。"))
        app.documents.append(
            ApplicationDocument(
                requirement=doc.position,
                requirement_name=doc.name,
                storage_key=store_file(storage, scan.clean),
                kind=scan.clean.kind,
                mimetype=scan.clean.mimetype,
                size=scan.clean.size,
                sha256=scan.clean.sha256,
                display_name=scan.clean.display_name,
            )
        )
        db.session.flush()
        audit.record(
            "application.document_upload",
            object_type="application",
            object_id=app.id,
            details={
                "requirement": doc.name,
                "size": scan.clean.size,
                "sha256": scan.clean.sha256,
                "channel": "counter",
            },
        )


def promised_completion(app: Application, item) -> date:
    """The promised completion date the receipt states: the stored one once accepted, otherwise the
    date the promise gives when the counter accepts it on the day it was registered (a receipt
    printed again later states the same date)."""
    if app.promised_due is not None:
        return app.promised_due
    return due_dates(
        load_calendar(),
        app.submitted_at or utcnow(),
        promised_days=item.promised_days,
        legal_days=item.legal_days,
        day_kind=item.day_kind,
        instant=item.instant,
        pauses=[],
    )[0]
