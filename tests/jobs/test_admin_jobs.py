"""The admin page 定时任务 (/admin/jobs/): every job with its schedule, last run, last success,
outcome and counts; 立即运行 is a POST with a CSRF token, audited, recorded as a manual run by that
admin; others get 403 (the route matrix covers every role)."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.audit import AuditLog
from core.db import db
from core.jobs import JobRun
from tests.auth.helpers import csrf_token, login_as

NAMES = (
    "sweep_uploads",
    "due_soon_digest",
    "citizen_deadlines",
    "stats_check",
    "retention",
    "purge_login_throttle",
)


def test_the_page_lists_every_job_and_runs_one_now(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    admin = login_as(app, client, "admin", csrf=True)
    page = client.get("/admin/jobs/").text
    for name in NAMES:
        assert f'data-testid="job-{name}"' in page
    assert "从未运行" in page and "每天 03:00" in page and "每小时" in page
    assert 'href="/admin/jobs/"' in page  # in the admin menu

    response = client.post("/admin/jobs/stats_check/run", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    page = client.get("/admin/jobs/").text
    assert "已运行" in page  # the flash
    row = re.search(r'data-testid="job-stats_check".*?</tr>', page, re.S).group(0)
    assert "成功" in row and "手动" in row and "mismatched_days 0" in row
    with app.app_context():
        run = db.session.scalar(select(JobRun).where(JobRun.job == "stats_check"))
        assert run.manual and run.triggered_by == admin.id and run.outcome == "ok"
        (entry,) = db.session.scalars(select(AuditLog).where(AuditLog.action == "job.run_now")).all()
        assert entry.actor_id == admin.id and entry.object_id == "stats_check"


def test_run_now_without_a_csrf_token_runs_nothing(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    login_as(app, client, "admin", csrf=True)
    response = client.post("/admin/jobs/retention/run", data={})
    assert response.status_code in (303, 400)
    with app.app_context():
        assert db.session.scalars(select(JobRun)).all() == []
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "job.run_now")).all() == []


def test_an_unknown_job_is_404_and_a_clerk_cannot_run_one(app):
    client = app.test_client()
    login_as(app, client, "admin")
    assert client.post("/admin/jobs/no_such_job/run").status_code == 404
    clerk = app.test_client()
    login_as(app, clerk, "clerk")
    assert clerk.post("/admin/jobs/retention/run").status_code == 403
    with app.app_context():
        assert db.session.scalars(select(JobRun)).all() == []


def test_a_failing_job_shows_its_error_on_the_page(app):
    from core.jobs import HOURLY, Job, register_job

    def broken(dry_run: bool) -> dict[str, int]:
        raise RuntimeError("upload store unreachable")

    register_job(app, Job("t_broken", "损坏的任务", HOURLY, broken))
    client = app.test_client()
    login_as(app, client, "admin")
    client.post("/admin/jobs/t_broken/run")
    row = re.search(r'data-testid="job-t_broken".*?</tr>', client.get("/admin/jobs/").text, re.S).group(0)
    assert "出错" in row and "upload store unreachable" in row
