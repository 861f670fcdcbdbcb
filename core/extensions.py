"""Flask extension singletons, initialised in :func:`core.factory.create_app`."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

login_manager = LoginManager()
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


SUPPORTED_LOCALES = ("zh_CN", "en")


def select_locale() -> str:
    """Simplified Chinese unless the visitor explicitly chose English (``?lang=en`` cookie later).

    Anything else in the cookie is ignored: Babel cannot parse an arbitrary value, and a bad cookie
    must not break every page (the error page included) for that visitor.
    """
    chosen = request.cookies.get("lang") if request else None
    return chosen if chosen in SUPPORTED_LOCALES else "zh_CN"
