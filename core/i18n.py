"""Internationalisation helpers.

``N_("…")`` only marks a string for extraction (``pybabel extract -k N_``) in code that must not
import Flask (pure rules); it is translated with ``gettext`` where it is shown.

Templates call ``_()`` many times per page; Flask-Babel looks up the context, locale and domain on
every call. :func:`install_fast_gettext` resolves the translations once per request (on ``g``) and
gives Jinja plain callables, which keeps rendering cheap without changing what is translated.
"""

from __future__ import annotations

from functools import lru_cache


def N_(message: str) -> str:
    return message


SUPPORTED_LOCALES = ("zh_CN", "en")


@lru_cache(maxsize=8)
def locale_object(code: str):
    from babel import Locale

    return Locale.parse(code)


def locale_code_for(wanted: str | None) -> str:
    """The supported locale code for a ``lang`` cookie value (zh_CN for anything else)."""
    return wanted if wanted in SUPPORTED_LOCALES else "zh_CN"


@lru_cache(maxsize=8)
def has_catalog(code: str) -> bool:
    """True when a compiled message catalog exists for ``code`` (Chinese, the source, always does)."""
    if code == "zh_CN":
        return True
    from core.config import BASE_DIR

    return (BASE_DIR / "translations" / code / "LC_MESSAGES" / "messages.mo").is_file()


def negotiate(cookie_lang: str | None, accept_language: str | None) -> str:
    """An API client's locale: the ``lang`` cookie when it names a supported locale, else the best
    ``Accept-Language`` match among the locales whose catalog exists, else zh_CN."""
    if cookie_lang in SUPPORTED_LOCALES:
        return cookie_lang
    if accept_language:
        from werkzeug.datastructures import LanguageAccept
        from werkzeug.http import parse_accept_header

        offered = [c for c in SUPPORTED_LOCALES if has_catalog(c)]
        best = parse_accept_header(accept_language, LanguageAccept).best_match(
            [c.replace("_", "-") for c in offered]
        )
        if best:
            return best.replace("-", "_")
    return "zh_CN"


def api_locale() -> str:
    """The locale of this request when it is an API request (``/api/``): see :func:`negotiate`."""
    from flask import request

    return negotiate(request.cookies.get("lang"), request.headers.get("Accept-Language"))


def cache_locale(path: str, cookie_lang: str | None, accept_language: str | None) -> str:
    """The locale part of a page-cache key: API answers follow ``Accept-Language`` too."""
    if path.startswith("/api/"):
        return negotiate(cookie_lang, accept_language)
    return locale_code_for(cookie_lang)


def select_locale():
    """Simplified Chinese unless the visitor chose another supported locale (``lang`` cookie).

    Anything else in the cookie is ignored: a bad cookie must not break every page for that visitor.
    """
    from flask import has_request_context, request

    code = "zh_CN"
    if has_request_context() and request.path.startswith("/api/"):
        code = api_locale()
    elif has_request_context():
        wanted = request.cookies.get("lang")
        if wanted in SUPPORTED_LOCALES:
            code = wanted
    return locale_object(code)


def _translations():
    from flask import g, has_request_context
    from flask_babel import get_translations

    if not has_request_context():
        return get_translations()
    t = g.get("_portal_translations")
    if t is None:
        t = g._portal_translations = get_translations()
    return t


def fast_gettext(string: str, **variables) -> str:
    text = _translations().ugettext(string)
    return text % variables if variables else text


def fast_ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return _translations().ungettext(singular, plural, num) % variables


def install_fast_gettext(app) -> None:
    app.jinja_env.install_gettext_callables(fast_gettext, fast_ngettext, newstyle=True)
