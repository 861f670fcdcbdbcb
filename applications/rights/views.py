"""我的数据: the page, the download and the account deletion (citizens only, their own data)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from applications.rights import operations as ops
from applications.rights.forms import DeleteAccountForm
from applications.rights.queries import holdings
from auth.models import Role
from auth.policies import role_required
from core.db import writes_on_get
from core.downloads import content_disposition
from core.extensions import limiter
from core.storage import get_storage
from core.transaction import transaction

bp = Blueprint("rights", __name__)
citizen_only = role_required(Role.CITIZEN)


@bp.route("/me/data")
@citizen_only
def overview():
    return render_template("rights/overview.html", data=holdings(current_user))


@bp.route("/me/data/download")
@citizen_only
@limiter.limit("10 per hour")  # a zip of every file: not something to ask for in a loop
@writes_on_get
def download():
    with transaction():
        out, _files = ops.build_export(holdings(current_user), get_storage())
    response = send_file(out, mimetype="application/zip", max_age=0)
    response.headers["Content-Disposition"] = content_disposition("我的数据.zip", "my-data.zip")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _delete_page(form: DeleteAccountForm, status: int = 200):
    return render_template(
        "rights/delete.html", form=form, open_refs=ops.open_references(current_user), name=ops.DELETED_NAME
    ), status


@bp.route("/me/data/delete", methods=["GET", "POST"])
@citizen_only
@limiter.limit("10 per hour; 3 per minute", methods=["POST"])  # the password is checked here
def delete_account():
    """GET: what deleting does, and the password field (no JavaScript needed); POST: delete."""
    form = DeleteAccountForm()
    if not form.validate_on_submit():
        return _delete_page(form, 422 if form.is_submitted() else 200)
    with transaction(form) as tx:
        keys = ops.delete_account(current_user._get_current_object(), password=form.password.data)
    if not tx.ok:
        return _delete_page(form, 422)
    ops.delete_files(get_storage(), keys)
    logout_user()
    session.clear()
    flash(_("您的账号已注销，个人信息已删除。感谢您使用临江市公安局网上办事大厅。"), "info")
    return redirect(url_for("core.index"))
