"""The admins' page of preset 需补正 reasons (per document type, or for every document): add, edit,
delete, each audited. Clerks pick from them when they mark a document 需补正 on the workbench."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from applications.clerk import verdicts
from applications.clerk.forms import SimpleForm
from applications.clerk.verdict_forms import CorrectionReasonForm
from auth.models import Role
from auth.policies import role_required
from core.errors import NotFound
from core.transaction import transaction

bp = Blueprint("correction_reasons", __name__, url_prefix="/admin/correction-reasons")


def _row(reason_id: int):
    try:
        return verdicts.get_reason(reason_id)
    except NotFound:
        abort(404)


def _page(form: CorrectionReasonForm, status: int = 200, edit_forms: dict | None = None):
    rows = verdicts.all_reasons()
    edit_forms = edit_forms or {}
    forms = {
        r.id: edit_forms.get(r.id)
        or CorrectionReasonForm(
            formdata=None, prefix=f"r{r.id}", doc_type=r.doc_type, reason=r.reason, position=r.position
        )
        for r in rows
    }
    return render_template(
        "clerk/reasons.html", form=form, rows=rows, forms=forms, simple=SimpleForm()
    ), status


@bp.route("/", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def reasons():
    form = CorrectionReasonForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST" and form.validate_on_submit():
        with transaction(form) as tx:
            verdicts.add_reason(form.doc_type.data or "", form.reason.data, form.position.data or 100)
        if tx.ok:
            flash(_("已添加预设原因。"), "success")
            return redirect(url_for("correction_reasons.reasons"))
    return _page(form, 422 if request.method == "POST" else 200)


@bp.route("/<int:reason_id>", methods=["POST"])
@role_required(Role.ADMIN)
def edit(reason_id: int):
    row = _row(reason_id)
    form = CorrectionReasonForm(prefix=f"r{row.id}")
    if form.validate_on_submit():
        with transaction(form) as tx:
            verdicts.update_reason(row, form.doc_type.data or "", form.reason.data, form.position.data or 100)
        if tx.ok:
            flash(_("已保存。"), "success")
            return redirect(url_for("correction_reasons.reasons"))
    return _page(CorrectionReasonForm(formdata=None), 422, {row.id: form})


@bp.route("/<int:reason_id>/delete", methods=["POST"])
@role_required(Role.ADMIN)
def delete(reason_id: int):
    row = _row(reason_id)
    if not SimpleForm().validate_on_submit():
        abort(400)
    with transaction():
        verdicts.delete_reason(row)
    flash(_("已删除预设原因。"), "success")
    return redirect(url_for("correction_reasons.reasons"))
