"""/admin/staff: admins create staff accounts, assign roles and units, disable accounts and reset
passwords. The rules (三权分立 among them: admin and auditor accounts are out of an admin's reach on the
web) live in :mod:`auth.staff`; every change is audited with before and after values."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from auth import operations as auth_ops
from auth.models import STAFF_ROLES, Role, Unit, User
from auth.policies import role_required
from auth.staff import WEB_ROLES, set_staff_active, update_staff
from core.db import db
from core.errors import FieldError
from core.forms import PortalForm, strip
from core.transaction import transaction

bp = Blueprint("staff_admin", __name__, url_prefix="/admin/staff")
admin_only = role_required(Role.ADMIN)

#: What an admin may give on the web: 三权分立 keeps admin and auditor accounts out of an admin's reach.
ROLE_CHOICES = [
    (Role.CLERK.value, _l("窗口/审核人员")),
    (Role.UNIT_LEAD.value, _l("科室负责人")),
]


class StaffEditForm(PortalForm):
    real_name = StringField(
        _l("姓名"), filters=[strip], validators=[DataRequired(_l("请填写姓名")), Length(max=50)]
    )
    role = SelectField(
        _l("角色"),
        choices=ROLE_CHOICES,
        description=_l("管理员和审计员账号由系统运维人员用命令行管理（三权分立），不能在此创建或修改"),
    )
    units = SelectMultipleField(
        _l("所属单位"), choices=[], description=_l("窗口人员和科室负责人只能处理所属单位的办件")
    )


class StaffCreateForm(StaffEditForm):
    username = StringField(
        _l("工作账号"),
        filters=[strip],
        validators=[
            DataRequired(_l("请填写工作账号")),
            Length(3, 50, _l("3至50个字符")),
            Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("只能包含字母、数字、下划线、点和连字符")),
        ],
    )
    password = PasswordField(
        _l("初始密码"),
        validators=[DataRequired(_l("请填写初始密码"))],
        description=_l("对方首次登录时必须修改"),
    )


class ResetForm(PortalForm):
    password = PasswordField(
        _l("临时密码"),
        validators=[DataRequired(_l("请填写临时密码"))],
        description=_l("对方下次登录时必须修改；重置后其所有登录立即失效"),
    )


class ActionForm(PortalForm):
    """Disable / enable buttons."""


# Views -------------------------------------------------------------------------------------------


def _staff_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or Role(user.role) not in STAFF_ROLES:
        abort(404)
    return user


def _unit_choices() -> list[tuple[str, str]]:
    return [(u.code, f"{u.name}（{u.code}）") for u in db.session.scalars(select(Unit).order_by(Unit.code))]


@bp.route("/")
@admin_only
def staff_list():
    # NUL never reaches PostgreSQL (it refuses such text); % and _ are searched for, not wildcards
    q = (request.args.get("q") or "").replace("\x00", "").strip()[:50]
    stmt = select(User).where(User.role.in_(list(STAFF_ROLES))).order_by(User.username)
    users = db.session.scalars(stmt).all()
    if q:  # names are stored encrypted (core.crypto): staff are few, so match them here
        needle = q.casefold()
        users = [u for u in users if needle in (u.username or "").casefold() or needle in (u.real_name or "")]
    return render_template("admin/staff_list.html", users=users, q=q)


@bp.route("/new", methods=["GET", "POST"])
@admin_only
def staff_new():
    form = StaffCreateForm()
    form.units.choices = _unit_choices()
    if form.validate_on_submit():
        with transaction() as tx:  # no form: a refusal without a field is shown at the role
            user = auth_ops.create_staff(
                username=form.username.data,
                real_name=form.real_name.data,
                role=form.role.data,
                password=form.password.data,
                unit_codes=list(form.units.data or []),
                actor=current_user,
            )
            user.must_change_password = True  # an initial password is known to the admin who set it
        if tx.ok:
            flash(_("工作账号 %(u)s 已创建，首次登录须修改密码。", u=user.username), "success")
            return redirect(url_for("staff_admin.staff_list"))
        if isinstance(tx.error, FieldError):
            field = getattr(form, tx.error.field, form.username)
            field.errors = [*field.errors, tx.message]
        else:
            form.role.errors = [*form.role.errors, tx.message]
    return render_template("admin/staff_form.html", form=form, user=None), (
        422 if request.method == "POST" else 200
    )


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@admin_only
def staff_edit(user_id: int):
    user = _staff_or_404(user_id)
    form = StaffEditForm(obj=None if request.method == "POST" else user)
    form.units.choices = _unit_choices()
    if request.method == "GET":
        form.role.data = Role(user.role).value
        form.units.data = [u.code for u in user.units]
    elif form.validate_on_submit():
        with transaction() as tx:  # no form: a FieldError naming no field of it is shown at the role
            update_staff(
                current_user,
                user,
                real_name=form.real_name.data,
                role=Role(form.role.data),
                unit_codes=list(form.units.data or []),
            )
        if tx.ok:
            flash(_("已保存。"), "success")
            return redirect(url_for("staff_admin.staff_list"))
        if isinstance(tx.error, FieldError):
            getattr(form, tx.error.field, form.role).errors.append(tx.message)
        else:
            form.form_errors.append(tx.message)
    return render_template(
        "admin/staff_form.html",
        form=form,
        user=user,
        reset=ResetForm(),
        action=ActionForm(),
        is_self=user.id == current_user.id,
        privileged=Role(user.role) not in WEB_ROLES,
    ), (422 if request.method == "POST" else 200)


@bp.route("/<int:user_id>/<any(disable, enable):what>", methods=["POST"])
@admin_only
def staff_active(user_id: int, what: str):
    user = _staff_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with transaction() as tx:
        set_staff_active(current_user, user, what == "enable")
    if not tx.ok:
        flash(tx.message, "danger")
        return redirect(url_for("staff_admin.staff_edit", user_id=user_id)), 303
    flash(_("账号已停用，其所有登录已立即失效。") if what == "disable" else _("账号已启用。"), "success")
    return redirect(url_for("staff_admin.staff_list"))


@bp.route("/<int:user_id>/password", methods=["POST"])
@admin_only
def staff_reset(user_id: int):
    user = _staff_or_404(user_id)
    form = ResetForm()
    if user.id == current_user.id:
        flash(_("请在“我的账号”中修改自己的密码。"), "warning")
        return redirect(url_for("staff_admin.staff_edit", user_id=user_id))
    if form.validate_on_submit():
        with transaction(form) as tx:
            auth_ops.reset_password(user, form.password.data, actor=current_user)
        if tx.ok:
            flash(_("密码已重置，对方下次登录时必须修改。"), "success")
            return redirect(url_for("staff_admin.staff_list"))
    edit = StaffEditForm(obj=user)
    edit.units.choices = _unit_choices()
    edit.role.data = Role(user.role).value
    edit.units.data = [u.code for u in user.units]
    return render_template(
        "admin/staff_form.html", form=edit, user=user, reset=form, action=ActionForm(), is_self=False
    ), 422


def init_staff_admin(app: Flask) -> None:
    """Register /admin/staff (admins only)."""
    if "staff_admin" not in app.blueprints:
        app.register_blueprint(bp)
