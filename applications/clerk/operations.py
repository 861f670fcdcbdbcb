"""The clerk's use cases: claim, release, reassign, accept, refuse, correct, approve, transfer, visits,
walk-ins and the audited reveal of an ID number.

Concurrency by statement, not by hope: a claim is one conditional ``UPDATE … WHERE claimed_by_id IS
NULL`` with a rowcount check (plus ``FOR UPDATE SKIP LOCKED`` on PostgreSQL); a decision checks the
``row_version`` the clerk saw, and the ORM's version column refuses a concurrent write, so a stale
decision gets a clear message instead of a second decision. ``flush()``, never ``commit()``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache

from sqlalchemy import (
    ColumnElement,
    Date,
    String,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from applications.documents.uploads import CleanFile
from applications.models import (
    OPEN_STATES,
    Application,
    Channel,
    ClockPause,
    CorrectionSignoff,
    StatusEvent,
    TrustLevel,
    Visit,
    WalletDocument,
)
from applications.notify.send import notify, send_to
from applications.ratings.operations import invite_rating
from applications.submission.operations import (
    _next_reference,
    route_application,
    start_application,
    store_file,
    transition,
)
from applications.submission.pinned import pinned_item
from applications.workflow.clock import recompute_due_dates
from applications.workflow.states import Action, InvalidTransition, State
from auth.models import Assurance, Role, Unit, User
from auth.operations import verify_at_counter
from auth.passwords import hash_password
from core import audit
from core.clock import SHANGHAI, local_today
from core.db import db, utcnow
from core.errors import DomainError, FieldError, NotFound
from core.i18n import N_
from core.outbox import queue_message
from core.storage import Storage

QUEUE_STATES = (State.SUBMITTED, State.RESUBMITTED)
VISIT_PURPOSES = ("核验原件", "采集照片指纹", "领取结果", "窗口受理", "补充材料", "其他")


class StaleDecision(DomainError):
    """Someone else changed the application since the clerk opened it."""


def unit_ids(user: User) -> list[int]:
    return [u.id for u in user.units]


def visible_clause(user: User):
    """SQL filter: applications of the user's units (accepting or approving unit)."""
    ids = unit_ids(user) or [-1]
    return or_(Application.unit_id.in_(ids), Application.approving_unit_id.in_(ids))


def get_for_staff(user: User, application_id: int) -> Application:
    """Load, then authorise: another unit's application answers :class:`NotFound` (404)."""
    app = db.session.scalar(
        select(Application).where(
            Application.id == application_id, Application.state != State.DRAFT, visible_clause(user)
        )
    )
    if app is None:
        raise NotFound()
    return app


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
    for lead in unit_leads_of(app.unit_id):
        send_to(
            lead.id, "signoff_request", application_id=app.id, reference=app.reference, clerk=clerk.real_name
        )
    return signoff


def unit_leads_of(unit_id: int | None) -> list[User]:
    """The active unit leads of a unit."""
    if unit_id is None:
        return []
    return [
        u
        for u in db.session.scalars(
            select(User).where(User.role == Role.UNIT_LEAD, User.active.is_(True)).order_by(User.id)
        )
        if unit_id in unit_ids(u)
    ]


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
    result_file: CleanFile | None = None,
    storage: Storage | None = None,
    seen_version: int | None = None,
) -> None:
    """办结·准予 with the result's delivery: 邮寄 (carrier and tracking number), 窗口领取 (the pickup is
    recorded as a visit when it happens), 电子证照 (the result document goes to the wallet at level A)."""
    _check_version(app, seen_version)  # first: a decision made meanwhile is "处理过", not "未领取"
    _require_holder(app, clerk)
    item = pinned_item(app)
    if delivery not in item.delivery:
        raise FieldError("delivery", N_("该事项不支持此送达方式"))
    if delivery == "mail" and not (carrier.strip() and tracking.strip()):
        raise FieldError("tracking", N_("邮寄送达请填写快递公司和运单号"))
    if delivery == "ecert" and (result_file is None or storage is None):
        raise FieldError("result_file", N_("电子证照送达请上传办理结果文件"))
    transition(app, Action.APPROVE, clerk)
    app.completed_at = utcnow()
    app.result = {"delivery": delivery, "carrier": carrier.strip(), "tracking": tracking.strip()}
    if delivery == "ecert":
        app.result = {
            **app.result,
            "wallet_document_id": _certificate_in_wallet(app, item, result_file, storage).id,
        }
    app.claimed_by_id = None
    how = {
        "mail": f"已通过{carrier}寄出，运单号{tracking}",
        "counter": "请到窗口领取",
        "ecert": "电子证照已存入“我的材料”",
    }[delivery]
    notify(app, "approved", reference=app.reference, how=how)
    invite_rating(app)


