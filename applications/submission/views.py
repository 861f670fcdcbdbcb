"""The citizen's half: apply online step by step, 我的办件, the document wallet, authorised downloads."""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm.exc import StaleDataError

from applications.bundles import queries as bundle_queries
from applications.bundles.models import BundlePart
from applications.bundles.operations import is_held_draft
from applications.bundles.queries import HAS_CARDS
from applications.documents.uploads import MAX_BYTES, UploadRejected, clean_upload
from applications.ecert.operations import certificates_of
from applications.ecert.queries import held_certificates
from applications.models import OPEN_STATES, Application, ApplicationDocument, TrustLevel, WalletDocument
from applications.notify.inbox import mark_read
from applications.submission import operations as ops
from applications.submission.forms import ActionForm, StartForm, SubmitForm, application_values
from applications.submission.pinned import item_names
from applications.workflow.deadlines import DEFERRAL_WORKING_DAYS
from applications.workflow.states import CLOSED, STATE_LABELS, InvalidTransition, State
from auth.models import Assurance, Role, Unit
from auth.policies import role_required
from catalog import queries as catalog_queries
from catalog.application_form import build_application_form
from catalog.guide import build_guide
from catalog.queries import catalog
from core.crypto import DecryptionError
from core.db import db, load_collections, writes_on_get
from core.downloads import private_download_headers, stored_file_response
from core.errors import DomainError, NotFound
from core.extensions import limiter
from core.outbox import OutboxMessage
from core.storage import get_storage
from core.transaction import transaction

bp = Blueprint("applications", __name__)
citizen_only = role_required(Role.CITIZEN)


def _own(application_id: int) -> Application:
    try:
        app = ops.get_own_application(current_user, application_id)
    except NotFound:
        abort(404)
    if app.state == State.DRAFT and is_held_draft(app):
        # a 一件事 item waiting for another step: it starts by itself, never edited, submitted or
        # withdrawn on its own (the bundle's pages show it)
        abort(404)
    return app


# Start -------------------------------------------------------------------------------------------


@bp.route("/apply/<code>", methods=["GET", "POST"])
@citizen_only
def start(code: str):
    item = catalog().items.get(code)
    if item is None:
        abort(404)
    form = StartForm()
    if form.validate_on_submit():
        answers = {s.key: request.form.get(s.key, "") for s in item.situations}
        with transaction() as tx:
            app = ops.start_application(current_user, item, answers, form.token.data)
        if tx.ok:
            return redirect(url_for("applications.edit_form", application_id=app.id))
        flash(tx.message, "warning")
        return redirect(url_for("auth.profile"))
    answers = {s.key: request.args.get(s.key, "") for s in item.situations}
    shown = catalog_queries.for_display(item)
    guide = build_guide(shown, answers)
    form.token.data = secrets.token_urlsafe(24)
    return render_template("applications/start.html", item=shown, guide=guide, form=form)


# Steps -------------------------------------------------------------------------------------------


def _form_for(app: Application, item, guide, pickup_units: list[Unit], formdata=None):
    data = ops.form_values(app, guide)
    if formdata is None:
        # asked once: what the account already says is filled in (and can be changed)
        data["contact_mobile"] = data["contact_mobile"] or current_user.mobile
        data["recipient"] = data["recipient"] or current_user.real_name
        data["recipient_mobile"] = data["recipient_mobile"] or data["contact_mobile"]
    return build_application_form(
        guide.fields,
        item.delivery,
        pickup_units,
        app.is_proxy,
        formdata=formdata,
        data=data,
    )


