"""The service catalog: items, document requirements, situations, units data, search and bundles."""


def init_app(app) -> None:
    """Register the catalog's tables, pages, API, CLI, per-worker cache and home page."""
    from flask_babel import lazy_gettext as _l

    from catalog import api, cli, models, views  # noqa: F401 - models registers the tables
    from catalog.labels import label
    from catalog.queries import CatalogCache
    from core.nav import add_nav

    app.jinja_env.globals["label"] = label
    app.extensions["catalog_cache"] = CatalogCache()
    app.extensions["page_cache_peek"] = app.extensions["catalog_cache"].peek
    app.extensions["home_view"] = views.home
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    cli.init_app(app)
    for code, title in (
        ("huji", _l("户籍")),
        ("vehicle", _l("车驾管")),
        ("exit_entry", _l("出入境")),
        ("public_order", _l("治安管理")),
    ):
        add_nav(app, "catalog.category", title, code=code)
    from catalog.admin import init_catalog_admin

    init_catalog_admin(app)
    from catalog.ask import init_ask

    init_ask(app)