def _certificate_in_wallet(
    app: Application, item, result_file: CleanFile, storage: Storage
) -> WalletDocument:
    """Place the e-certificate in the citizen's wallet at trust level A (the very same file already
    there — same bytes, same type — is promoted instead of stored twice)."""
    doc_type = item.result_name or item.name
    wallet = db.session.scalar(
        select(WalletDocument).where(
            WalletDocument.owner_id == app.applicant_id,
            WalletDocument.sha256 == result_file.sha256,
            WalletDocument.doc_type == doc_type,
        )
    )
    if wallet is not None:
        wallet.trust_level = TrustLevel.A
        return wallet
    unit = db.session.get(Unit, app.approving_unit_id or app.unit_id)
    wallet = WalletDocument(
        owner_id=app.applicant_id,
        doc_type=doc_type,
        issuer=unit.name if unit else "",
        trust_level=TrustLevel.A,
        storage_key=store_file(storage, result_file),
        kind=result_file.kind,
        mimetype=result_file.mimetype,
        size=result_file.size,
        sha256=result_file.sha256,
        display_name=result_file.display_name,
        source_application_id=app.id,
    )
    db.session.add(wallet)
    db.session.flush()
    return wallet


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


def mark_delivered(app: Application, clerk: User) -> None:
    """The mailed result or e-certificate reached the citizen."""
    transition(app, Action.DELIVER, clerk)


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


# Queues -----------------------------------------------------------------------------------------

TABS = ("pending", "mine", "correction", "due_soon", "overdue", "done")
DONE_STATES = (State.APPROVED, State.REFUSED, State.DELIVERED, State.NOT_ACCEPTED)
DONE_COUNT_CAP = 1000


def _tab_clauses(tab: str) -> list:
    """What an open tab adds to ``state IN (<open states>)`` (which :func:`_open_page` always writes);
    ``:user_id`` and ``:today`` are bound at execution."""
    if tab == "pending":
        return [_state_in(*QUEUE_STATES), Application.claimed_by_id.is_(None)]
    if tab == "mine":
        return [Application.claimed_by_id == bindparam("user_id")]
    if tab == "correction":
        return [_state_in(State.CORRECTION_REQUESTED)]
    today = bindparam("today", type_=Date)
    # a case waiting for the citizen's 补正 has its clock stopped: it is listed under 待补正, never as
    # due soon or overdue (its own deadline is the correction's)
    running = Application.state != State.CORRECTION_REQUESTED
    if tab == "due_soon":
        return [Application.due_soon_on <= today, Application.promised_due >= today, running]
    if tab == "overdue":
        return [Application.promised_due < today, running]
    raise ValueError(f"not an open tab: {tab}")


#: The queue filters, each a clause with its own named parameter (so a statement can be built once per
#: combination of filters in use and reused with other values).
_FILTERS = {
    "f_item": lambda: Application.item_id == bindparam("f_item"),
    "f_channel": lambda: Application.channel == bindparam("f_channel"),
    "f_reference": lambda: Application.reference == bindparam("f_reference"),
    "f_from": lambda: Application.submitted_at >= bindparam("f_from"),
    "f_to": lambda: Application.submitted_at < bindparam("f_to"),
}


def _filter_params(f: dict) -> dict:
    """The filter form's values as the parameters of :data:`_FILTERS` (only the filters in use)."""
    params: dict = {}
    if f.get("item_id"):
        params["f_item"] = f["item_id"]
    if f.get("channel"):
        params["f_channel"] = f["channel"]
    if f.get("reference"):
        params["f_reference"] = f["reference"].strip().upper()
    # The dates are the clerk's (Asia/Shanghai) calendar days, as the queue shows them.
    if f.get("date_from"):
        params["f_from"] = datetime.combine(f["date_from"], datetime.min.time(), SHANGHAI).astimezone(UTC)
    if f.get("date_to"):
        end = datetime.combine(f["date_to"] + timedelta(days=1), datetime.min.time(), SHANGHAI)
        params["f_to"] = end.astimezone(UTC)
    return params


