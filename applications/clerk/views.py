"""The clerk's pages: queues, the application under review, decisions, walk-ins; routing rules for admins."""

from __future__ import annotations

import secrets
from datetime import UTC, date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from applications.bundles.panel import clerk_panel
from applications.clerk import operations as ops
from applications.clerk import queues, verdicts
from applications.clerk.forms import (
    QUEUE_FILTERS,
    ApproveForm,
    NotAcceptForm,
    QueueFilterForm,
    ReasonForm,
    ReassignForm,
    RoutingRuleForm,
    SignoffForm,
    SimpleForm,
    TransferForm,
    VersionedForm,
    VisitForm,
    WalkInForm,
    WalkInItemForm,
)
from applications.clerk.verdict_forms import VerdictForm
from applications.documents.uploads import MAX_BYTES, UploadRejected, clean_upload
from applications.ecert.operations import verify_online
from applications.ecert.queries import uses_of
from applications.models import Application, ApplicationDocument, RoutingRule
from applications.ratings import operations as rating_ops
from applications.submission.forms import application_values
from applications.submission.operations import (
    IncompleteApplication,
    owed_documents,
    pickup_units,
    pinned_item,
)
from applications.workflow import rules as rules_ops
from applications.workflow.states import STATE_LABELS, InvalidTransition, allowed_actions
from auth.models import Role, Unit, User
from auth.policies import role_required
from catalog.application_form import build_application_form
from catalog.guide import build_guide
from catalog.models import Category
from catalog.queries import catalog
from core import audit
from core.clock import SHANGHAI, local_today
from core.crypto import DecryptionError
from core.db import db, load_collections, writes_on_get
from core.downloads import stored_file_response
from core.errors import FieldError, NotFound
from core.i18n import translated_labels
from core.storage import get_storage
from core.transaction import transaction

bp = Blueprint("clerk", __name__, url_prefix="/clerk")
staff_only = role_required(Role.CLERK, Role.UNIT_LEAD)
TAB_LABELS = {
    "pending": "待受理",
    "mine": "我的在办",
    "correction": "待补正",
    "due_soon": "即将超期",
    "overdue": "已超期",
    "done": "已办结",
}


def _today() -> date:
    return local_today()


def _load(application_id: int) -> Application:
    try:
        return ops.get_for_staff(current_user, application_id)
    except NotFound:
        abort(404)


def _seen_version(form) -> int | None:
    raw = form.version.data if hasattr(form, "version") else None
    return int(raw) if raw and str(raw).isdigit() else None


# Queues -----------------------------------------------------------------------------------------

PAGE = 30  # rows on a queue page


def _queue_filter_form(snap) -> QueueFilterForm:
    """The filter form over the query, its items those of catalog snapshot ``snap``. A queue page
    without filters (most views) builds none: its markup comes from the fragment cache."""
    form = QueueFilterForm(request.args)
    form.item.choices = [("", _("全部事项"))] + [
        (str(i.id), i.name) for i in sorted(snap.items.values(), key=lambda i: i.code)
    ]
    return form


