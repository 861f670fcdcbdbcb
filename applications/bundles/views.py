"""The citizen's 一件事 application pages: start from the public bundle page, one page per section
(共同信息 / 情形 / 各事项补充信息 / 共用材料 / 送达方式), check your answers, submit, done.

Thin views: the rules live in :mod:`applications.bundles.operations`; one transaction per request.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from applications.bundles import forms as bforms
from applications.bundles import operations as ops
from applications.bundles.models import (
    PART_STATUS_LABELS,
    BundleApplication,
    BundleState,
    PartKind,
)
from applications.documents.uploads import MAX_BYTES, UploadRejected, clean_upload
from applications.models import Application, WalletDocument
from applications.submission.forms import StartForm
from applications.submission.views import _file_response
from auth.models import Role, Unit
from auth.policies import role_required
from catalog.districts import DISTRICTS
from catalog.models import ExternalDepartment
from core.db import db
from core.errors import DomainError, NotFound
from core.storage import get_storage
from core.transaction import transaction

bp = Blueprint("bundles_apply", __name__)
citizen_only = role_required(Role.CITIZEN)

_SECTION_RULE = (
    "/bundle-applications/<int:bundle_id>/<any(shared, situations, items, documents, delivery):section>"
)


def init_apply(app: Flask) -> None:
    """Register the 一件事 application pages and the public page's 在线一次申请 button."""
    app.register_blueprint(bp)
    app.jinja_env.globals["bundle_apply_url"] = bundle_apply_url


def bundle_apply_url(code: str) -> str | None:
    """The 在线一次申请 link of a bundle, when it has a published flow (else None: a guide page only)."""
    return url_for("bundles_apply.start", code=code) if ops.published_version(code) is not None else None


def _own(bundle_id: int) -> BundleApplication:
    try:
        return ops.get_own_bundle(current_user, bundle_id)
    except NotFound:
        abort(404)


def _sections(bundle: BundleApplication) -> list[str]:
    """The sections this bundle asks, in order (one with nothing to ask is skipped)."""
    defn = ops.definition_of(bundle)
    steps = ops.item_steps(bundle, defn)
    out = ["shared"]
    if defn.situations:
        out.append("situations")
    if any(s.own_fields for s in steps):
        out.append("items")
    if any(not n.fetched for n in ops.document_needs(steps, bundle.applicant_id)):
        out.append("documents")
    out.append("delivery")
    return out


def _next_url(bundle: BundleApplication, section: str) -> str:
    sections = _sections(bundle)
    later = sections[sections.index(section) + 1 :] if section in sections else []
    if later:
        return url_for("bundles_apply.section", bundle_id=bundle.id, section=later[0])
    return url_for("bundles_apply.review", bundle_id=bundle.id)


# Start -------------------------------------------------------------------------------------------


@bp.route("/bundles/<code>/apply", methods=["GET", "POST"])
@citizen_only
def start(code: str):
    found = ops.published_version(code)
    if found is None:
        abort(404)
    bundle_row, version = found
    form = StartForm()
    if form.validate_on_submit():
        with transaction() as tx:
            bundle = ops.start_bundle(current_user, code, form.token.data)
        if tx.ok:
            return redirect(url_for("bundles_apply.section", bundle_id=bundle.id, section="shared"))
        flash(tx.message, "warning")
        return redirect(url_for("catalog.bundle", code=code))
    from catalog import bundle_spec

    defn = bundle_spec.parse(version.definition)
    form.token.data = secrets.token_urlsafe(24)
    return render_template(
        "bundles/apply_start.html",
        bundle=bundle_row,
        defn=defn,
        departments=_department_names(),
        form=form,
    )


def _department_names() -> dict[str, str]:
    return {d.code: d.name for d in db.session.scalars(select(ExternalDepartment))}


# Sections ----------------------------------------------------------------------------------------