@bp.route("/applications/<int:application_id>/form", methods=["GET", "POST"])
@citizen_only
def edit_form(application_id: int):
    app = _own(application_id)
    if app.state != State.DRAFT:
        return redirect(url_for("applications.detail", application_id=app.id))
    # labels in the reader's language; the answers are keyed by field key
    item = catalog_queries.for_display(ops.pinned_item(app))
    guide = build_guide(item, app.answers)
    pickup_units = ops.pickup_units(item)
    if request.method == "POST":
        form = _form_for(app, item, guide, pickup_units, formdata=request.form)
        valid = form.validate()
        values = application_values(form, guide.fields)
        if form.pickup_unit.data:
            # only a window this item offers: not any unit code a hand-made POST names
            offered = {u.code: u.id for u in pickup_units}
            values["pickup_unit_id"] = offered.get(form.pickup_unit.data)
        with transaction(form) as tx:
            ops.save_form(app, values)  # keep what was typed, valid or not
        if tx.ok and valid and "next" in request.form:
            return redirect(url_for("applications.edit_documents", application_id=app.id))
        if tx.ok and "next" not in request.form:
            # 保存草稿 checks nothing but what cannot be stored (a date that is no date): a half-filled
            # form is a saved draft, not a failure; the rest is checked on 下一步 and at submit
            unreadable = [f for f in form if f.process_errors]
            if not unreadable:
                flash(_("草稿已保存。提交前会检查是否填写完整。"), "success")
                return redirect(url_for("applications.edit_form", application_id=app.id))
            for f in form:
                f.errors = list(f.process_errors)
            form.form_errors.clear()
        return render_template(
            "applications/form.html", app=app, item=item, guide=guide, form=form, step=1
        ), 422
    form = _form_for(app, item, guide, pickup_units)
    return render_template("applications/form.html", app=app, item=item, guide=guide, form=form, step=1)


@bp.route("/applications/<int:application_id>/documents", methods=["GET", "POST"])
@citizen_only
def edit_documents(application_id: int):
    app = _own(application_id)
    if app.state not in (State.DRAFT,):
        return redirect(url_for("applications.detail", application_id=app.id))
    item = ops.pinned_item(app)
    guide = build_guide(item, app.answers)
    errors: dict[int, str] = {}
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        with transaction():
            errors = _take_uploads(app, guide)  # a refused file gets its message; the others are kept
        if not errors and "next" in request.form:
            return redirect(url_for("applications.review", application_id=app.id))
        if not errors:
            flash(_("材料已保存。"), "success")
            return redirect(url_for("applications.edit_documents", application_id=app.id))
    wallet = ops.matching_wallet(current_user, item)
    status = 422 if errors else 200
    held = held_certificates(app, guide.to_bring)
    shown = catalog_queries.for_display(item)
    return render_template(
        "applications/documents.html",
        app=app,
        item=shown,
        guide=build_guide(shown, app.answers) if shown is not item else guide,
        form=form,
        errors=errors,
        wallet=wallet,
        held=held,
        step=2,
    ), status


def _take_uploads(app: Application, guide) -> dict[int, str]:
    """Store every accepted file; a refused one gets its message at its own field, the rest is kept."""
    errors: dict[int, str] = {}
    storage = get_storage()
    wallet_ids = {}
    for d in guide.to_bring:
        choice = request.form.get(f"wallet-{d.position}")
        if choice and choice.isdigit():
            wallet_ids[d.position] = int(choice)

    for d in guide.to_bring:
        upload = request.files.get(f"doc-{d.position}")
        if upload and upload.filename:
            data = upload.read(ops_max_bytes() + 1)
            try:
                clean = clean_upload(upload.filename, data, allowed=d.accept)
                ops.attach_document(app, d.position, clean, storage, item=guide.item)
            except UploadRejected as exc:
                errors[d.position] = _(exc.message)
            except DomainError as exc:
                errors[d.position] = _(str(exc))
        elif d.position in wallet_ids:
            wallet_doc = db.session.get(WalletDocument, wallet_ids[d.position])
            if wallet_doc is None or wallet_doc.owner_id != current_user.id:
                errors[d.position] = _("所选材料不存在。")
                continue
            try:
                ops.use_wallet_document(app, d.position, wallet_doc)
            except DomainError as exc:
                errors[d.position] = _(str(exc))
    return errors


