"""Scheduled jobs of applications, registered in the core scheduler (:mod:`core.jobs`) at app
creation, and the admin page 定时任务 that lists every job and runs one now.

- ``sweep_uploads`` (hourly): the orphan-upload sweeper (:mod:`applications.documents.sweep`);
- ``due_soon_digest`` (daily 08:00), ``citizen_deadlines`` (daily 09:00): reminders
  (:mod:`applications.jobs.reminders`);
- ``stats_check`` (daily 03:00): the roll-ups against the raw tables (:mod:`applications.jobs.stats_check`);
- the retention rules of applications (:mod:`applications.jobs.retention`), run by core's ``retention``
  job (daily 02:00) with those of auth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def sweep_uploads(dry_run: bool) -> dict[str, int]:
    """The orphan-upload sweeper as a job: files no row references, older than the grace period."""
    from applications.documents.sweep import DEFAULT_GRACE_SECONDS, sweep_orphans
    from applications.submission.operations import referenced_storage_keys
    from core.storage import get_storage

    referenced = referenced_storage_keys()
    deleted = sweep_orphans(get_storage(), referenced, DEFAULT_GRACE_SECONDS, dry_run=dry_run)
    return {"deleted": len(deleted), "referenced": len(referenced)}


def init_jobs(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from applications.jobs import models as _models  # noqa: F401 - registers the table
    from applications.jobs import reminders, retention, stats_check, views
    from core.jobs import HOURLY, Job, daily, register_job
    from core.retention import Rule, register_rule

    register_job(
        app,
        Job(
            "sweep_uploads",
            _l("清理孤立上传文件"),
            HOURLY,
            sweep_uploads,
            _l("删除没有任何记录引用、写入超过一小时的上传文件。"),
        ),
    )
    register_job(
        app,
        Job(
            "due_soon_digest",
            _l("即将到期提醒（工作人员）"),
            daily(8),
            reminders.due_soon_digest,
            _l("每人每天一条站内消息：即将到期的办件（经办人及所在单位负责人）。"),
        ),
    )
    register_job(
        app,
        Job(
            "citizen_deadlines",
            _l("补正和容缺期限提醒（群众）"),
            daily(9),
            reminders.citizen_deadlines,
            _l("补正或容缺材料期限届满前提醒申请人，每件每个期限一次。"),
        ),
    )
    register_job(
        app,
        Job(
            "stats_check",
            _l("统计汇总核对"),
            daily(3),
            stats_check.check_rollups,
            _l("用原始数据重新计算统计汇总并与汇总表核对，不一致时记录错误并重建。"),
        ),
    )
    register_rule(app, Rule("drafts", _l("长期未修改的草稿"), retention.purge_drafts))
    register_rule(
        app,
        Rule(
            "closed_uploads",
            _l("已结案件的上传材料"),
            retention.purge_closed_uploads,
        ),
    )
    register_rule(app, Rule("rejected_files", _l("被补正退回的材料"), retention.purge_rejected_files))
    app.register_blueprint(views.bp)
