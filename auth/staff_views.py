"""/admin/staff: admins create staff accounts, assign roles and units, disable accounts and reset
passwords. 三权分立: nobody changes their own role, units or status; the last active admin can be
neither disabled nor demoted; every change is audited with before and after values."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from auth import operations as auth_ops
from auth.models import STAFF_ROLES, Role, Unit, User
from auth.policies import role_required
from core import audit
from core.db import db
from core.errors import DomainError, FieldError
from core.forms import PortalForm

bp = Blueprint("staff_admin", __name__, url_prefix="/admin/staff")
admin_only = role_required(Role.ADMIN)

ROLE_CHOICES = [
    (Role.CLERK.value, _l("窗口/审核人员")),
    (Role.UNIT_LEAD.value, _l("科室负责人")),
    (Role.ADMIN.value, _l("管理员")),
    (Role.AUDITOR.value, _l("审计员")),
]
SELF_CHANGE = _l("不能修改自己的角色、所属单位或账号状态，请由另一位管理员操作")
LAST_ADMIN = _l("这是最后一个启用的管理员账号，不能停用或改为其他角色")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class StaffEditForm(PortalForm):
    real_name = StringField(
        _l("姓名"), filters=[_strip], validators=[DataRequired(_l("请填写姓名")), Length(max=50)]
    )
    role = SelectField(
        _l("角色"),
        choices=ROLE_CHOICES,
        description=_l("审计员只能查看审计记录，不能修改任何内容；管理员不能查看审计记录"),
    )
    units = SelectMultipleField(
        _l("所属单位"), choices=[], description=_l("窗口人员和科室负责人只能处理所属单位的办件")
    )


class StaffCreateForm(StaffEditForm):
    username = StringField(
        _l("工作账号"),
        filters=[_strip],
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


# Rules -------------------------------------------------------------------------------------------


def _snapshot(user: User) -> dict:
    return {
        "real_name": user.real_name,
        "role": Role(user.role).value,
        "units": [u.code for u in user.units],
        "active": bool(user.active),
    }


def _active_admins() -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active.is_(True))
        )
        or 0
    )


def _guard(actor: User, target: User, *, demote: bool = False, disable: bool = False) -> None:
    """Raise :class:`DomainError` for a change to oneself or one that leaves no active admin."""
    if actor.id == target.id:
        raise DomainError(str(SELF_CHANGE))
    if (demote or disable) and Role(target.role) == Role.ADMIN and target.active and _active_admins() <= 1:
        raise DomainError(str(LAST_ADMIN))


def update_staff(actor: User, target: User, *, real_name: str, role: Role, unit_codes: list[str]) -> None:
    """Change a staff account's name, role and units (never one's own). A role change ends the
    account's sessions, so new rights and lost rights apply at once."""
    before = _snapshot(target)
    role_changed = Role(target.role) != role
    units_changed = sorted(before["units"]) != sorted(unit_codes)
    if role_changed or units_changed:
        _guard(actor, target, demote=role_changed and Role(target.role) == Role.ADMIN)
    if role not in STAFF_ROLES:
        raise FieldError("role", _("角色无效"))
    target.real_name = real_name
    target.role = role
    target.units = auth_ops._units_by_code(unit_codes)
    if role_changed:
        target.rotate_session_token()
    db.session.flush()
    after = _snapshot(target)
    if before != after:
        audit.record(
            "staff.update",
            object_type="user",
            object_id=target.id,
            details={"before": before, "after": after},
        )


def set_staff_active(actor: User, target: User, active: bool) -> None:
    """Enable or disable; disabling rotates the session token so every open session ends at once."""
    if target.active == active:
        return
    _guard(actor, target, disable=not active)
    before = _snapshot(target)
    target.active = active
    if not active:
        target.rotate_session_token()
    db.session.flush()
    audit.record(
        "staff.disable" if not active else "staff.enable",
        object_type="user",
        object_id=target.id,
        details={"before": before, "after": _snapshot(target)},
    )


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
    if q:
        stmt = stmt.where(
            User.username.contains(q, autoescape=True) | User.real_name.contains(q, autoescape=True)
        )
    return render_template("admin/staff_list.html", users=db.session.scalars(stmt).all(), q=q)


@bp.route("/new", methods=["GET", "POST"])
@admin_only
def staff_new():
    form = StaffCreateForm()
    form.units.choices = _unit_choices()
    if form.validate_on_submit():
        try:
            user = auth_ops.create_staff(
                username=form.username.data,
                real_name=form.real_name.data,
                role=form.role.data,
                password=form.password.data,
                unit_codes=list(form.units.data or []),
                actor=current_user,
            )
            user.must_change_password = True  # an initial password is known to the admin who set it
            db.session.flush()
        except FieldError as exc:
            db.session.rollback()
            field = getattr(form, exc.field, form.username)
            field.errors = [*field.errors, _(exc.message)]
        except DomainError as exc:
            db.session.rollback()
            form.role.errors = [*form.role.errors, _(str(exc))]
        else:
            db.session.commit()
            flash(_("工作账号 %(u)s 已创建，首次登录须修改密码。", u=user.username), "success")
            return redirect(url_for("staff_admin.staff_list"))
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
        try:
            update_staff(
                current_user,
                user,
                real_name=form.real_name.data,
                role=Role(form.role.data),
                unit_codes=list(form.units.data or []),
            )
        except FieldError as exc:
            db.session.rollback()
            getattr(form, exc.field, form.role).errors.append(_(exc.message))
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(_(str(exc)))
        else:
            db.session.commit()
            flash(_("已保存。"), "success")
            return redirect(url_for("staff_admin.staff_list"))
    return render_template(
        "admin/staff_form.html",
        form=form,
        user=user,
        reset=ResetForm(),
        action=ActionForm(),
        is_self=user.id == current_user.id,
    ), (422 if request.method == "POST" else 200)


@bp.route("/<int:user_id>/<any(disable, enable):what>", methods=["POST"])
@admin_only
def staff_active(user_id: int, what: str):
    user = _staff_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        set_staff_active(current_user, user, what == "enable")
    except DomainError as exc:
        db.session.rollback()
        flash(_(str(exc)), "danger")
        return redirect(url_for("staff_admin.staff_edit", user_id=user_id)), 303
    db.session.commit()
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
        try:
            auth_ops.reset_password(user, form.password.data, actor=current_user)
        except FieldError as exc:
            db.session.rollback()
            form.password.errors = [*form.password.errors, _(exc.message)]
        else:
            db.session.commit()
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
