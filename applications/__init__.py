"""Applications: submission, uploads, wallet, workflow, routing, deadlines, queues, visits, ratings."""


def init_app(app) -> None:
    """Register the application tables, the citizen's pages and the storage CLI."""
    from flask_babel import lazy_gettext as _l

    from applications import (
        models,  # noqa: F401 - registers the tables
        views,
    )
    from applications.operations import is_authorisation
    from core.nav import add_nav

    app.jinja_env.globals["is_authorisation"] = is_authorisation
    app.register_blueprint(views.bp)
    add_nav(app, "applications.my_applications", _l("我的办件"), roles={"citizen"})
    add_nav(app, "applications.wallet", _l("我的材料"), roles={"citizen"})
    add_nav(app, "applications.authorisations", _l("代办授权"), roles={"citizen"})
    add_nav(app, "applications.messages", _l("消息"), roles={"citizen"})
    try:
        from applications.operations import referenced_storage_keys
        from applications.sweep import register_cli
    except ImportError:  # pragma: no cover - sweep arrives with the uploads work
        return
    register_cli(app, referenced_storage_keys)
