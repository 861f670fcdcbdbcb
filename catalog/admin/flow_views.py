"""/admin/catalog/bundles/<code>/flow and /admin/catalog/departments: the 一件事 flow editor (draft,
preview, publish, discard) and the external departments register. Admins only, as the rest of the
catalog editor; the rules are in :mod:`catalog.admin.bundle_flows`."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from auth.models import Role
from auth.policies import role_required
from catalog import bundle_spec
from catalog.admin import bundle_flows as flows
from catalog.admin.flow_forms import DepartmentForm, FlowForm
from catalog.admin.forms import ActionForm
from catalog.admin.operations import StaleDraft
from catalog.admin.queries import departments_in_use, item_outlines
from catalog.models import Bundle, ExternalDepartment, VersionState
from core.db import db
from core.transaction import show_error, transaction

bp = Blueprint("bundle_flows_admin", __name__, url_prefix="/admin/catalog")
admin_only = role_required(Role.ADMIN)

STALE_FLOW = _l(
    "该联办流程在您打开页面后已被其他管理员修改，本次没有保存。您填写的内容保留在表单中；"
    "请先查看最新的预览，核对后再次保存，将以您填写的内容为准。"
)
STALE_FLOW_ACTION = _l(
    "该联办流程在您打开页面后已被其他管理员修改，本次操作没有执行。请查看最新内容后再操作。"
)


def _bundle_or_404(code: str) -> Bundle:
    bundle = db.session.scalar(select(Bundle).where(Bundle.code == code))
    if bundle is None:
        abort(404)
    return bundle


def _catalog_changed() -> None:
    current_app.extensions["catalog_cache"].invalidate()


def _editor(
    bundle: Bundle,
    form: FlowForm | None = None,
    *,
    problems: list[str] | None = None,
    status: int = 200,
    token: str | None = None,
):
    """The flow editor page: the working version's sections (or ``form`` as the admin typed it), the
    publish checks as they stand, and what the bundle's items and the departments offer to map."""
    version = flows.working_flow(bundle)
    if form is None:
        form = FlowForm(formdata=None)
        form.fill(version.definition if version is not None else flows.EMPTY_DEFINITION)
    checks = None
    if problems is None and version is not None and version.state == VersionState.DRAFT:
        checks = flows.flow_problems(bundle, version.definition)
    outlines = item_outlines([bi.item.code for bi in bundle.items])
    departments = list(db.session.scalars(select(ExternalDepartment).order_by(ExternalDepartment.code)))
    return render_template(
        "admin/bundle_flow.html",
        bundle=bundle,
        version=version,
        versions=flows.flow_versions(bundle),
        form=form,
        problems=problems,
        checks=checks,
        outlines=[outlines[bi.item.code] for bi in bundle.items if bi.item.code in outlines],
        departments=departments,
        action=ActionForm(),
        draft_token=token or flows.flow_token(bundle),
    ), status


@bp.route("/bundles/<code>/flow", methods=["GET", "POST"])
@admin_only
def flow_edit(code: str):
    bundle = _bundle_or_404(code)
    if request.method == "GET":
        return _editor(bundle)
    form = FlowForm()
    token = request.form.get("draft") or None
    if form.validate_on_submit():
        with transaction() as tx:  # no form: a stale flow gets its own message
            flows.lock_flow(bundle, token)
            draft = flows.save_draft(bundle, form.definition())
        if tx.ok:
            if draft is None:
                flash(_("与已发布的流程相同，没有创建草稿。"), "info")
            else:
                flash(_("已保存到草稿。发布前群众看到的仍是已发布的流程。"), "success")
            return redirect(url_for("bundle_flows_admin.flow_edit", code=code))
        if isinstance(tx.error, StaleDraft):
            form.form_errors.append(str(STALE_FLOW))
            return _editor(bundle, form, status=409)  # drawn with today's token: saving again is deliberate
        show_error(form, tx.error)
    return _editor(bundle, form, status=422, token=token)


