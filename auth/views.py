"""Registration, login, logout and the profile page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm import joinedload

from auth import operations as ops
from auth.forms import ChangeMobileForm, ChangePasswordForm, LoginForm, LogoutForm, RegisterForm
from auth.models import User
from core.db import db
from core.errors import FieldError
from core.extensions import limiter, login_manager

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login.

    Control characters are refused too: browsers drop tabs and newlines from URLs, so ``/%09/evil.example``
    would lead to ``//evil.example`` (and a newline cannot go in a header: it was a 500).
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return url_for("core.index")


def _field_error(form, exc: FieldError) -> None:
    field = getattr(form, exc.field, None)
    if field is not None:
        field.errors = [*field.errors, _(exc.message)]
    else:
        form.form_errors.append(_(exc.message))


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """Cookie value ``<id>:<session_token>``: a rotated token ends the session."""
    user_id, _sep, session_token = token.partition(":")
    if not user_id.isdigit() or not session_token:
        return None
    # the units come in the same statement: every staff page asks for them (queues, visibility)
    user = db.session.get(User, int(user_id), options=[joinedload(User.units)])
    if user is None or not user.active:
        return None
    import hmac

    if not hmac.compare_digest(user.session_token, session_token):
        return None
    return user


#: How stale the idle clock's stamp may get before a request renews it: renewing it on every request
#: re-signed and re-sent the session cookie on every staff request.
SEEN_REFRESH_SECONDS = 30


def enforce_staff_idle_timeout():
    """Staff sessions end after ``STAFF_IDLE_MINUTES`` without a request (signed-cookie clock).

    The stamp is renewed at most every ``SEEN_REFRESH_SECONDS``, and the limit allows for that, so a
    session never ends early and at most that much late."""
    if not current_user.is_authenticated or not current_user.is_staff:
        return None
    now = datetime.now(UTC).timestamp()
    last = session.get("seen")
    limit = timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"]).total_seconds()
    if last is not None and now - float(last) > limit + SEEN_REFRESH_SECONDS:
        logout_user()
        session.clear()
        flash(_("您已超过30分钟未操作，为安全起见已退出登录，请重新登录。"), "warning")
        return redirect(url_for("auth.login", next=request.full_path))
    if last is None or now - float(last) >= SEEN_REFRESH_SECONDS:
        session["seen"] = now
    return None


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour; 3 per minute", methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = ops.register_citizen(
                real_name=form.real_name.data,
                id_number=form.id_number.data,
                mobile=form.mobile.data,
                password=form.password.data,
            )
        except FieldError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            login_user(user)
            session["seen"] = datetime.now(UTC).timestamp()
            flash(_("注册成功，欢迎使用。"), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/register.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("30 per hour; 10 per minute", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = ops.authenticate(form.identifier.data, form.password.data)
        except ops.LoginFailed as exc:
            db.session.commit()  # keep the failure count and the audit rows
            form.form_errors.append(_(str(exc)))
        else:
            db.session.commit()
            session.clear()
            login_user(user)
            session["seen"] = datetime.now(UTC).timestamp()
            if user.must_change_password:
                flash(_("您的密码已被重置，请先设置新密码。"), "warning")
                return redirect(url_for("auth.profile"))
            return redirect(_safe_next(request.args.get("next")))
    status = 200 if request.method == "GET" else 422
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    form = LogoutForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        ops.end_all_sessions(current_user._get_current_object(), action="logout")
        db.session.commit()
    logout_user()
    session.clear()
    flash(_("您已安全退出。"), "info")
    return redirect(url_for("core.index"))


@bp.route("/profile")
@login_required
def profile():
    return render_template(
        "auth/profile.html",
        password_form=ChangePasswordForm(prefix="pw"),
        mobile_form=ChangeMobileForm(prefix="mb"),
    )


@bp.route("/profile/password", methods=["POST"])
@login_required
def change_password():
    form = ChangePasswordForm(prefix="pw")
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            ops.change_password(user, current=form.current_password.data, new=form.new_password.data)
        except FieldError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            login_user(user)  # this session continues with the new token; every other one ends
            flash(_("密码已修改，其他设备上的登录已全部退出。"), "success")
            return redirect(url_for("auth.profile"))
    return render_template(
        "auth/profile.html", password_form=form, mobile_form=ChangeMobileForm(prefix="mb")
    ), 422


@bp.route("/profile/mobile", methods=["POST"])
@login_required
def change_mobile():
    form = ChangeMobileForm(prefix="mb")
    if not current_user.mobile:
        flash(_("工作账号不绑定手机号码。"), "warning")
        return redirect(url_for("auth.profile"))
    if form.validate_on_submit():
        try:
            ops.change_mobile(
                current_user._get_current_object(), mobile=form.mobile.data, password=form.password.data
            )
        except FieldError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(_("手机号码已更新。"), "success")
            return redirect(url_for("auth.profile"))
    return render_template(
        "auth/profile.html", password_form=ChangePasswordForm(prefix="pw"), mobile_form=form
    ), 422
