"""The clerk's use cases: claim, release, reassign, accept, refuse, correct, approve, transfer, visits,
walk-ins and the audited reveal of an ID number.

Concurrency by statement, not by hope: a claim is one conditional ``UPDATE … WHERE claimed_by_id IS
NULL`` with a rowcount check (plus ``FOR UPDATE SKIP LOCKED`` on PostgreSQL); a decision checks the
``row_version`` the clerk saw, and the ORM's version column refuses a concurrent write, so a stale
decision gets a clear message instead of a second decision. ``flush()``, never ``commit()``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update

from applications.clock import recompute_due_dates
from applications.models import Application, ClockPause, TrustLevel, Visit, WalletDocument
from applications.operations import (
    get_own_application,  # noqa: F401 - re-exported for symmetry
    notify,
    pinned_item,
    store_file,
    transition,
)
from applications.uploads import CleanFile
from applications.workflow import Action, InvalidTransition, State
from auth.models import Role, Unit, User
from core import audit
from core.db import db, utcnow
from core.errors import DomainError, FieldError, NotFound
from core.i18n import N_
from core.storage import Storage

QUEUE_STATES = (State.SUBMITTED, State.RESUBMITTED)
OPEN_STATES = (State.SUBMITTED, State.ACCEPTED, State.CORRECTION_REQUESTED, State.RESUBMITTED)
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


# Claiming ---------------------------------------------------------------------------------------


def claim_next(clerk: User) -> Application | None:
    """Atomically claim the most urgent unclaimed application of the clerk's units, or None.

    Most urgent: earliest promised due date, then earliest submission. The candidate is chosen and
    claimed in one conditional UPDATE; on PostgreSQL the sub-select skips rows another clerk has
    locked, so concurrent clerks never wait on or take the same row.
    """
    ids = unit_ids(clerk)
    if not ids:
        return None
    dialect = db.session.get_bind().dialect.name
    for _attempt in range(5):
        candidate = (
            select(Application.id)
            .where(
                Application.unit_id.in_(ids),
                Application.claimed_by_id.is_(None),
                Application.state.in_([s.value for s in QUEUE_STATES]),
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
        now = utcnow()
        stmt = (
            update(Application)
            .where(Application.id == candidate.scalar_subquery(), Application.claimed_by_id.is_(None))
            .values(claimed_by_id=clerk.id, claimed_at=now, row_version=Application.row_version + 1)
            .returning(Application.id)
            .execution_options(synchronize_session=False)
        )
        claimed = db.session.execute(stmt).scalar_one_or_none()
        if claimed is not None:
            app = db.session.get(Application, claimed, populate_existing=True)
            audit.record(
                "application.claim",
                object_type="application",
                object_id=claimed,
                details={"reference": app.reference},
            )
            return app
        still_there = db.session.scalar(
            select(func.count())
            .select_from(Application)
            .where(
                Application.unit_id.in_(ids),
                Application.claimed_by_id.is_(None),
                Application.state.in_([s.value for s in QUEUE_STATES]),
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
            Application.state.in_([s.value for s in OPEN_STATES]),
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
    notify(
        app,
        "accepted",
        N_("申请已受理"),
        f"您的申请 {app.reference} 已受理，承诺于 {app.promised_due} 前办结。",
        sms=f"【临江公安】您的申请{app.reference}已受理，承诺{app.promised_due}前办结。",
    )


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
    notify(
        app,
        "not_accepted",
        N_("申请不予受理"),
        f"您的申请 {app.reference} 不予受理：{reason}（依据：{legal_basis}）",
    )


def request_correction(
    app: Application,
    clerk: User,
    items: list[dict[str, str]],
    *,
    lead: User | None = None,
    exception_reason: str = "",
    seen_version: int | None = None,
) -> None:
    """一次性告知补正: every deficiency at once. A second request on the same application is an
    exception: it needs a unit lead of the unit and a reason, and it is counted."""
    items = [i for i in items if (i.get("note") or "").strip()]
    if not items:
        raise FieldError("items", N_("请勾选需要补正的材料或内容，并逐项写明要求"))
    _check_version(app, seen_version)  # first: a decision made meanwhile is "处理过", not "未领取"
    _require_holder(app, clerk)
    second = app.correction_count >= 1
    if second:
        if (
            lead is None
            or Role(lead.role) != Role.UNIT_LEAD
            or not (set(unit_ids(lead)) & {app.unit_id, app.approving_unit_id})
        ):
            raise FieldError("lead", N_("再次要求补正须经本单位科室负责人同意"))
        if not exception_reason.strip():
            raise FieldError("exception_reason", N_("请填写再次补正的理由"))
    transition(
        app, Action.REQUEST_CORRECTION, clerk, note="；".join(f"{i['target']}：{i['note']}" for i in items)
    )
    app.events[-1].details = {
        "items": items,
        "second": second,
        **({"approved_by": lead.id, "reason": exception_reason} if second else {}),
    }
    app.correction_count += 1
    if app.accepted_at is not None:
        app.pauses.append(ClockPause(reason="补正"))
    notify(
        app,
        "correction",
        N_("请补正材料"),
        f"您的申请 {app.reference} 需要补正：" + "；".join(f"{i['target']}：{i['note']}" for i in items),
        sms=f"【临江公安】您的申请{app.reference}需补正材料，请登录查看。",
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
    notify(
        app,
        "approved",
        N_("申请已办结"),
        f"您的申请 {app.reference} 已办结（准予）。{how}。",
        sms=f"【临江公安】您的申请{app.reference}已办结，{how}。",
    )


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
    notify(app, "refused", N_("申请已办结（不予许可）"), f"您的申请 {app.reference} 不予许可：{reason}")


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
    from applications.models import StatusEvent

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
SHANGHAI = ZoneInfo("Asia/Shanghai")


def queue_query(user: User, tab: str, *, today: date | None = None, filters: dict | None = None):
    """The select for one queue tab, filtered by the user's units in SQL."""
    today = today or datetime.now(UTC).astimezone(SHANGHAI).date()
    f = filters or {}
    q = select(Application).where(visible_clause(user), Application.state != State.DRAFT)
    if tab == "pending":
        q = q.where(
            Application.state.in_([s.value for s in QUEUE_STATES]), Application.claimed_by_id.is_(None)
        )
    elif tab == "mine":
        q = q.where(
            Application.claimed_by_id == user.id, Application.state.in_([s.value for s in OPEN_STATES])
        )
    elif tab == "correction":
        q = q.where(Application.state == State.CORRECTION_REQUESTED)
    elif tab == "due_soon":
        q = q.where(
            Application.state.in_([s.value for s in OPEN_STATES]),
            Application.due_soon_on <= today,
            Application.promised_due >= today,
        )
    elif tab == "overdue":
        q = q.where(Application.state.in_([s.value for s in OPEN_STATES]), Application.promised_due < today)
    elif tab == "done":
        q = q.where(
            Application.state.in_(
                [State.APPROVED.value, State.REFUSED.value, State.DELIVERED.value, State.NOT_ACCEPTED.value]
            )
        )
    if f.get("item_id"):
        q = q.where(Application.item_id == f["item_id"])
    if f.get("channel"):
        q = q.where(Application.channel == f["channel"])
    if f.get("reference"):
        q = q.where(Application.reference == f["reference"].strip().upper())
    # The dates are the clerk's (Asia/Shanghai) calendar days, as the queue shows them.
    if f.get("date_from"):
        start = datetime.combine(f["date_from"], datetime.min.time(), SHANGHAI).astimezone(UTC)
        q = q.where(Application.submitted_at >= start)
    if f.get("date_to"):
        end = datetime.combine(f["date_to"] + timedelta(days=1), datetime.min.time(), SHANGHAI)
        q = q.where(Application.submitted_at < end.astimezone(UTC))
    return q


