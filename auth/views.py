"""Registration, login, logout and the profile page."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm import joinedload

from auth import operations as ops
from auth import sessioncache, verification
from auth.forms import (
    ChangeMobileForm,
    ChangePasswordForm,
    LoginForm,
    LogoutForm,
    RegisterForm,
    ResetPasswordForm,
)
from auth.models import Assurance, User
from auth.population import default_register
from core.db import db
from core.extensions import limiter, login_manager
from core.metrics import count_login_failure
from core.transaction import commit, transaction

bp = Blueprint("auth", __name__)

NOT_VERIFIED_YET = _l(
    "注册成功。您的姓名和身份证号码未能通过人口信息核验，账号为手机认证（L1）：可以浏览、咨询和办理大部分事项；"
    "开具户籍证明、无犯罪记录证明等个人信息类事项和代办授权需实名认证（L2）——请携带本人身份证到任一公安窗口核验，一次即可。"
)

#: The same for a passport holder: the passport, and the exit-entry counter.
NOT_VERIFIED_PASSPORT = _l(
    "注册成功。您的英文姓名和护照号码未能通过人口信息核验，账号为手机认证（L1）：可以浏览、咨询和办理大部分事项；"
    "需实名认证（L2）的事项，请携带本人护照到出入境窗口核验，一次即可。"
)


def _not_verified(user: User):
    return NOT_VERIFIED_PASSPORT if user.is_passport_holder else NOT_VERIFIED_YET


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


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """Cookie value ``<id>:<session_token>``: a rotated token ends the session."""
    user_id, _sep, session_token = token.partition(":")
    if not user_id.isdigit() or not session_token:
        return None
    user = sessioncache.remembered(token)  # checked by this worker within SESSION_CHECK_SECONDS
    if user is not None:
        return user
    # the units come in the same statement: every staff page asks for them (queues, visibility)
    user = db.session.get(User, int(user_id), options=[joinedload(User.units)])
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(user.session_token, session_token):
        return None
    sessioncache.remember(token, user)
    return user


#: How stale the idle clock's stamp may get before a request renews it: renewing it on every request
#: re-signed and re-sent the session cookie on every staff request.
SEEN_REFRESH_SECONDS = 30


def enforce_staff_idle_timeout():
    """Staff sessions end after ``STAFF_IDLE_MINUTES`` without a request (signed-cookie clock).

    The stamp is renewed at most every ``SEEN_REFRESH_SECONDS``, and the limit allows for that, so a
    session never ends early and at most that much late. It is wall-clock time, not :mod:`core.clock`:
    the limit bounds how long an unattended desk stays signed in, and the business clock may be moved
    (``clock.travel``) while a clerk stays signed in, which would end the session at once."""
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


def _send_code(purpose: str, form, *, known_only: bool = False) -> None:
    """The “获取验证码” button of a page: check the number only, issue a code (neutral message), and
    keep everything else the page holds as typed."""
    if not form.mobile.validate(form):  # CSRFProtect has checked the page's token already
        return
    mobile = form.mobile.data
    send = True
    if known_only:  # a reset for a number no account holds is timed and counted, and sends nothing
        send = ops.find_citizen_by_mobile(mobile) is not None
    with transaction(form) as tx:
        verification.request_code(purpose, mobile, ip=request.remote_addr, send=send)
    if tx.ok:
        flash(_(verification.SENT), "info")
    else:
        form.form_errors.clear()
        form.mobile.errors = [tx.message]


def _code_ok(purpose: str, form) -> bool:
    """Use up the code typed into ``form``; a wrong one is counted (committed) and shown at the field."""
    if verification.consume_code(purpose, form.mobile.data, form.sms_code.data):
        return True
    commit()  # keep the try count: five wrong tries kill the code
    form.sms_code.errors = [*form.sms_code.errors, _("验证码错误或已过期，请重新获取")]
    return False


#: What an account that must change its password may still reach.
PASSWORD_CHANGE_ALLOWED = frozenset(
    {
        "auth.profile",
        "auth.change_password",
        "auth.logout",
        "static",
        "core.healthz",
        "core.readyz",
        "core.favicon",
    }
)


def enforce_password_change():
    """An account whose password an admin reset (or a new staff account) can do nothing else until it
    sets its own: every request but the profile, the password change and logout goes there."""
    if (
        current_user.is_authenticated
        and current_user.must_change_password
        and request.endpoint not in PASSWORD_CHANGE_ALLOWED
    ):
        flash(_("您的密码已被重置，请先设置新密码。"), "warning")
        return redirect(url_for("auth.profile"))
    return None


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour; 3 per minute", methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = RegisterForm()
    if form.validate_on_submit() and _code_ok("register", form):
        with transaction(form) as tx:
            user = ops.register_citizen(
                real_name=form.real_name.data or "",
                id_number=form.document_number,
                mobile=form.mobile.data,
                password=form.password.data,
                register=default_register(),
                id_type=form.id_type.data,
                nationality=form.nationality.data if form.is_passport else None,
                english_name=form.english_name.data if form.is_passport else None,
            )
        if tx.ok:
            login_user(user)
            session["seen"] = datetime.now(UTC).timestamp()
            if user.level >= Assurance.L2:
                flash(_("注册成功，已通过人口信息核验（实名认证），欢迎使用。"), "success")
            else:
                flash(_not_verified(user), "warning")
            return redirect(url_for("auth.profile"))
    return render_template("auth/register.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/register/code", methods=["POST"])
@limiter.limit("20 per hour; 5 per minute")
def register_code():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = RegisterForm()
    _send_code("register", form)
    return render_template("auth/register.html", form=form), 200


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("20 per hour; 5 per minute", methods=["POST"])
def forgot():
    """忘记密码: an SMS code to the account's mobile, then a new password (最多跑一次: no counter)."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.profile"))
    form = ResetPasswordForm()
    if form.validate_on_submit() and _code_ok("reset_password", form):
        with transaction(form) as tx:
            ops.reset_password_with_code(form.mobile.data, form.password.data)
        if tx.ok:
            flash(_("密码已重置，其他设备上的登录已全部退出。请用新密码登录。"), "success")
            return redirect(url_for("auth.login"))
        form.form_errors.clear()
        form.sms_code.errors = [tx.message]
    return render_template("auth/forgot.html", form=form), 200 if request.method == "GET" else 422