@bp.route("/")
@staff_only
def queue():
    tab = request.args.get("tab", "pending")
    if tab not in queues.TABS:
        tab = "pending"
    snap = catalog()
    form = None  # built when the query holds a filter, or when the filters' markup is not cached
    filters = {}
    if any(request.args.get(name) for name in QUEUE_FILTERS):
        form = _queue_filter_form(snap)
    if form is not None and form.validate():
        filters = {
            "item_id": int(form.item.data) if form.item.data else None,
            "channel": form.channel.data or None,
            "date_from": form.date_from.data,
            "date_to": form.date_to.data,
            "reference": form.ref.data or None,
            "person": form.person.data or None,
        }
    cursor = request.args.get("after", "")
    after = queues.parse_queue_cursor(tab, cursor) if cursor else None
    # one row more than a page shows: 下一页 only when there is a next page, never an empty last one
    rows = queues.queue_page(
        current_user, tab, after=after, filters=filters, today=_today(), per_page=PAGE + 1
    )
    rows, more = rows[:PAGE], len(rows) > PAGE
    next_cursor = queues.queue_cursor(tab, rows[-1]) if more else None
    counts = queues.tab_counts(current_user, _today())  # within SESSION_CHECK_SECONDS of others' work
    if after is None and not more and not any(filters.values()):
        counts = {**counts, tab: len(rows)}  # the tab on screen counts exactly what it lists
    names = {i.id: i.name for i in snap.items.values()}
    return render_template(
        "clerk/queue.html",
        tab=tab,
        rows=rows,
        counts=counts,
        filter_form=lambda: form if form is not None else _queue_filter_form(snap),
        names=names,
        holders=queues.holder_names(current_user, rows),
        # once per page rather than once per row: the row link's prefix and the translated labels
        detail_prefix=url_for("clerk.detail", application_id=0).removesuffix("0"),
        state_labels=translated_labels(STATE_LABELS),
        channel_labels={"counter": _("窗口"), "online": _("网上")},
        tab_labels=TAB_LABELS,
        signoffs=ops.pending_signoffs(current_user) if current_user.role == Role.UNIT_LEAD else [],
        follow_ups=rating_ops.open_follow_up_counts(current_user, today=_today())
        if current_user.role == Role.UNIT_LEAD
        else None,
        next_url=url_for("clerk.queue", **{**request.args.to_dict(), "tab": tab, "after": next_cursor})
        if next_cursor
        else None,
        today=_today(),
        claim_form=SimpleForm(),
        # the filter form's markup is cached per catalog revision and query, unless it names a person
        filters_revision=None if request.args.get("person") else snap.revision,
    )


@bp.route("/claim-next", methods=["POST"])
@staff_only
def claim_next():
    if not SimpleForm().validate_on_submit():
        abort(400)
    with transaction():
        claimed_id = ops.claim_next(current_user)
    if claimed_id is None:
        flash(_("待受理队列已空。"), "info")
        return redirect(url_for("clerk.queue"))
    return redirect(url_for("clerk.detail", application_id=claimed_id))


# One application --------------------------------------------------------------------------------


def _prefix_ids(form, prefix: str):
    """Give every field of ``form`` the id ``<prefix>-<name>`` (its label follows): the workbench shows
    several forms with fields of the same name (``reason``), and each label must point at its own."""
    for f in form:
        f.id = f"{prefix}-{f.name}"
        f.label.field_id = f.id
    return form


def _verdict_forms(app: Application, given: dict | None = None) -> dict:
    """One check form per document, its reason list the presets of its document type."""
    presets = verdicts.preset_reasons(sorted({d.requirement_name for d in app.documents}))
    out = {}
    for d in app.documents:
        form = (given or {}).get(d.id) or VerdictForm(
            formdata=None,
            prefix=f"v{d.id}",
            verdict=d.verdict,
            preset=d.verdict_reason if d.verdict_reason in presets[d.requirement_name] else "",
            reason="" if d.verdict_reason in presets[d.requirement_name] else d.verdict_reason,
        )
        form.preset.choices = [("", _("请选择"))] + [(r, r) for r in presets[d.requirement_name]]
        out[d.id] = form
    return out


