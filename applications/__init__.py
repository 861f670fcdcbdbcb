"""Applications, by concern (DESIGN §3):

- ``models`` — the tables every part shares (applications, documents, wallet, events, pauses, visits,
  routing rules, outbox);
- ``submission`` — the citizen's application from draft to submit, and their pages;
- ``documents`` — upload checks and the orphan-file sweeper;
- ``workflow`` — the state table, deadlines, the clock, routing, the year's 放假安排;
- ``clerk`` — claims, decisions and queues, the clerk's pages;
- ``notify`` — the outbox, SMS gateways and the delivery worker;
- ``ratings`` — 好差评 and bad-rating follow-ups;
- ``stats`` — the scoreboard's roll-ups, metrics and exports;
- ``appointments`` — 预约: opening hours, slots, bookings, the counter's check-in.
- ``jobs`` — the scheduled jobs (sweeper, reminders, statistics check, retention rules) and their
  admin page.
- ``rights`` — 我的数据: a citizen's own data, its download and deleting the account.
- ``guide_fixes`` — 改进清单: what corrections, ratings, deferrals and unanswered questions say
  about each item's guide.
- ``ecert`` — 电子证照: signed certificates issued at completion, verification, revocation, 免提交.
"""


def init_app(app) -> None:
    """Register the application tables, the citizen's and the clerk's pages, and the CLI commands."""
    from flask_babel import lazy_gettext as _l

    from applications import models  # noqa: F401 - registers the tables
    from applications.bundles import models as _bundle_models  # noqa: F401
    from applications.clerk import reason_views
    from applications.clerk import views as clerk_views
    from applications.documents.sweep import register_cli
    from applications.gauges import register as register_gauges
    from applications.notify.inbox import unread_count
    from applications.ratings import models as _rating_models  # noqa: F401
    from applications.submission import views
    from applications.submission.operations import is_authorisation, referenced_storage_keys
    from applications.workflow import calendar_views
    from core.nav import add_nav
    from core.workdays import models as _workday_models  # noqa: F401

    register_gauges()  # the queue gauges /metrics computes at scrape (core.metrics)
    app.jinja_env.globals["is_authorisation"] = is_authorisation
    app.jinja_env.globals["calendar_missing_year"] = calendar_views.missing_year
    app.register_blueprint(calendar_views.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(clerk_views.bp)
    app.register_blueprint(clerk_views.admin_bp)
    app.register_blueprint(reason_views.bp)
    add_nav(app, "clerk.queue", _l("工作台"), roles={"clerk", "unit_lead"})
    add_nav(app, "routing_admin.rules", _l("分派规则"), roles={"admin"})
    add_nav(app, "applications.my_applications", _l("我的办件"), roles={"citizen"})
    add_nav(app, "applications.wallet", _l("我的材料"), roles={"citizen"})
    add_nav(app, "applications.authorisations", _l("代办授权"), roles={"citizen"})
    # staff read their reminders and sign-off requests in the same inbox
    add_nav(
        app, "applications.messages", _l("消息"), roles={"citizen", "clerk", "unit_lead"}, badge=unread_count
    )
    from applications.guide_fixes import init_guide_fixes

    init_guide_fixes(app)
    from applications.bundles.views import init_apply  # 一件事: the citizen's one-form application

    init_apply(app)
    register_cli(app, referenced_storage_keys)
    from applications.notify.tasks import register_cli as register_notify_cli

    register_notify_cli(app)
    from applications.submission.audit_repair import register_cli as register_audit_repair

    register_audit_repair(app)
    from applications.stats import init_stats

    init_stats(app)
    from applications.ratings import init_ratings

    init_ratings(app)
    from applications.appointments import init_appointments

    init_appointments(app)
    from applications.jobs import init_jobs

    init_jobs(app)
    from applications.rights import init_rights

    init_rights(app)
    from applications.ecert import init_ecert

    init_ecert(app)
    from applications.bundles.citizen_views import init_bundle_views

    init_bundle_views(app)
    from applications.bundles.exchange import init_exchange

    init_exchange(app)