def _filter_clauses(names) -> list:
    return [_FILTERS[name]() for name in sorted(names)]


#: What a queue row shows (and its cursor needs): plain rows, not ORM objects with the JSON answers,
#: form data and result — loading 30 instrumented objects was a fifth of a page view's time.
ROW_COLUMNS = (
    Application.id,
    Application.reference,
    Application.item_id,
    Application.state,
    Application.channel,
    Application.submitted_at,
    Application.promised_due,
    Application.due_soon_on,
    Application.completed_at,
    Application.claimed_by_id,
)


def holder_names(user: User, rows: list[Row]) -> dict[int, str]:
    """The names of the staff holding ``rows`` (one query, and none when they are all ``user``'s)."""
    names = {user.id: user.real_name}
    others = {r.claimed_by_id for r in rows if r.claimed_by_id is not None} - names.keys()
    if others:
        names.update(db.session.execute(select(User.id, User.real_name).where(User.id.in_(others))).all())
    return names


def queue_cursor(tab: str, last: Row | Application) -> str:
    """The ``after`` value for the page that follows ``last`` (the last row of a page): the keyset
    position, ``<promised due date>_<id>`` or, on 已办结, ``<completed_at in UTC, ISO 8601>_<id>``;
    ``none`` for an undated row."""
    if tab == "done":
        key = last.completed_at.astimezone(UTC).isoformat() if last.completed_at else "none"
    else:
        key = last.promised_due.isoformat() if last.promised_due else "none"
    return f"{key}_{last.id}"


def parse_queue_cursor(tab: str, raw: str) -> tuple[date | datetime | None, int] | None:
    """The keyset position named by a :func:`queue_cursor` value; None (the first page) if malformed."""
    key, _sep, id_s = raw.partition("_")
    try:
        if key == "none":
            value = None
        elif tab == "done":
            value = datetime.fromisoformat(key)
            if value.tzinfo is None:
                return None
        else:
            value = date.fromisoformat(key)
        return value, int(id_s)
    except ValueError:
        return None


def queue_page(
    user: User,
    tab: str,
    *,
    after: tuple[date | datetime | None, int] | None = None,
    per_page: int = 30,
    filters: dict | None = None,
    today: date | None = None,
) -> list[Row]:
    """One page of a queue (rows of :data:`ROW_COLUMNS`) by keyset after ``after`` (see
    :func:`queue_cursor`): the open tabs by due date (undated last) then id (:func:`_open_page`);
    已办结 by completion, newest first (:func:`_done_page`)."""
    if tab == "done":
        return _done_page(user, after, per_page, filters or {})
    today = today or local_today()
    return _open_page(user, tab, after, per_page, filters or {}, today)


#: An undated application's place in the open queues: after every dated one. Written as a literal that
#: PostgreSQL and SQLite both read as a date, so that the query's sort key is the very expression the
#: open-queue indexes are built on.
FAR_DUE = "9999-12-31"


def due_key() -> ColumnElement:
    """The open queues' sort key ``coalesce(promised_due, '9999-12-31')`` (indexed, see models)."""
    return func.coalesce(Application.promised_due, literal_column(f"'{FAR_DUE}'", Date))


def _open_page(
    user: User,
    tab: str,
    after: tuple[date | datetime | None, int] | None,
    per_page: int,
    filters: dict,
    today: date,
) -> list[Row]:
    """An open tab, ``ORDER BY coalesce(promised_due, '9999-12-31'), id``, keyset on that pair
    (the statement: :func:`_open_statement`)."""
    ids = unit_ids(user)
    if not ids:
        return []
    params = _filter_params(filters)
    stmt = _open_statement(tab, len(ids), tuple(sorted(params)), after is not None, per_page)
    params |= {f"unit_{i}": unit_id for i, unit_id in enumerate(ids)}
    params |= {"user_id": user.id, "today": today}
    if after is not None:
        params |= {"after_due": after[0] or date.fromisoformat(FAR_DUE), "after_id": after[1]}
    return list(db.session.execute(stmt, params))