@bp.route(_SECTION_RULE, methods=["GET", "POST"])
@citizen_only
def section(bundle_id: int, section: str):
    bundle = _own(bundle_id)
    if bundle.state != BundleState.DRAFT:
        return redirect(url_for("bundles_apply.done", bundle_id=bundle.id))
    try:
        return _SECTION_HANDLERS[section](bundle)
    except ops.BundleUnavailable as exc:
        flash(_(str(exc)), "warning")
        return redirect(url_for("bundles_apply.review", bundle_id=bundle.id))


def _render(bundle: BundleApplication, section: str, status: int = 200, **context):
    return render_template(
        "bundles/apply_section.html",
        status_error=status == 422,
        bundle=bundle,
        name=ops.bundle_name(bundle),
        section=section,
        sections=_sections(bundle),
        labels=ops.SECTION_LABELS,
        **context,
    ), status


def _after_save(bundle: BundleApplication, section: str, tx, valid: bool, render):
    """Next section when the page was valid and saved; the page again (422) with the messages."""
    if tx.ok and valid:
        return redirect(_next_url(bundle, section))
    if not tx.ok and tx.error is not None:
        flash(tx.message, "warning")
    return render()


def _shared(bundle: BundleApplication):
    defn = ops.definition_of(bundle)
    fields = ops.shared_fields(defn)
    ask_contact = ops.contact_key(defn) is None
    if request.method == "POST":
        form = bforms.shared_form(fields, ask_contact, formdata=request.form)
        valid = form.validate()
        with transaction() as tx:
            ops.save_shared(
                bundle,
                district=form.district.data,
                contact_mobile=form.contact_mobile.data if ask_contact else None,
                shared=bforms.fields_values(form, fields),
            )
        return _after_save(
            bundle,
            "shared",
            tx,
            valid,
            lambda: _render(_own(bundle.id), "shared", 422, form=form, fields=fields),
        )
    answers = bundle.answers or {}
    data = {
        "district": bundle.district,
        "contact_mobile": answers.get("contact_mobile") or current_user.mobile,
        **bforms.stored_for_form(fields, answers.get("shared") or {}),
    }
    form = bforms.shared_form(fields, ask_contact, data=data)
    return _render(bundle, "shared", form=form, fields=fields)


def _situations(bundle: BundleApplication):
    defn = ops.definition_of(bundle)
    if request.method == "POST":
        form = bforms.situations_form(defn.situations, formdata=request.form)
        valid = form.validate()
        with transaction() as tx:
            ops.save_situations(bundle, {s.key: form[s.key].data or "" for s in defn.situations})
        return _after_save(
            bundle,
            "situations",
            tx,
            valid,
            lambda: _render(_own(bundle.id), "situations", 422, form=form, situations=defn.situations),
        )
    form = bforms.situations_form(defn.situations, data=dict((bundle.answers or {}).get("situations") or {}))
    return _render(bundle, "situations", form=form, situations=defn.situations)


def _items(bundle: BundleApplication):
    steps = [s for s in ops.item_steps(bundle) if s.own_fields]
    stored = (bundle.answers or {}).get("items") or {}
    # one form per item (its fields prefixed with the step key); one CSRF token for the page
    csrf_form = bforms.SubmitForm()
    no_csrf = {"csrf": False}
    if request.method == "POST":
        forms = {
            s.step.key: bforms.build_fields_form(
                s.own_fields, prefix=f"{s.step.key}-", formdata=request.form, meta=no_csrf
            )
            for s in steps
        }
        valid = all([csrf_form.validate_on_submit(), *[f.validate() for f in forms.values()]])
        with transaction() as tx:
            ops.save_item_answers(
                bundle, {s.step.key: bforms.fields_values(forms[s.step.key], s.own_fields) for s in steps}
            )
        return _after_save(
            bundle,
            "items",
            tx,
            valid,
            lambda: _render(_own(bundle.id), "items", 422, steps=steps, forms=forms, csrf_form=csrf_form),
        )
    forms = {
        s.step.key: bforms.build_fields_form(
            s.own_fields,
            prefix=f"{s.step.key}-",
            data=bforms.stored_for_form(s.own_fields, stored.get(s.step.key) or {}),
            meta=no_csrf,
        )
        for s in steps
    }
    return _render(bundle, "items", steps=steps, forms=forms, csrf_form=csrf_form)


