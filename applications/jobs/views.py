"""The admin page 定时任务: every scheduled job with its schedule, last run, last success, outcome and
counts, and 立即运行 (a POST with CSRF, audited) — admins only."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from auth.models import Role
from auth.policies import role_required
from core import audit
from core.forms import PortalForm
from core.jobs import job_statuses, registered_jobs, run_job
from core.transaction import transaction

bp = Blueprint("jobs_admin", __name__, url_prefix="/admin/jobs")
admin_only = role_required(Role.ADMIN)

OUTCOMES = {
    "ok": "成功",
    "failed": "发现问题",
    "error": "出错",
    "running": "运行中",
}


class RunNowForm(PortalForm):
    """立即运行: only the CSRF token."""


@bp.route("/")
@admin_only
def jobs():
    statuses = job_statuses()
    return render_template("admin/jobs.html", statuses=statuses, form=RunNowForm(), outcomes=OUTCOMES)


@bp.route("/<name>/run", methods=["POST"])
@admin_only
def run_now(name: str):
    job = registered_jobs().get(name)
    if job is None:
        abort(404)
    form = RunNowForm()
    if not form.validate_on_submit():
        flash(_("页面已过期，请刷新后重试。"), "danger")
        return redirect(url_for(".jobs")), 303
    with transaction():
        audit.record("job.run_now", object_type="job", object_id=name)
    result = run_job(job, manual=True, worker=f"web:{current_user.id}", triggered_by=current_user.id)
    current_app.logger.info("job %s run by hand: %s", name, result.outcome)
    label = _(OUTCOMES.get(result.outcome, result.outcome))
    counts = "，".join(f"{k} {v}" for k, v in result.counts.items())
    flash(
        _("“%(job)s”已运行：%(outcome)s。%(counts)s", job=job.title, outcome=label, counts=counts),
        "success" if result.outcome == "ok" else "warning",
    )
    return redirect(url_for(".jobs")), 303
