"""The application factory."""

from __future__ import annotations

import logging
import os
import pickle
import time
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from flask_babel import gettext
from flask_login import AnonymousUserMixin, UserMixin, current_user
from jinja2 import FileSystemBytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import inspect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from core import config as config_module
from core import csrf_tokens
from core.api import init_api
from core.clock import SHANGHAI
from core.crypto.keyring import Keyring
from core.db import db, init_read_only_commit
from core.errors import init_errors
from core.extensions import babel, csrf, limiter, login_manager, migrate
from core.i18n import (
    N_,
    html_lang,
    install_fast_gettext,
    remember_choices,
    request_display,
    select_locale,
    switch_url,
)
from core.logging import configure_logging
from core.masking import mask_id_number, mask_mobile
from core.metrics import init_metrics
from core.nav import init_nav
from core.pagecache import CSRF_SLOT, cached_fragment, cached_header
from core.request_id import RequestIdMiddleware
from core.security import add_missing_headers, init_security
from core.session_cookie import PortalSessionInterface

access_log = logging.getLogger("portal.access")


class BoundedIntConverter(IntegerConverter):
    """``<int:id>`` that fits the database's 64-bit integers: a longer number in a URL is a 404, not
    an overflow deep in the driver (a 500)."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def _remember_sync_checks(app: Flask) -> None:
    """Flask asks ``inspect.iscoroutinefunction`` of the view and of each of the ~20 request hooks on
    every request; the answer for a function never changes, so each worker asks once per function."""
    plain = app.ensure_sync
    known: dict = {}

    def ensure_sync(func):
        try:
            return known[func]
        except KeyError:
            known[func] = result = plain(func)
            return result
        except TypeError:  # not hashable
            return plain(func)

    app.ensure_sync = ensure_sync  # type: ignore[method-assign]


def create_base_app(overrides: dict[str, Any] | None = None) -> Flask:
    """The app with core only (configuration, database, extensions, security, errors, core pages),
    from the environment plus ``overrides`` (tests). Opens no database connection. The feature
    packages are wired by the composition root, :func:`portal.create_app`."""
    app = Flask(
        __name__.split(".")[0],
        root_path=str(config_module.BASE_DIR),
        template_folder="templates",
        static_folder="static",
        instance_path=str(config_module.instance_dir()),
    )
    app.session_interface = PortalSessionInterface()
    app.config.update(config_module.from_env())
    if overrides:
        app.config.update(overrides)
        if "SECRET_KEY" in overrides:  # a key given by the caller was not made on this machine
            app.config["SECRET_KEY_GENERATED"] = overrides.get("SECRET_KEY_GENERATED", False)
    configure_logging(app.config["LOG_LEVEL"])
    if app.config.get("PAGE_MICROCACHE", True):
        from core.pagecache import PageCacheMiddleware

        app.wsgi_app = PageCacheMiddleware(app.wsgi_app, app)  # type: ignore[method-assign]
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops > 0:  # outermost: the cache, the limits and the audit see the proxy's word, nobody else's
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.url_map.converters["int"] = BoundedIntConverter
    _remember_sync_checks(app)

    db.init_app(app)
    init_read_only_commit(app)
    app.extensions["keyring"] = Keyring(app.config)
    migrate.init_app(
        app, db, directory=str(config_module.BASE_DIR / "migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    csrf_tokens.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(config_module.BASE_DIR / "translations"),
    )
    init_api(app)  # before the limiter: its after-request hook then runs after the limiter's
    limiter.init_app(app)
    if app.config.get("RATELIMIT_STORAGE_URI", "").startswith("memory://") and not app.testing:
        logging.getLogger("portal").warning(
            "rate limits are counted per worker process (no REDIS_URL): with N workers a client gets up "
            "to N times each limit; account lockout is unaffected (it lives in the database)"
        )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("请先登录后再继续。")  # translated by localize_callback
    login_manager.localize_callback = gettext
    login_manager.login_message_category = "info"
    install_fast_gettext(app)
    init_security(app)
    init_errors(app)
    init_metrics(app)
    init_nav(app)
    _init_template_cache(app)
    _register_template_helpers(app)
    _register_request_hooks(app)

    from core import audit as _audit  # noqa: F401 - register tables
    from core import filecrypt, jobs, retention
    from core.apidocs import bp as apidocs_bp
    from core.backup import register_cli as register_backup_cli
    from core.crypto import models as _crypto_models  # noqa: F401 - register tables
    from core.crypto.cli import register_cli as register_keys_cli
    from core.views import bp as core_bp

    filecrypt.init_app(app)
    jobs.register_cli(app)
    jobs.register_gauges()
    retention.init_retention(app)

    app.register_blueprint(core_bp)
    app.register_blueprint(apidocs_bp)
    register_backup_cli(app)
    register_keys_cli(app)
    return app


def local_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """UTC in the database, Asia/Shanghai on screen."""
    if value is None:
        return ""
    return value.astimezone(SHANGHAI).strftime(fmt)


class TemplateCache(FileSystemBytecodeCache):
    """Jinja's file bytecode cache that never fails a page: a damaged file is compiled again, and a
    folder that went away (or filled up) only costs the compiling."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as exc:
            logging.getLogger("portal").warning("a compiled template was not kept: %s", exc)


