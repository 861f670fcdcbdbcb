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


def select_locale():
    """Simplified Chinese unless the visitor chose another supported locale (``lang`` cookie).

    Anything else in the cookie is ignored: a bad cookie must not break every page for that visitor.
    """
    from flask import has_request_context, request

    code = "zh_CN"
    if has_request_context():
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