def ops_max_bytes() -> int:

    return MAX_BYTES


@bp.route("/applications/<int:application_id>/principal", methods=["POST"])
@citizen_only
@limiter.limit("10 per hour")
def request_principal(application_id: int):
    """Ask the principal to confirm the authorisation online instead of uploading a 委托书."""
    app = _own(application_id)
    if ActionForm().validate_on_submit():
        with transaction() as tx:
            ops.request_principal_confirmation(app, current_user)
        flash(_(ops.PRINCIPAL_ASKED) if tx.ok else tx.message, "info" if tx.ok else "warning")
    return redirect(url_for("applications.edit_documents", application_id=application_id))


@bp.route("/me/authorisations")
@citizen_only
def authorisations():
    """Applications other people started on my behalf (亲友代办), to confirm."""
    rows = db.session.scalars(
        select(Application)
        .where(Application.principal_user_id == current_user.id)
        .order_by(Application.created_at.desc())
        .limit(100)
    ).all()
    items = {a.id: ops.pinned_item(a) for a in rows}
    return render_template(
        "applications/authorisations.html", rows=rows, items=items, form=ActionForm(), labels=STATE_LABELS
    )


@bp.route("/me/authorisations/<int:application_id>/confirm", methods=["POST"])
@citizen_only
def confirm_authorisation(application_id: int):
    if ActionForm().validate_on_submit():
        with transaction() as tx:  # NotFound goes on to the 404 page
            ops.confirm_as_principal(current_user, application_id)
        if tx.ok:
            flash(_("已确认授权。"), "success")
        else:
            flash(tx.message, "warning")
    return redirect(url_for("applications.authorisations"))


@bp.route("/applications/<int:application_id>/documents/<int:document_id>/remove", methods=["POST"])
@citizen_only
def remove_document(application_id: int, document_id: int):
    app = _own(application_id)
    if ActionForm().validate_on_submit():
        with transaction() as tx:  # NotFound goes on to the 404 page
            ops.remove_document(app, document_id)
        if not tx.ok:
            flash(tx.message, "warning")
    return redirect(url_for("applications.edit_documents", application_id=app.id))


@bp.route("/applications/<int:application_id>/review")
@citizen_only
def review(application_id: int):
    app = _own(application_id)
    if app.state != State.DRAFT:
        return redirect(url_for("applications.detail", application_id=app.id))
    item = ops.pinned_item(app)
    guide = build_guide(item, app.answers)
    problems = ops.check_complete(app, item)
    shown = catalog_queries.for_display(item)
    return render_template(
        "applications/review.html",
        app=app,
        item=shown,
        guide=build_guide(shown, app.answers) if shown is not item else guide,
        problems=problems,
        form=SubmitForm(),
        owed=ops.owed_documents(app, guide),
        deferral_days=DEFERRAL_WORKING_DAYS,
        step=3,
        unit_names=_unit_names(),
    )


def _unit_names() -> dict[int, str]:
    return catalog_queries.catalog().unit_names()


@bp.route("/applications/<int:application_id>/submit", methods=["POST"])
@citizen_only
def submit(application_id: int):
    app = _own(application_id)
    form = SubmitForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with transaction() as tx:
            ops.submit(app, current_user)
    except StaleDataError:
        # not a DomainError: the helper has rolled back and re-raised it
        return redirect(url_for("applications.done", application_id=application_id))
    if isinstance(tx.error, ops.IncompleteApplication):
        flash(_("申请还不完整，请按提示补充后再提交。"), "danger")
        return redirect(url_for("applications.review", application_id=application_id))
    return redirect(url_for("applications.done", application_id=application_id))  # submitted, maybe already


@bp.route("/applications/<int:application_id>/done")
@citizen_only
def done(application_id: int):
    app = _own(application_id)
    if app.state == State.DRAFT:
        return redirect(url_for("applications.review", application_id=app.id))
    item = ops.pinned_item(app)
    return render_template(
        "applications/done.html",
        app=app,
        item=catalog_queries.for_display(item),
        owed=[d for d in ops.deferrals_of(app) if d.fulfilled_at is None],
        unit_names=_unit_names(),
    )