def _init_template_cache(app: Flask) -> None:
    """Keep Jinja's compiled templates in ``TEMPLATE_CACHE_DIR`` (Jinja's bytecode cache).

    A new worker compiled every template it rendered (112 templates, about 0.9 s of CPU), so the first
    answers after a start or a deploy were slow; from the cache they load in about 30 ms. Jinja checks
    each file against the template's source, writes it atomically (workers share the folder) and ignores
    a damaged one. The folder is the instance's (0700: a cached file is code). A folder that cannot be
    made only costs the compiling: the portal starts all the same."""
    folder = app.config.get("TEMPLATE_CACHE_DIR")
    if not folder:
        return
    path = Path(folder)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(f"{path} is not writable")
    except OSError as exc:
        logging.getLogger("portal").warning("templates are compiled in memory only: %s", exc)
        return
    app.jinja_env.bytecode_cache = TemplateCache(str(path))


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["mask_id"] = mask_id_number
    app.jinja_env.filters["mask_mobile"] = mask_mobile
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals["cached_fragment"] = cached_fragment
    app.jinja_env.globals["cached_header"] = cached_header
    app.jinja_env.globals["CSRF_SLOT"] = CSRF_SLOT

    @app.context_processor
    def portal_context():
        lang, elder = request_display()
        return {
            # the configured name is translated when the catalogue knows it (the default name is)
            "portal_name": gettext(app.config["PORTAL_NAME"]),
            "consult_phone": app.config["CONSULT_PHONE"],
            "current_lang": lang,
            "html_lang": html_lang(lang),
            "elder_mode": elder,
            "switch_url": switch_url,
        }


def _request_user_id() -> str | None:
    """The id of the user this request was made by, or None if anonymous.

    The user Flask-Login already loaded for the request is read through its identity key: after a view
    commits, its attributes are expired, and reading ``current_user.id`` or ``.is_active`` in an
    ``after_request`` hook cost a new transaction and a SELECT of the user on every POST that commits.
    """
    if "request_user_id" in g:  # both after-request hooks ask: work it out once
        return g.request_user_id
    user = g.get("_login_user")
    if user is None:  # not looked at during the request: load it as before
        user = current_user._get_current_object()
    user_id = None
    if user is not None and isinstance(user, UserMixin) and not isinstance(user, AnonymousUserMixin):
        state = inspect(user, raiseerr=False)
        if state is not None and state.identity is not None:
            user_id = str(state.identity[0])
        elif user.is_authenticated:
            user_id = user.get_id().split(":")[0]
    g.request_user_id = user_id
    return user_id


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def _start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        if request.path.startswith("/static/"):
            return response
        elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={"ms": round(elapsed, 1), "user": _request_user_id(), "ip": request.remote_addr},
        )
        return response

    app.after_request(remember_choices)

    @app.after_request
    def _no_store_for_private(response):
        if _request_user_id() is not None:
            add_missing_headers(response, (("Cache-Control", "no-store"),))
        return response