@lru_cache(maxsize=256)
def _open_statement(tab: str, units: int, filters: tuple[str, ...], keyset: bool, per_page: int):
    """``unit_id IN (…) OR approving_unit_id IN (…)`` cannot be read in order from any index, so the
    matching rows were all fetched and sorted on every page view (a busy unit has a thousand open
    applications). Instead each of the user's units (``:unit_0`` …) gives its first ``per_page`` rows
    from its accepting side and from its approving side — each an ordered range of ix_applications_open
    or ix_applications_approving_open, read until enough rows pass the tab's filter — and the page is
    the best of those few. ``state IN (<open states>)`` is written out in every branch, as the partial
    indexes name it (SQLite matches a partial index's predicate by its terms).

    Built once per shape (tab, number of units, filters in use, first page or not) and then only
    executed: building the statement and its cache key was a third of a page view's time."""
    due = due_key()
    where = [_state_in(*OPEN_STATES), *_tab_clauses(tab), *_filter_clauses(filters)]
    if keyset:
        after_due = bindparam("after_due", type_=Date)
        where.append(or_(due > after_due, and_(due == after_due, Application.id > bindparam("after_id"))))
    branches = [
        select(Application.id)
        .where(side == bindparam(f"unit_{i}"), *where)
        .order_by(due, Application.id)
        .limit(per_page)
        .subquery()
        for i in range(units)
        for side in (Application.unit_id, Application.approving_unit_id)
    ]
    candidates = union_all(*(select(b.c.id) for b in branches))
    return (
        select(*ROW_COLUMNS)
        .where(Application.id.in_(candidates))
        .order_by(due, Application.id)
        .limit(per_page)
    )


def _done_page(
    user: User, after: tuple[datetime | None, int] | None, per_page: int, filters: dict
) -> list[Row]:
    """已办结: ``ORDER BY completed_at DESC, id DESC``, keyset on (completed_at, id).

    A unit's completed history is most of its rows (a million, in the benchmark), so it is never sorted
    whole: each of the user's units gives the first rows after the cursor from its accepting side and
    from its approving side — each an ordered range of the partial indexes ix_applications_unit_done and
    ix_applications_approving_done — and the page is the best of those few. Completed applications
    without a completion time (none are written so; older data might be) come after the rest, by id.
    """
    params = _filter_params(filters)
    where = [_state_in(*DONE_STATES), *_filter_clauses(params)]
    after_at, after_id = after if after is not None else (None, 0)
    rows: list[Row] = []
    if after is None or after_at is not None:
        dated = [*where, Application.completed_at.is_not(None)]
        if after is not None:
            # Written so that `completed_at <= :t` is an index condition on SQLite and PostgreSQL alike.
            dated += [
                Application.completed_at <= after_at,
                or_(Application.completed_at < after_at, Application.id < after_id),
            ]
        order = (Application.completed_at.desc(), Application.id.desc())
        rows = _done_rows(user, dated, order, per_page, params)
    if len(rows) < per_page:
        undated = [*where, Application.completed_at.is_(None)]
        if after is not None and after_at is None:
            undated.append(Application.id < after_id)
        rows += _done_rows(user, undated, (Application.id.desc(),), per_page - len(rows), params)
    return rows


def _done_rows(user: User, where: list, order: tuple, limit: int, params: dict) -> list[Row]:
    branches = [
        select(Application.id).where(side == unit_id, *where).order_by(*order).limit(limit).subquery()
        for unit_id in unit_ids(user)
        for side in (Application.unit_id, Application.approving_unit_id)
    ]
    if not branches:
        return []
    candidates = union_all(*(select(b.c.id) for b in branches))
    q = select(*ROW_COLUMNS).where(Application.id.in_(candidates)).order_by(*order).limit(limit)
    return list(db.session.execute(q, params))


