"""好差评 pages: the citizen's rating form and the unit lead's follow-up list."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from applications.models import Application
from applications.ratings import operations as ops
from applications.ratings.forms import FollowUpCloseForm, RatingForm
from applications.ratings.models import FollowUpStatus
from applications.submission.operations import pinned_item
from auth.models import Role
from auth.policies import role_required
from core.clock import local_today
from core.db import db
from core.errors import FieldError, NotFound
from core.transaction import transaction

bp = Blueprint("ratings", __name__)
citizen_only = role_required(Role.CITIZEN)
lead_only = role_required(Role.UNIT_LEAD)


def _today() -> date:
    return local_today()


@bp.route("/applications/<int:application_id>/rate", methods=["GET", "POST"])
@citizen_only
def rate(application_id: int):
    try:
        app = ops.rateable_application(current_user, application_id)
    except NotFound:
        abort(404)
    item = pinned_item(app)
    existing = ops.rating_for(app)
    form = RatingForm()
    if existing is not None:
        if request.method == "POST":
            flash(_(str(ops.AlreadyRated())), "info")
            return redirect(url_for("ratings.rate", application_id=app.id))
        return render_template(
            "ratings/rate.html", app=app, item=item, form=form, rating=existing, labels=ops.LEVEL_LABELS
        )
    if form.validate_on_submit():
        with transaction(form) as tx:
            ops.rate(
                app,
                current_user,
                level=int(form.level.data),
                reasons=form.reasons.data or [],
                comment=form.comment.data or "",
            )
        if tx.ok:
            flash(_("感谢您的评价！"), "success")
            return redirect(url_for("applications.detail", application_id=application_id))
        if isinstance(tx.error, ops.AlreadyRated):
            flash(tx.message, "info")
            return redirect(url_for("ratings.rate", application_id=application_id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "ratings/rate.html", app=app, item=item, form=form, rating=None, labels=ops.LEVEL_LABELS
    ), status


@bp.route("/ratings/follow-ups")
@lead_only
def follow_ups():
    today = _today()
    rows = ops.follow_ups_for(current_user, today=today)
    names = {}
    for _f, _r, a, _u in rows:
        if a.item_id not in names:
            names[a.item_id] = pinned_item(a).name
    return render_template(
        "ratings/follow_ups.html",
        rows=rows,
        today=today,
        names=names,
        labels=ops.LEVEL_LABELS,
        open_status=FollowUpStatus.OPEN,
    )


@bp.route("/ratings/follow-ups/<int:follow_up_id>", methods=["GET", "POST"])
@lead_only
def follow_up(follow_up_id: int):
    try:
        item = ops.get_follow_up_for_lead(current_user, follow_up_id)
    except NotFound:
        abort(404)
    rating = item.rating
    app = db.session.get(Application, rating.application_id)
    form = FollowUpCloseForm()
    if request.method == "POST" and item.status == FollowUpStatus.CLOSED:
        flash(_("该差评跟进已办结。"), "info")
        return redirect(url_for("ratings.follow_up", follow_up_id=item.id))
    if form.validate_on_submit():
        with transaction(form) as tx:
            ops.close_follow_up(item, current_user, outcome=form.outcome.data)
        if tx.ok:
            flash(_("已记录核实整改情况，差评跟进已办结。"), "success")
            return redirect(url_for("ratings.follow_ups"))
        if not isinstance(tx.error, FieldError):  # a FieldError is shown at its field, below
            flash(tx.message, "warning")
            return redirect(url_for("ratings.follow_up", follow_up_id=follow_up_id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "ratings/follow_up.html",
        f=item,
        rating=rating,
        app=app,
        item_name=pinned_item(app).name,
        labels=ops.LEVEL_LABELS,
        form=form,
        today=_today(),
        open_status=FollowUpStatus.OPEN,
    ), status