def _documents(bundle: BundleApplication):
    defn = ops.definition_of(bundle)
    steps = ops.item_steps(bundle, defn)
    needs = ops.with_definition_documents(ops.document_needs(steps, bundle.applicant_id), defn)
    errors: dict[str, str] = {}
    form = bforms.SubmitForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            errors["_form"] = _("页面已过期，请重新提交。")
        else:
            with transaction():
                errors = _take_uploads(bundle, needs)  # a refused file gets its message; the rest is kept
            bundle = _own(bundle.id)
            if not errors:
                return redirect(_next_url(bundle, "documents"))
    wallet = ops.matching_wallet(current_user, needs, steps)
    return _render(
        bundle,
        "documents",
        422 if errors else 200,
        needs=needs,
        errors=errors,
        wallet=wallet,
        given={d.doc_key: d for d in bundle.documents},
        form=form,
    )


def _take_uploads(bundle: BundleApplication, needs: list[ops.DocumentNeed]) -> dict[str, str]:
    errors: dict[str, str] = {}
    storage = get_storage()
    for need in needs:
        if need.fetched:
            continue
        key = need.doc.key
        upload = request.files.get(f"doc-{key}")
        choice = request.form.get(f"wallet-{key}", "")
        try:
            if upload and upload.filename:
                clean = clean_upload(upload.filename, upload.read(MAX_BYTES + 1), allowed=need.accept or None)
                ops.attach_bundle_document(bundle, key, clean, storage)
            elif choice.isdigit():
                wallet_doc = db.session.get(WalletDocument, int(choice))
                if wallet_doc is None or wallet_doc.owner_id != current_user.id:
                    errors[key] = _("所选材料不存在。")
                    continue
                ops.use_wallet_for_bundle(bundle, key, wallet_doc)
        except UploadRejected as exc:
            errors[key] = _(exc.message)
        except DomainError as exc:
            errors[key] = _(str(exc))
    return errors


def _delivery(bundle: BundleApplication):
    defn = ops.definition_of(bundle)
    methods = ops.delivery_methods(ops.item_steps(bundle, defn))
    ask_address = ops.address_key(defn) is None
    if request.method == "POST":
        form = bforms.delivery_form(methods, ask_address, formdata=request.form)
        valid = form.validate()
        address = {
            "recipient": form.recipient.data,
            "mobile": form.recipient_mobile.data,
            "district": form.mail_district.data,
        }
        if ask_address:
            address["address"] = form.mail_address.data
        with transaction() as tx:
            ops.save_delivery(bundle, form.delivery_method.data, address)
        return _after_save(
            bundle,
            "delivery",
            tx,
            valid,
            lambda: _render(
                _own(bundle.id),
                "delivery",
                422,
                form=form,
                ask_address=ask_address,
                has_mail="mail" in methods,
                mail_to=_mail_to(bundle, defn),
            ),
        )
    address = bundle.delivery_address or {}
    form = bforms.delivery_form(
        methods,
        ask_address,
        data={
            "delivery_method": bundle.delivery_method or (methods[0] if len(methods) == 1 else None),
            "recipient": address.get("recipient") or current_user.real_name,
            "recipient_mobile": address.get("mobile") or ops.contact_of(bundle, defn),
            "mail_district": address.get("district") or bundle.district,
            "mail_address": address.get("address"),
        },
    )
    return _render(
        bundle,
        "delivery",
        form=form,
        ask_address=ask_address,
        has_mail="mail" in methods,
        mail_to=_mail_to(bundle, defn),
    )


def _mail_to(bundle: BundleApplication, defn) -> str:
    key = ops.address_key(defn)
    return str(((bundle.answers or {}).get("shared") or {}).get(key) or "") if key else ""


_SECTION_HANDLERS = {
    "shared": _shared,
    "situations": _situations,
    "items": _items,
    "documents": _documents,
    "delivery": _delivery,
}