def _render_detail(
    app: Application,
    status: int = 200,
    revealed: dict | None = None,
    verdict_forms: dict | None = None,
    **forms,
):
    load_collections(app, "events", "documents", "pauses", "visits", "deferrals")  # all on the page
    item = pinned_item(app)
    guide = build_guide(item, app.answers or {})
    approve_form = _prefix_ids(forms.get("approve_form") or ApproveForm(version=app.row_version), "approve")
    approve_form.delivery.choices = [(d, d) for d in item.delivery]
    transfer_form = _prefix_ids(
        forms.get("transfer_form") or TransferForm(version=app.row_version), "transfer"
    )
    transfer_form.to_unit.choices = [("", _("请选择"))] + [
        (u.code, u.name)
        for u in db.session.scalars(select(Unit).where(Unit.id != app.unit_id).order_by(Unit.code))
    ]
    reassign_form = _prefix_ids(
        forms.get("reassign_form") or ReassignForm(version=app.row_version), "reassign"
    )
    colleagues = db.session.scalars(
        select(User)
        .where(User.role.in_([Role.CLERK.value, Role.UNIT_LEAD.value]), User.active.is_(True))
        .order_by(User.username)
    ).all()
    reassign_form.to_user.choices = [
        (str(u.id), f"{u.real_name}（{u.username}）")
        for u in colleagues
        if set(ops.unit_ids(u)) & {app.unit_id}
    ]
    leads = [u for u in colleagues if u.role == Role.UNIT_LEAD and set(ops.unit_ids(u)) & {app.unit_id}]
    # the open decision: a form sent back with an error opens its own tab/disclosure again
    failed = next((key for key in forms if key.endswith("_form")), None)
    return render_template(
        "clerk/detail.html",
        app=app,
        item=item,
        bundle_panel=clerk_panel(app),
        guide=guide,
        labels=STATE_LABELS,
        revealed=revealed or {},
        holder=app.claimed_by_id == current_user.id,
        actions=[a.value for a in allowed_actions(app.state)],
        approve_form=approve_form,
        transfer_form=transfer_form,
        reassign_form=reassign_form,
        not_accept_form=_prefix_ids(
            forms.get("not_accept_form") or NotAcceptForm(version=app.row_version), "not-accept"
        ),
        refuse_form=_prefix_ids(forms.get("refuse_form") or ReasonForm(version=app.row_version), "refuse"),
        visit_form=_prefix_ids(forms.get("visit_form") or VisitForm(), "visit"),
        simple=SimpleForm(),
        leads=leads,
        correction_errors=forms.get("correction_errors") or {},
        prefill=verdicts.correction_prefill(app),
        current_docs={d.id for d in verdicts.current_documents(app).values()},
        verdict_forms=_verdict_forms(app, verdict_forms),
        verdict_labels=verdicts.VERDICT_LABELS,
        can_check=app.claimed_by_id == current_user.id and app.state in verdicts.VERDICT_STATES,
        ecert_uses=[(use, cert, verify_online(cert.payload)) for use, cert in uses_of(app.id)],
        clock=verdicts.clock_for(app, _today()),
        failed=failed,
        today=_today(),
    ), status


@bp.route("/applications/<int:application_id>")
@staff_only
def detail(application_id: int):
    return _render_detail(_load(application_id))


@bp.route("/applications/<int:application_id>/files/<int:document_id>")
@writes_on_get
@staff_only
def document(application_id: int, document_id: int):
    """Inline view of an uploaded document for review; every view is audited."""
    app = _load(application_id)
    doc = db.session.scalar(
        select(ApplicationDocument).where(
            ApplicationDocument.id == document_id, ApplicationDocument.application_id == app.id
        )
    )
    if doc is None:
        abort(404)
    try:
        response = stored_file_response(doc.storage_key, doc.mimetype)
    except DecryptionError:
        raise  # a damaged file: the error page says so (core.errors), not "not found"
    except (FileNotFoundError, ValueError):
        abort(404)
    with transaction():
        ops.audit_document_view(app, doc.id)
    response.headers["Content-Disposition"] = "inline"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    if doc.kind == "pdf":
        # shown inline in the workbench's viewer (an <iframe> of our own page); browsers do not run
        # their PDF viewer in a sandboxed document, and the file was rebuilt without active content
        response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'self'"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.route("/applications/<int:application_id>/documents/<int:document_id>/verdict", methods=["POST"])
@staff_only
def verdict(application_id: int, document_id: int):
    """核验通过 / 需补正 for one document (the reason from the presets or typed)."""
    app = _load(application_id)
    if not any(d.id == document_id for d in app.documents):
        abort(404)
    form = VerdictForm(prefix=f"v{document_id}")
    form.preset.choices = []
    if form.validate_on_submit():
        with transaction(form) as tx:
            verdicts.record_verdict(app, current_user, document_id, form.verdict.data, form.chosen_reason())
        if tx.ok:
            flash(_("已记录核验结果。"), "success")
            return redirect(url_for("clerk.detail", application_id=application_id) + f"#doc-{document_id}")
        if isinstance(tx.error, verdicts.NotHolder) or not isinstance(tx.error, FieldError):
            flash(tx.message, "danger")
            return redirect(url_for("clerk.detail", application_id=application_id))
    return _render_detail(_load(application_id), 422, verdict_forms={document_id: form})