def queue_counts(user: User, today: date | None = None) -> dict[str, int]:
    """Every tab's count for the navigation in one statement (:func:`_counts_statement`)."""
    today = today or local_today()
    sides = db.session.execute(
        _counts_statement(), {"unit_ids": unit_ids(user) or [-1], "user_id": user.id, "today": today}
    ).all()
    *open_counts, done = (sum(n or 0 for n in column) for column in zip(*sides, strict=True))
    return dict(zip(("pending", "mine", "correction", "due_soon", "overdue"), open_counts, strict=True)) | {
        "done": min(done, DONE_COUNT_CAP)
    }


@cache
def _counts_statement():
    """Two rows, the accepting side and the approving side of the user's units (the latter without
    the rows the former counted): the five open tabs with ``COUNT(*) FILTER (…)`` over the open
    applications, and the 已办结 count capped at ``DONE_COUNT_CAP`` (counting a unit's whole history
    on every page view is what made the queue page slow at a million rows; the tab shows "1000+").

    Each side reads one partial index of open applications, which carries every column the filters
    look at (``INCLUDE`` on PostgreSQL), so the counts never touch the table; an ``OR`` of the two
    sides could only be a bitmap scan of the table. Built once — only the parameters differ from clerk
    to clerk — since building it and its cache key anew cost about a millisecond of every page view."""
    ids = bindparam("unit_ids", expanding=True)
    today = bindparam("today", type_=Date)

    def side(column, *only):
        done = (
            select(Application.id)
            .where(column.in_(ids), _state_in(*DONE_STATES), *only)
            .limit(DONE_COUNT_CAP)
            .subquery()
        )
        return select(
            func.count().filter(and_(_state_in(*QUEUE_STATES), Application.claimed_by_id.is_(None))),
            func.count().filter(Application.claimed_by_id == bindparam("user_id")),
            func.count().filter(_state_in(State.CORRECTION_REQUESTED)),
            func.count().filter(
                and_(
                    Application.due_soon_on <= today,
                    Application.promised_due >= today,
                    Application.state != State.CORRECTION_REQUESTED,
                )
            ),
            func.count().filter(
                and_(Application.promised_due < today, Application.state != State.CORRECTION_REQUESTED)
            ),
            select(func.count()).select_from(done).scalar_subquery(),
        ).where(column.in_(ids), _state_in(*OPEN_STATES), *only)

    not_accepting = or_(Application.unit_id.is_(None), Application.unit_id.not_in(ids))
    return union_all(side(Application.unit_id), side(Application.approving_unit_id, not_accepting))


def register_walk_in_citizen(clerk: User, *, real_name: str, id_number: str, mobile: str) -> User:
    """The walk-in's citizen account, for a person whose ID card the clerk has checked face to face.

    An existing account with this ID number is used only when the name on it is the name on the card
    (else :class:`FieldError` at the name: the clerk checks the card again); the clerk's in-person
    check raises it to L2, and the attachment is audited. Otherwise a new account is made at L2
    (``counter``) with a random password nobody knows, and an activation SMS tells the person to set
    a password with 忘记密码 on their own phone. Raises :class:`FieldError` when a new account's mobile
    is another account's.
    """
    citizen = db.session.scalar(select(User).where(User.id_number == id_number))
    if citizen is not None:
        if citizen.real_name != real_name.strip():
            raise FieldError("real_name", N_("姓名与该身份证号码已登记的账号不一致，请再次核对身份证件"))
        verify_at_counter(citizen, clerk)
        audit.record(
            "account.counter_attach", object_type="user", object_id=citizen.id, actor=clerk, details={}
        )
        return citizen
    if db.session.scalar(select(User.id).where(User.mobile == mobile)):
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


def register_walk_in(
    clerk: User, *, citizen: User, item, answers: dict[str, str], district: str, token: str
) -> Application:
    """A counter (walk-in) application: channel = counter, one visit recorded, claimed by the clerk."""

    app = start_application(citizen, item, answers, token)
    if app.state != State.DRAFT:
        return app
    app.channel = Channel.COUNTER
    app.district = district
    app.contact_mobile = citizen.mobile
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
    unit = db.session.get(Unit, app.unit_id)
    record_visit(app, clerk, at=None, place=unit.name if unit else "窗口", purpose="窗口受理")
    notify(app, "walk_in", item=item.name, reference=app.reference)
    return app