@bp.route("/forgot/code", methods=["POST"])
@limiter.limit("20 per hour; 5 per minute")
def forgot_code():
    if current_user.is_authenticated:
        return redirect(url_for("auth.profile"))
    form = ResetPasswordForm()
    _send_code("reset_password", form, known_only=True)
    return render_template("auth/forgot.html", form=form), 200


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("30 per hour; 10 per minute", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        failure = None
        with transaction(form) as tx:
            try:
                user = ops.authenticate(form.identifier.data, form.password.data)
            except ops.LoginFailed as exc:
                failure = exc  # caught inside the block, so it commits: the failure count and audit rows stay
        if failure is not None:
            count_login_failure(locked=failure.locked)
            form.form_errors.append(_(str(failure)))
        elif tx.ok:
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
        with transaction():
            ops.end_all_sessions(current_user._get_current_object(), action="logout")
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
        with transaction(form) as tx:
            ops.change_password(user, current=form.current_password.data, new=form.new_password.data)
        if tx.ok:
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
    if form.validate_on_submit() and _code_ok("change_mobile", form):
        with transaction(form) as tx:
            ops.change_mobile(
                current_user._get_current_object(), mobile=form.mobile.data, password=form.password.data
            )
        if tx.ok:
            flash(_("手机号码已更新。"), "success")
            return redirect(url_for("auth.profile"))
    return render_template(
        "auth/profile.html", password_form=ChangePasswordForm(prefix="pw"), mobile_form=form
    ), 422


@bp.route("/profile/mobile/code", methods=["POST"])
@login_required
@limiter.limit("20 per hour; 5 per minute")
def change_mobile_code():
    form = ChangeMobileForm(prefix="mb")
    if current_user.mobile:
        _send_code("change_mobile", form)
    return render_template(
        "auth/profile.html", password_form=ChangePasswordForm(prefix="pw"), mobile_form=form
    ), 200


@bp.route("/profile/verify", methods=["POST"])
@login_required
@limiter.limit("10 per day")
def verify_identity():
    """人口信息核验 of the name and ID number on the account (L1 → L2)."""
    if not LogoutForm().validate_on_submit() or not current_user.id_number:
        return redirect(url_for("auth.profile"))
    with transaction() as tx:
        verified = ops.verify_identity(current_user._get_current_object(), default_register())
    if not tx.ok:
        flash(tx.message, "warning")
    elif verified:
        flash(_("已通过人口信息核验，账号已实名认证（L2）。"), "success")
    else:
        flash(_not_verified(current_user), "warning")
    return redirect(url_for("auth.profile"))