@bp.route("/bundle-applications/<int:bundle_id>/documents/<int:document_id>/remove", methods=["POST"])
@citizen_only
def remove_document(bundle_id: int, document_id: int):
    bundle = _own(bundle_id)
    if bforms.SubmitForm().validate_on_submit():
        with transaction() as tx:  # NotFound goes on to the 404 page
            ops.remove_bundle_document(bundle, document_id)
        if not tx.ok:
            flash(tx.message, "warning")
    return redirect(url_for("bundles_apply.section", bundle_id=bundle_id, section="documents"))


@bp.route("/bundle-applications/<int:bundle_id>/files/<int:document_id>")
@citizen_only
def download(bundle_id: int, document_id: int):
    """The applicant's own shared document (authorised download, like an application's)."""
    bundle = _own(bundle_id)
    doc = next((d for d in bundle.documents if d.id == document_id), None)
    if doc is None:
        abort(404)
    return _file_response(doc.storage_key, doc.mimetype, doc.display_name)


# Check your answers, submit, done ----------------------------------------------------------------


def _review_context(bundle: BundleApplication, problems: ops.Problems) -> dict:
    defn = ops.definition_of(bundle)
    try:
        steps = ops.item_steps(bundle, defn)
    except ops.BundleUnavailable:
        steps = []
    answers = bundle.answers or {}
    return {
        "bundle": bundle,
        "name": ops.bundle_name(bundle),
        "defn": defn,
        "steps": steps,
        "answers": answers,
        "shared_fields": ops.shared_fields(defn),
        "ask_contact": ops.contact_key(defn) is None,
        "needs": ops.with_definition_documents(ops.document_needs(steps, bundle.applicant_id), defn),
        "given": {d.doc_key: d for d in bundle.documents},
        "address": ops.delivery_address_of(bundle, defn),
        "problems": problems,
        "sections": _sections(bundle) if steps else ["shared"],
        "labels": ops.SECTION_LABELS,
        "departments": _department_names(),
        "district_ok": bundle.district in DISTRICTS,
        "form": bforms.SubmitForm(),
    }


@bp.route("/bundle-applications/<int:bundle_id>/review")
@citizen_only
def review(bundle_id: int):
    bundle = _own(bundle_id)
    if bundle.state != BundleState.DRAFT:
        return redirect(url_for("bundles_apply.done", bundle_id=bundle.id))
    return render_template("bundles/apply_review.html", **_review_context(bundle, ops.check_bundle(bundle)))


@bp.route("/bundle-applications/<int:bundle_id>/submit", methods=["POST"])
@citizen_only
def submit(bundle_id: int):
    bundle = _own(bundle_id)
    if not bforms.SubmitForm().validate_on_submit():
        abort(400)
    with transaction() as tx:
        ops.submit_bundle(bundle, current_user)
    if tx.ok or isinstance(tx.error, ops.BundleAlreadySubmitted):
        return redirect(url_for("bundles_apply.done", bundle_id=bundle_id))
    bundle = _own(bundle_id)  # rolled back: the draft as it was, nothing of the fan-out
    if isinstance(tx.error, ops.IncompleteBundle):
        context = _review_context(bundle, tx.error.problems)
        return render_template("bundles/apply_review.html", submit_failed=True, **context), 422
    flash(tx.message, "warning")
    return redirect(url_for("bundles_apply.review", bundle_id=bundle_id))


@bp.route("/bundle-applications/<int:bundle_id>/done")
@citizen_only
def done(bundle_id: int):
    bundle = _own(bundle_id)
    if bundle.state == BundleState.DRAFT:
        return redirect(url_for("bundles_apply.review", bundle_id=bundle.id))
    by_step = {p.step_key: p for p in bundle.parts}
    units = {u.id: u.name for u in db.session.scalars(select(Unit))}
    apps = {
        p.step_key: db.session.get(Application, p.application_id) for p in bundle.parts if p.application_id
    }
    return render_template(
        "bundles/apply_done.html",
        bundle=bundle,
        name=ops.bundle_name(bundle),
        parts=bundle.parts,
        by_step=by_step,
        apps=apps,
        units=units,
        departments=_department_names(),
        status_labels=PART_STATUS_LABELS,
        item_kind=PartKind.ITEM,
    )