# 我的办件 ----------------------------------------------------------------------------------------


#: 我的办件's list: built once per worker, so a request neither builds the statement nor works out its
#: cache key again (SQLAlchemy memoises the key on the statement object). A 一件事's applications show
#: inside its bundle card, not as separate ones. Plain rows of what the list shows: whole applications
#: decoded every answer, form and result (JSON) and decrypted the contact and principal columns of each.
_MY_APPLICATIONS = (
    select(
        Application.id,
        Application.version_id,
        Application.is_proxy,
        Application.reference,
        Application.state,
        Application.promised_due,
        Application.updated_at,
        HAS_CARDS,
    )
    .where(Application.applicant_id == bindparam("applicant_id"))
    .where(~exists().where(BundlePart.application_id == Application.id))
    .order_by(Application.updated_at.desc())
    .limit(200)
)


@bp.route("/me/applications")
@citizen_only
def my_applications():
    apps = db.session.execute(_MY_APPLICATIONS, {"applicant_id": current_user.id}).all()
    # each row says whether the citizen has a 一件事 card; with no row there is nothing to read it from
    has_cards = apps[0].has_cards if apps else True
    return render_template(
        "applications/list.html",
        apps=apps,
        names=item_names(apps),
        labels=STATE_LABELS,
        bundles=bundle_queries.cards_for(current_user) if has_cards else [],
    )


@bp.route("/applications/<int:application_id>")
@citizen_only
def detail(application_id: int):
    return _render_detail(_own(application_id))


def _render_detail(app: Application, status: int = 200, deferral_errors: dict[int, str] | None = None):
    load_collections(app, "events", "documents", "deferrals")  # all three are on the page
    item = ops.pinned_item(app)
    guide = build_guide(item, app.answers)
    correction = ops.correction_event(app)
    asks = ops.correction_asks(app, guide) if app.state == State.CORRECTION_REQUESTED else []
    since = correction.at if correction is not None else None
    answered = {
        d.requirement for d in app.documents if d.for_correction and (since is None or d.created_at >= since)
    }
    return render_template(
        "applications/detail.html",
        asks=asks,
        answered=answered,
        app=app,
        item=item,
        guide=guide,
        labels=STATE_LABELS,
        form=ActionForm(),
        owed=ops.owed_documents(app, guide),
        closed=CLOSED,
        correction=correction,
        unit_names=_unit_names(),
        deferrals=ops.deferrals_of(app, guide),
        deferral_docs={d.position: d for d in guide.to_bring},
        deferral_wallet=ops.matching_wallet(current_user, item) if app.state in OPEN_STATES else {},
        deferral_errors=deferral_errors or {},
        open_states=OPEN_STATES,
    ), status


@bp.route("/applications/<int:application_id>/deferred/<int:requirement>", methods=["POST"])
@citizen_only
def give_deferred(application_id: int, requirement: int):
    """补交 one 容缺 document after submitting: a new upload (checked and re-encoded like every upload)
    or a document from 我的材料; a refusal is shown at the document on the detail page (422)."""
    app = _own(application_id)
    if not ActionForm().validate_on_submit():
        flash(_("页面已过期，请重新提交。"), "warning")
        return redirect(url_for("applications.detail", application_id=app.id, _anchor="deferred"))
    accept = next((d.accept for d in ops.pinned_item(app).documents if d.position == requirement), ())
    upload = request.files.get("file")
    choice = request.form.get("wallet", "")
    clean = wallet_doc = None
    if upload and upload.filename and accept:  # no accept list: not its document, the operation says so
        try:
            clean = clean_upload(upload.filename, upload.read(MAX_BYTES + 1), allowed=accept)
        except UploadRejected as exc:
            return _render_detail(app, 422, {requirement: _(exc.message)})
    elif choice.isdigit():
        wallet_doc = db.session.get(WalletDocument, int(choice))
        if wallet_doc is None or wallet_doc.owner_id != current_user.id:
            return _render_detail(app, 422, {requirement: _("所选材料不存在。")})
    with transaction() as tx:
        deferral = ops.give_deferred_document(
            app, requirement, current_user, clean=clean, wallet_doc=wallet_doc, storage=get_storage()
        )
    if not tx.ok:
        return _render_detail(app, 422, {requirement: tx.message})
    if deferral.late:
        flash(
            _(
                "“%(name)s”已补交。已超过补交期限 %(due)s，材料仍已送达办理单位；"
                "如影响办理，工作人员会通知您补正。",
                name=deferral.requirement_name,
                due=deferral.due_on.isoformat(),
            ),
            "warning",
        )
    else:
        flash(_("“%(name)s”已补交，办理单位已收到通知。", name=deferral.requirement_name), "success")
    return redirect(url_for("applications.detail", application_id=app.id, _anchor="deferred"))