def _decide(application_id: int, form, action):
    """Run one decision: validate, call the operation, commit — or show the error at the field."""
    app = _load(application_id)
    if not form.validate_on_submit():
        return _render_detail(app, 422, **{_form_key(form): form})
    try:
        # no form given: a FieldError whose field this form lacks is flashed, not listed on the form
        with transaction() as tx:
            action(app)
    except (InvalidTransition, StaleDataError) as exc:
        # not DomainErrors: the helper has rolled back and re-raised them
        message = "该申请已被其他人处理或已更新，请刷新页面查看最新状态后再操作。"
        if isinstance(exc, InvalidTransition):
            message = exc.message
            with transaction():  # the refusal is audited in a transaction of its own, after the rollback
                audit.record(
                    "application.refused_transition",
                    object_type="application",
                    object_id=application_id,
                    details={"state": exc.state.value, "action": exc.action.value},
                )
        flash(_(message), "danger")
        return redirect(url_for("clerk.detail", application_id=application_id))
    if tx.ok:
        return None
    if isinstance(tx.error, FieldError):
        field = getattr(form, tx.error.field, None)
        if field is not None:
            field.errors = [*field.errors, tx.message]
        else:
            flash(tx.message, "danger")
        return _render_detail(_load(application_id), 422, **{_form_key(form): form})
    flash(tx.message, "danger")
    return redirect(url_for("clerk.detail", application_id=application_id))


def _form_key(form) -> str:
    return {
        NotAcceptForm: "not_accept_form",
        ApproveForm: "approve_form",
        TransferForm: "transfer_form",
        VisitForm: "visit_form",
        ReassignForm: "reassign_form",
        ReasonForm: "refuse_form",
    }.get(type(form), "other")


def _done(application_id: int, message: str):
    flash(message, "success")
    return redirect(url_for("clerk.detail", application_id=application_id))


@bp.route("/applications/<int:application_id>/claim", methods=["POST"])
@staff_only
def claim(application_id: int):
    form = SimpleForm()
    return _decide(application_id, form, lambda a: ops.claim(a, current_user)) or _done(
        application_id, _("已领取。")
    )


@bp.route("/applications/<int:application_id>/release", methods=["POST"])
@staff_only
def release(application_id: int):
    form = SimpleForm()
    return _decide(application_id, form, lambda a: ops.release(a, current_user)) or redirect(
        url_for("clerk.queue")
    )


@bp.route("/applications/<int:application_id>/accept", methods=["POST"])
@staff_only
def accept(application_id: int):
    form = VersionedForm()
    return _decide(application_id, form, lambda a: ops.accept(a, current_user, _seen_version(form))) or _done(
        application_id, _("已受理，计时开始。")
    )


@bp.route("/applications/<int:application_id>/not-accept", methods=["POST"])
@staff_only
def not_accept(application_id: int):
    form = NotAcceptForm()
    return _decide(
        application_id,
        form,
        lambda a: ops.not_accept(
            a,
            current_user,
            reason=form.reason.data,
            legal_basis=form.legal_basis.data,
            seen_version=_seen_version(form),
        ),
    ) or _done(application_id, _("已作不予受理决定。"))


@bp.route("/applications/<int:application_id>/correction", methods=["POST"])
@staff_only
def correction(application_id: int):
    form = SimpleForm()
    items = []
    for key in request.form.getlist("target"):
        note = (request.form.get(f"note-{key}") or "").strip()[:300]
        items.append({"target": key[:100], "note": note})
    seen = request.form.get("version", "")

    outcome: list[str] = []

    def run(a):
        outcome.append(
            ops.request_correction(
                a,
                current_user,
                items,
                exception_reason=request.form.get("exception_reason", "")[:300],
                seen_version=int(seen) if seen.isdigit() else None,
            )
        )

    refused = _decide(application_id, form, run)
    if refused:
        return refused
    if outcome == ["awaiting_lead"]:
        return _done(application_id, _("再次补正申请已提交本单位科室负责人审批，同意后补正告知即发出。"))
    return _done(application_id, _("已一次性告知补正，计时暂停。"))


# The unit lead's sign-offs ----------------------------------------------------------------------


@bp.route("/signoffs/<int:signoff_id>", methods=["GET", "POST"])
@role_required(Role.UNIT_LEAD)
def signoff(signoff_id: int):
    """A second-correction request the lead approves or rejects in their own session."""
    try:
        item = ops.get_signoff(current_user, signoff_id)
    except NotFound:
        abort(404)
    form = SignoffForm()
    if form.validate_on_submit() and item.status == "pending":
        approve = form.decision.data == "approve"
        with transaction(form) as tx:
            ops.decide_signoff(item, current_user, approve=approve, note=form.note.data or "")
        if tx.ok:
            flash(_("已同意，补正告知已发出。") if approve else _("已驳回，申请人员会收到通知。"), "success")
            return redirect(url_for("clerk.queue"))
        item = ops.get_signoff(current_user, signoff_id)
    return render_template("clerk/signoff.html", signoff=item, form=form), (
        422 if request.method == "POST" else 200
    )