def queue_page(
    user: User,
    tab: str,
    *,
    after: tuple[date | None, int] | None = None,
    per_page: int = 30,
    filters: dict | None = None,
    today: date | None = None,
) -> list[Application]:
    """One page of a queue sorted by due date (undated last) then id, by keyset after ``after``."""
    far = date(9999, 12, 31)
    due = func.coalesce(Application.promised_due, far)
    q = queue_query(user, tab, filters=filters, today=today)
    if after is not None:
        after_due, after_id = after
        after_due = after_due or far
        q = q.where(or_(due > after_due, and_(due == after_due, Application.id > after_id)))
    q = q.order_by(due, Application.id).limit(per_page)
    return list(db.session.scalars(q))


DONE_COUNT_CAP = 1000


def queue_counts(user: User, today: date | None = None) -> dict[str, int]:
    """Every tab's count for the navigation in two statements: the five open tabs with
    ``COUNT(*) FILTER (…)`` over the open applications of the user's units, and the 已办结 count
    capped at ``DONE_COUNT_CAP`` (counting a unit's whole history on every page view is what made the
    queue page slow at a million rows; the tab shows "1000+")."""
    today = today or datetime.now(UTC).astimezone(SHANGHAI).date()
    queue = [s.value for s in QUEUE_STATES]
    row = db.session.execute(
        select(
            func.count().filter(and_(Application.state.in_(queue), Application.claimed_by_id.is_(None))),
            func.count().filter(Application.claimed_by_id == user.id),
            func.count().filter(Application.state == State.CORRECTION_REQUESTED.value),
            func.count().filter(and_(Application.due_soon_on <= today, Application.promised_due >= today)),
            func.count().filter(Application.promised_due < today),
        ).where(visible_clause(user), Application.state.in_([s.value for s in OPEN_STATES]))
    ).one()
    done_ids = (
        queue_query(user, "done", today=today)
        .with_only_columns(Application.id)
        .order_by(None)
        .limit(DONE_COUNT_CAP)
    )
    done = db.session.scalar(select(func.count()).select_from(done_ids.subquery())) or 0
    return dict(zip(("pending", "mine", "correction", "due_soon", "overdue"), row, strict=True)) | {
        "done": done
    }


def register_walk_in(
    clerk: User, *, citizen: User, item, answers: dict[str, str], district: str, token: str
) -> Application:
    """A counter (walk-in) application: channel = counter, one visit recorded, claimed by the clerk."""
    from applications.models import Channel
    from applications.operations import _next_reference, route_application, start_application

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
    app.reference = _next_reference(date.today())
    app.submitted_at = utcnow()
    app.claimed_by_id = clerk.id
    app.claimed_at = utcnow()
    transition(app, Action.SUBMIT, clerk, note="窗口受理")
    unit = db.session.get(Unit, app.unit_id)
    record_visit(app, clerk, at=None, place=unit.name if unit else "窗口", purpose="窗口受理")
    notify(
        app,
        "submitted",
        N_("窗口申请已登记"),
        f"您在窗口办理的「{item.name}」已登记，办件编号 {app.reference}。",
    )
    return app