@bp.route("/applications/<int:application_id>/withdraw", methods=["GET", "POST"])
@citizen_only
def withdraw(application_id: int):
    """GET: a page that says what withdrawing does and asks to confirm (works without JavaScript);
    POST (its button): withdraw."""
    app = _own(application_id)
    if request.method == "GET":
        return render_template(
            "applications/confirm.html",
            title=_("撤回申请"),
            heading=_("确定要撤回申请 %(ref)s 吗？", ref=app.reference or _("（草稿）")),
            consequences=[
                _("撤回后，该申请不再办理，已暂停的计时不再恢复；如需办理须重新申请。"),
                _("已上传的材料仍保留在“我的材料”中，下次申请可直接选用。"),
            ],
            action=url_for("applications.withdraw", application_id=app.id),
            confirm=_("确认撤回"),
            back=url_for("applications.detail", application_id=app.id),
            reason=True,
            form=ActionForm(),
        )
    if ActionForm().validate_on_submit():
        try:
            with transaction():
                ops.withdraw(app, current_user, request.form.get("reason", "")[:200])
            flash(_("申请已撤回。"), "info")
        except (InvalidTransition, StaleDataError):
            # not DomainErrors: the helper has rolled back and re-raised them
            flash(_("当前状态不能撤回，请刷新后查看最新进度。"), "warning")
    return redirect(url_for("applications.detail", application_id=application_id))


@bp.route("/applications/<int:application_id>/correction", methods=["POST"])
@citizen_only
def answer_correction(application_id: int):
    """Upload exactly what the correction asked for, then resubmit (back to the same unit)."""
    app = _own(application_id)
    if app.state != State.CORRECTION_REQUESTED or not ActionForm().validate_on_submit():
        return redirect(url_for("applications.detail", application_id=app.id))
    item = ops.pinned_item(app)
    guide = build_guide(item, app.answers)
    resubmit = "resubmit" in request.form
    replies = {k.removeprefix("reply-"): v for k, v in request.form.items() if k.startswith("reply-")}
    missing: list = []
    try:
        with transaction():
            errors = _take_uploads(app, guide)  # the accepted files are kept even when one is refused
        if resubmit and not errors:
            with transaction() as tx:  # what was uploaded above is committed already, and kept
                ops.answer_correction(app, current_user, guide, replies)
            if isinstance(tx.error, ops.IncompleteCorrection):
                missing = tx.error.missing
            elif tx.error is not None:
                flash(tx.message, "warning")
    except (InvalidTransition, StaleDataError):
        # not DomainErrors: the helper has rolled back and re-raised them
        flash(_("当前状态不能提交补正，请刷新后查看。"), "warning")
        return redirect(url_for("applications.detail", application_id=app.id))
    for message in errors.values():
        flash(message, "danger")
    for ask in missing:
        flash(_("还缺：%(target)s（%(note)s）", target=ask.target, note=ask.note), "danger")
    if resubmit and not errors and not missing:
        flash(_("补正材料已提交，请等待审核。"), "success")
    return redirect(url_for("applications.detail", application_id=app.id))