@bp.route("/applications/<int:application_id>/approve", methods=["POST"])
@staff_only
def approve(application_id: int):
    app = _load(application_id)
    form = ApproveForm()
    form.delivery.choices = [(d, d) for d in pinned_item(app).delivery]
    return _decide(
        application_id,
        form,
        lambda a: ops.approve(
            a,
            current_user,
            delivery=form.delivery.data,
            carrier=form.carrier.data or "",
            tracking=form.tracking.data or "",
            storage=get_storage(),
            seen_version=_seen_version(form),
        ),
    ) or _done(application_id, _("已办结（准予）。"))


@bp.route("/applications/<int:application_id>/refuse", methods=["POST"])
@staff_only
def refuse(application_id: int):
    form = ReasonForm()
    return _decide(
        application_id,
        form,
        lambda a: ops.refuse(a, current_user, reason=form.reason.data, seen_version=_seen_version(form)),
    ) or _done(application_id, _("已办结（不予许可）。"))


@bp.route("/applications/<int:application_id>/transfer", methods=["POST"])
@staff_only
def transfer(application_id: int):
    app = _load(application_id)
    form = TransferForm()
    form.to_unit.choices = [(u.code, u.name) for u in db.session.scalars(select(Unit))]
    del app
    unit = db.session.scalar(select(Unit).where(Unit.code == (form.to_unit.data or "")))

    def run(a):
        if unit is None:
            raise FieldError("to_unit", "请选择单位")
        ops.transfer(a, current_user, to_unit=unit, reason=form.reason.data, seen_version=_seen_version(form))

    return _decide(application_id, form, run) or redirect(url_for("clerk.queue"))


@bp.route("/applications/<int:application_id>/visit", methods=["POST"])
@staff_only
def visit(application_id: int):
    form = VisitForm()

    def run(a):
        at = form.at.data.replace(tzinfo=SHANGHAI).astimezone(UTC) if form.at.data else None
        ops.record_visit(
            a,
            current_user,
            at=at,
            place=form.place.data,
            purpose=form.purpose.data,
            note=form.note.data or "",
        )

    return _decide(application_id, form, run) or _done(application_id, _("已记录到场。"))


@bp.route("/applications/<int:application_id>/pickup", methods=["POST"])
@staff_only
def pickup(application_id: int):
    return _decide(application_id, SimpleForm(), lambda a: ops.pickup(a, current_user)) or _done(
        application_id, _("已记录领取，办件已送达。")
    )


@bp.route("/applications/<int:application_id>/delivered", methods=["POST"])
@staff_only
def delivered(application_id: int):
    return _decide(application_id, SimpleForm(), lambda a: ops.mark_delivered(a, current_user)) or _done(
        application_id, _("已标记送达。")
    )


@bp.route("/applications/<int:application_id>/reassign", methods=["POST"])
@role_required(Role.UNIT_LEAD)
def reassign(application_id: int):
    app = _load(application_id)
    form = ReassignForm()
    form.to_user.choices = [(str(u.id), u.username) for u in db.session.scalars(select(User))]
    del app
    target = db.session.get(User, int(form.to_user.data)) if (form.to_user.data or "").isdigit() else None

    def run(a):
        if target is None:
            raise FieldError("to_user", "请选择工作人员")
        ops.reassign(a, current_user, target, _seen_version(form))

    return _decide(application_id, form, run) or _done(application_id, _("已改派。"))