@bp.route("/bundles/<code>/flow/publish", methods=["POST"])
@admin_only
def flow_publish(code: str):
    bundle = _bundle_or_404(code)
    if not ActionForm().validate_on_submit():
        abort(400)
    with transaction() as tx:
        flows.lock_flow(bundle, request.form.get("draft") or None)  # publish what the admin reviewed
        version = flows.publish_draft(bundle)
    if isinstance(tx.error, StaleDraft):
        flash(str(STALE_FLOW_ACTION), "warning")
    elif isinstance(tx.error, flows.FlowPublishRefused):
        return _editor(bundle, problems=tx.error.problems, status=422)
    elif not tx.ok:
        flash(tx.message, "warning")
    else:
        _catalog_changed()
        flash(_("联办流程第 %(v)s 版已发布：此后提交的申请按新流程办理。", v=version.version), "success")
    return redirect(url_for("bundle_flows_admin.flow_edit", code=code))


@bp.route("/bundles/<code>/flow/discard", methods=["POST"])
@admin_only
def flow_discard(code: str):
    bundle = _bundle_or_404(code)
    if not ActionForm().validate_on_submit():
        abort(400)
    with transaction() as tx:
        flows.lock_flow(bundle, request.form.get("draft") or None)  # discard only the draft the admin saw
        flows.discard_draft(bundle)
    if isinstance(tx.error, StaleDraft):
        flash(str(STALE_FLOW_ACTION), "warning")
    elif not tx.ok:
        flash(tx.message, "warning")
    else:
        flash(_("草稿已放弃。"), "success")
    return redirect(url_for("bundle_flows_admin.flow_edit", code=code))


@bp.route("/bundles/<code>/flow/preview")
@admin_only
def flow_preview(code: str):
    """What a citizen will be asked, and the order of the steps, for the draft (or ``?v=N``)."""
    bundle = _bundle_or_404(code)
    number = request.args.get("v", type=int)
    version = flows.flow_number(bundle, number) if number else flows.working_flow(bundle)
    if version is None:
        abort(404)
    problems = flows.flow_problems(bundle, version.definition)
    try:
        defn = bundle_spec.Definition.model_validate(version.definition)
    except ValueError:  # structurally broken (never saved by the editor): the problems say why
        defn = None
    view = None
    if defn is not None:
        view = flows.preview(defn, item_outlines([s.item for s in defn.item_steps if s.item]))
    return render_template(
        "admin/bundle_flow_preview.html", bundle=bundle, version=version, view=view, problems=problems
    )


# External departments ----------------------------------------------------------------------------


@bp.route("/departments/")
@admin_only
def departments():
    rows = db.session.scalars(select(ExternalDepartment).order_by(ExternalDepartment.code)).all()
    return render_template(
        "admin/departments.html", rows=rows, used={d.code: departments_in_use(d.code) for d in rows}
    )


@bp.route("/departments/new", methods=["GET", "POST"])
@admin_only
def department_new():
    form = DepartmentForm()
    if form.validate_on_submit():
        with transaction(form) as tx:
            flows.create_department(form.code.data, form.values())
        if tx.ok:
            flash(_("协办部门已添加。"), "success")
            return redirect(url_for("bundle_flows_admin.departments"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/department_form.html", form=form, dept=None), status


@bp.route("/departments/<code>", methods=["GET", "POST"])
@admin_only
def department_edit(code: str):
    dept = db.session.scalar(select(ExternalDepartment).where(ExternalDepartment.code == code))
    if dept is None:
        abort(404)
    form = DepartmentForm(obj=dept if request.method == "GET" else None)
    form.code.data = dept.code  # fixed once created
    if request.method == "POST" and form.validate_on_submit():
        with transaction(form) as tx:
            flows.update_department(dept, form.values())
        if tx.ok:
            flash(_("协办部门已保存。"), "success")
            return redirect(url_for("bundle_flows_admin.departments"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/department_form.html", form=form, dept=dept, used=departments_in_use(dept.code)
    ), status