@bp.route("/applications/<int:application_id>/files/<int:document_id>")
@login_required
def download(application_id: int, document_id: int):
    """Authorised download: the applicant only (clerks get their own route with the queues)."""
    app = _own(application_id)
    doc = db.session.scalar(
        select(ApplicationDocument).where(
            ApplicationDocument.id == document_id, ApplicationDocument.application_id == app.id
        )
    )
    if doc is None:
        abort(404)
    return _file_response(doc.storage_key, doc.mimetype, doc.display_name)


def _file_response(key: str, mimetype: str, name: str) -> Response:
    try:
        response = stored_file_response(key, mimetype)
    except DecryptionError:
        raise  # a damaged file: the error page says so (core.errors), not "not found"
    except (FileNotFoundError, ValueError):
        abort(404)
    ascii_name = "document" + (name[name.rfind(".") :] if "." in name else "")
    return private_download_headers(response, name, ascii_name)


# Wallet and messages -----------------------------------------------------------------------------


@bp.route("/me/wallet")
@citizen_only
def wallet():
    return render_template(
        "applications/wallet.html",
        docs=ops.wallet_for(current_user),
        certs=certificates_of(current_user),
        form=ActionForm(),
    )


@bp.route("/me/wallet/<int:wallet_id>/delete", methods=["GET", "POST"])
@citizen_only
def wallet_delete(wallet_id: int):
    """GET: confirm first, saying what deleting does (an e-certificate must be applied for again);
    POST (its button): delete."""
    if request.method == "GET":
        doc = db.session.scalar(
            select(WalletDocument).where(
                WalletDocument.id == wallet_id, WalletDocument.owner_id == current_user.id
            )
        )
        if doc is None:
            abort(404)
        consequences = [_("删除后，下次申请时需要重新上传这份材料。")]
        if doc.trust_level == TrustLevel.A:
            consequences.insert(
                0, _("这是政府部门核发的材料（可信等级 A），删除后无法自行恢复，需要重新申请开具。")
            )
        return render_template(
            "applications/confirm.html",
            title=_("删除材料"),
            heading=_("确定要删除“%(name)s”吗？", name=doc.doc_type),
            consequences=consequences,
            action=url_for("applications.wallet_delete", wallet_id=wallet_id),
            confirm=_("确认删除"),
            back=url_for("applications.wallet"),
            reason=False,
            form=ActionForm(),
        )
    if ActionForm().validate_on_submit():
        with transaction():  # NotFound goes on to the 404 page
            ops.delete_wallet_document(current_user, wallet_id, get_storage())
        flash(_("材料已删除。"), "info")
    return redirect(url_for("applications.wallet"))


@bp.route("/me/wallet/<int:wallet_id>/file")
@citizen_only
def wallet_file(wallet_id: int):

    doc = db.session.scalar(
        select(WalletDocument).where(
            WalletDocument.id == wallet_id, WalletDocument.owner_id == current_user.id
        )
    )
    if doc is None:
        abort(404)
    if doc.source_application_id is not None and current_user.level < Assurance.L2:
        # an e-certificate the bureau issued: downloading it needs real-name verification (DESIGN §6)
        flash(
            _("下载电子证照须实名认证（L2）：请在“个人中心”进行人口信息核验，或到任一公安窗口核验。"),
            "warning",
        )
        return redirect(url_for("applications.wallet"))
    return _file_response(doc.storage_key, doc.mimetype, doc.display_name)


@bp.route("/me/messages")
@login_required
@writes_on_get
def messages():
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.user_id == current_user.id)
        .order_by(OutboxMessage.created_at.desc())
        .limit(100)
    ).all()
    new = {m.id for m in rows if m.read_at is None}
    with transaction():
        mark_read(current_user.id, sorted(new))  # shown once as new, then read
    return render_template("applications/messages.html", rows=rows, new=new)