@bp.route("/applications/<int:application_id>/reveal", methods=["POST"])
@staff_only
def reveal(application_id: int):
    app = _load(application_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    which = "principal" if request.form.get("which") == "principal" else "applicant"
    with transaction() as tx:
        number = ops.reveal_id_number(app, current_user, which)
    if not tx.ok:
        flash(tx.message, "warning")
        return redirect(url_for("clerk.detail", application_id=application_id))
    return _render_detail(app, revealed={which: number})


# Walk-in ----------------------------------------------------------------------------------------


def _walk_in_items() -> dict:
    """The items this clerk's units handle (every item for a clerk of no unit)."""
    mine = {u.kind.value for u in current_user.units}
    return {
        i.code: i
        for i in sorted(catalog().items.values(), key=lambda i: i.code)
        if i.unit_kind in mine or not mine
    }


def _pick_item(items: dict, formdata=None) -> str:
    pick = WalkInItemForm(formdata=formdata)
    pick.item.choices = [("", _("请选择"))] + [(i.code, f"{i.name}（{i.code}）") for i in items.values()]
    if formdata is not None:  # none chosen, or one this clerk's units do not handle
        pick.item.errors = [_("请选择事项") if not formdata.get("item") else _("请选择本单位办理的事项")]
    return render_template("clerk/walk_in_item.html", pick=pick)


def _read_scans(guide) -> tuple[list[ops.Scan], dict[int, str]]:
    """Every scanned file, checked and re-encoded like a citizen's upload; a refused one gets its
    message at its own document."""
    scans: list[ops.Scan] = []
    errors: dict[int, str] = {}
    for d in guide.to_bring:
        for upload in request.files.getlist(f"doc-{d.position}"):
            if not upload or not upload.filename:
                continue
            try:
                clean = clean_upload(upload.filename, upload.read(MAX_BYTES + 1), allowed=d.accept)
            except UploadRejected as exc:
                errors[d.position] = f"{upload.filename}：{_(exc.message)}"
                continue
            scans.append(ops.Scan(d.position, clean))
    return scans, errors


@bp.route("/walk-in", methods=["GET", "POST"])
@staff_only
def walk_in():
    """窗口登记: choose the item (and the situation), then one page with the person, the item's own
    application form, the scans and the visit; a receipt to print at the end."""
    items = _walk_in_items()
    source = request.form if request.method == "POST" else request.args
    item = items.get(source.get("item", ""))
    if item is None:
        if request.method == "POST" or source.get("item"):
            return _pick_item(items, source), 422
        return _pick_item(items)
    guide = build_guide(item, {s.key: source.get(s.key, "") for s in item.situations})
    if request.method == "GET" and item.situations and not source.get("answered"):
        return render_template("clerk/walk_in_situations.html", item=item, guide=guide)
    formdata = None
    if request.method == "POST":
        formdata = request.form.copy()
        if not formdata.get("contact_mobile"):
            formdata["contact_mobile"] = formdata.get("mobile", "")
    form = WalkInForm(formdata=formdata)
    is_proxy = guide.answers.get("applicant") == "proxy"
    windows = pickup_units(item)
    app_form = build_application_form(
        guide.fields, item.delivery, windows, is_proxy, formdata=formdata, meta={"csrf": False}
    )
    doc_errors: dict[int, str] = {}
    deferred: set[int] = set()
    if request.method == "GET":
        form.token.data = secrets.token_urlsafe(24)
        form.item.data = item.code
    else:
        valid = form.validate_on_submit()
        valid = app_form.validate() and valid
        scans, doc_errors = _read_scans(guide)
        given = {s.requirement for s in scans}
        deferred = {
            d.position
            for d in guide.to_bring
            if d.requirement == "deferrable" and request.form.get(f"defer-{d.position}")
        }
        for position, message in ops.missing_scans(guide, given, deferred).items():
            doc_errors.setdefault(position, _(message))
        if valid and not doc_errors:
            token = form.token.data or ""
            earlier = ops.walk_in_for_token(current_user, token) if token else None
            if earlier is not None:  # a double-clicked 登记: the first one stands
                return redirect(url_for("clerk.walk_in_receipt", application_id=earlier.id))
            values = application_values(app_form, guide.fields)
            if app_form.pickup_unit.data:
                values["pickup_unit_id"] = {u.code: u.id for u in windows}.get(app_form.pickup_unit.data)
            try:
                with transaction(form) as tx:
                    citizen = ops.register_walk_in_citizen(
                        current_user,
                        real_name=form.real_name.data,
                        id_number=form.id_number.data,
                        mobile=form.mobile.data,
                    )
                    app = ops.register_walk_in(
                        current_user,
                        citizen=citizen,
                        item=item,
                        answers=guide.answers,
                        district=app_form.district.data,
                        token=token or secrets.token_urlsafe(24),
                        values=values,
                        scans=scans,
                        deferred=deferred,
                        purpose=form.purpose.data,
                        note=form.visit_note.data or "",
                        storage=get_storage(),
                    )
            except IntegrityError:
                # the same form posted twice at once: the other request made the account and the case
                earlier = ops.walk_in_for_token(current_user, token) if token else None
                if earlier is None:
                    raise
                return redirect(url_for("clerk.walk_in_receipt", application_id=earlier.id))
            if tx.ok:
                flash(
                    _("窗口申请已登记，办件编号 %(ref)s。请打印受理回执交申请人。", ref=app.reference),
                    "success",
                )
                return redirect(url_for("clerk.walk_in_receipt", application_id=app.id))
            if isinstance(tx.error, IncompleteApplication):
                for anchor, message in tx.error.problems:
                    if anchor.startswith("doc-"):
                        doc_errors[int(anchor.removeprefix("doc-"))] = _(message)
                    else:
                        form.form_errors.append(_(message))
    page = render_template(
        "clerk/walk_in.html",
        form=form,
        app_form=app_form,
        item=item,
        guide=guide,
        is_proxy=is_proxy,
        doc_errors=doc_errors,
        deferred=deferred,
        retyped_files=request.method == "POST" and bool(request.files),
    )
    return page, 422 if request.method == "POST" else 200


@bp.route("/applications/<int:application_id>/receipt")
@staff_only
def walk_in_receipt(application_id: int):
    """The printable 受理回执 the counter hands over: reference, item, documents received (and owed),
    the promised completion date and how to follow the case on line."""
    app = _load(application_id)
    item = pinned_item(app)
    guide = build_guide(item, app.answers or {})
    received: dict[int, list] = {}
    for d in app.documents:
        received.setdefault(d.requirement, []).append(d)
    return render_template(
        "clerk/walk_in_receipt.html",
        app=app,
        item=item,
        guide=guide,
        received=received,
        owed=owed_documents(app, guide),
        promised=ops.promised_completion(app, item),
        unit=db.session.get(Unit, app.unit_id) if app.unit_id else None,
        visit=app.visits[0] if app.visits else None,
    )


# Routing rules (admins) -------------------------------------------------------------------------

admin_bp = Blueprint("routing_admin", __name__, url_prefix="/admin/routing")


def _rule_form(formdata=None) -> RoutingRuleForm:
    form = RoutingRuleForm(formdata=formdata)
    units = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    form.unit.choices = [("", _("请选择"))] + [(str(u.id), u.name) for u in units]
    form.approving_unit.choices = [("", _("同受理单位"))] + [(str(u.id), u.name) for u in units]
    form.item.choices = [("", _("不限"))] + [
        (str(i.id), f"{i.code} {i.name}") for i in sorted(catalog().items.values(), key=lambda i: i.code)
    ]
    form.category.choices = [("", _("不限"))] + [
        (str(c.id), c.name) for c in db.session.scalars(select(Category).order_by(Category.position))
    ]
    return form


@admin_bp.route("/", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def rules():
    form = _rule_form(request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        with transaction(form) as tx:
            rules_ops.create_rule(
                position=form.position.data,
                item_id=int(form.item.data) if form.item.data else None,
                category_id=int(form.category.data) if form.category.data else None,
                district=form.district.data or None,
                unit_id=int(form.unit.data),
                approving_unit_id=int(form.approving_unit.data) if form.approving_unit.data else None,
                note=form.note.data or "",
            )
        if tx.ok:
            flash(_("规则已添加。"), "success")
            return redirect(url_for("routing_admin.rules"))
    rows = db.session.scalars(
        select(RoutingRule).order_by(RoutingRule.active.desc(), RoutingRule.position, RoutingRule.id)
    ).all()
    return render_template("clerk/routing.html", form=form, rows=rows, simple=SimpleForm()), (
        422 if request.method == "POST" else 200
    )


@admin_bp.route("/<int:rule_id>/toggle", methods=["POST"])
@role_required(Role.ADMIN)
def toggle(rule_id: int):
    if db.session.get(RoutingRule, rule_id) is None:
        abort(404)
    if SimpleForm().validate_on_submit():
        with transaction():
            rules_ops.toggle_rule(rule_id)
    return redirect(url_for("routing_admin.rules"))
