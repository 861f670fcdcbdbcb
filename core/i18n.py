"""Internationalisation helpers.

``N_("…")`` only marks a string for extraction (``pybabel extract -k N_``) in code that must not
import Flask (pure rules); it is translated with ``gettext`` where it is shown.

Templates call ``_()`` many times per page; Flask-Babel looks up the context, locale and domain on
every call. :func:`install_fast_gettext` resolves the translations once per request (on ``g``), binds
Jinja's callables to them once per render and keeps each string's marked-up translation, which keeps
rendering cheap without changing what is translated.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TypeVar
from weakref import WeakKeyDictionary

from jinja2 import pass_eval_context
from markupsafe import Markup

K = TypeVar("K")


def N_(message: str) -> str:
    return message


SUPPORTED_LOCALES = ("zh_CN", "en")
#: ``?lang=`` values a shared link may carry, and the locale each means.
_LANG_ARGS = {"zh": "zh_CN", "zh_CN": "zh_CN", "zh-CN": "zh_CN", "en": "en"}
#: The cookies that remember the visitor's choices on this device (one year).
LANG_COOKIE = "lang"
ELDER_COOKIE = "elder"
PREFERENCE_MAX_AGE = 365 * 24 * 3600


@lru_cache(maxsize=8)
def locale_object(code: str):
    from babel import Locale

    return Locale.parse(code)


def locale_code_for(wanted: str | None) -> str:
    """The supported locale code for a ``lang`` cookie value (zh_CN for anything else)."""
    return wanted if wanted in SUPPORTED_LOCALES else "zh_CN"


def lang_from_arg(value: str | None) -> str | None:
    """The locale a ``?lang=`` value asks for, or None when it asks for nothing we support."""
    return _LANG_ARGS.get(value or "")


def elder_from_arg(value: str | None) -> bool | None:
    """``?elder=1`` turns 长辈版 on, ``?elder=0`` off; anything else changes nothing."""
    return {"1": True, "0": False}.get(value or "")


def _value(mapping, key: str) -> str | None:
    """``mapping.get(key)`` without the miss's exception: a Werkzeug MultiDict's ``get`` builds and
    catches a BadRequestKeyError for every absent key, and most requests carry none of these."""
    return mapping[key] if key in mapping else None  # noqa: SIM401 (the point: no .get())


def display_key(cookies, args) -> tuple[str, bool]:
    """(locale code, 长辈版?) of a request from its cookies and query arguments (mappings).

    A ``?lang=``/``?elder=`` argument wins over the cookie, so a shared ``?lang=en`` link opens in
    English; a cookie value we do not know is ignored (a bad cookie must not break every page).
    """
    code = lang_from_arg(_value(args, "lang")) or locale_code_for(_value(cookies, LANG_COOKIE))
    elder = elder_from_arg(_value(args, "elder"))
    if elder is None:
        elder = _value(cookies, ELDER_COOKIE) == "1"
    return code, elder


def request_display() -> tuple[str, bool]:
    """:func:`display_key` of the current request, worked out once per request (the locale selector,
    the template context and the header cache all ask)."""
    from flask import request

    found = request.environ.get("portal.display")
    if found is None:
        found = request.environ["portal.display"] = display_key(request.cookies, request.args)
    return found


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


def cache_display(path: str, cookies, args, accept_language: str | None) -> tuple[str, bool]:
    """The (locale, 长辈版) part of a page-cache key: API answers follow ``Accept-Language`` too
    (and have no 长辈版); pages follow :func:`display_key`."""
    if path.startswith("/api/"):
        return negotiate(cookies.get(LANG_COOKIE), accept_language), False
    return display_key(cookies, args)


def select_locale():
    """Simplified Chinese unless the visitor chose another supported locale (``?lang=`` or the
    ``lang`` cookie)."""
    from flask import has_request_context, request

    code = "zh_CN"
    if has_request_context() and request.path.startswith("/api/"):
        code = api_locale()
    elif has_request_context():
        code = request_display()[0]
    return locale_object(code)


def html_lang(code: str) -> str:
    """The ``<html lang>`` value (BCP 47) of a locale code."""
    return {"zh_CN": "zh-CN"}.get(code, code)


def remember_choices(response):
    """``after_request``: a ``?lang=``/``?elder=`` argument is remembered in a cookie on this device."""
    from flask import request

    args, cookies = request.args, request.cookies
    if not args:  # most requests: nothing to remember
        return response
    lang = lang_from_arg(_value(args, "lang"))
    if lang is not None and _value(cookies, LANG_COOKIE) != lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=PREFERENCE_MAX_AGE, samesite="Lax", httponly=True)
    elder = elder_from_arg(_value(args, "elder"))
    if elder is not None and (_value(cookies, ELDER_COOKIE) == "1") != elder:
        response.set_cookie(
            ELDER_COOKIE, "1" if elder else "0", max_age=PREFERENCE_MAX_AGE, samesite="Lax", httponly=True
        )
    return response


def switch_url(**changes: str) -> str:
    """This page's URL with ``lang``/``elder`` replaced (the header's switches)."""
    from urllib.parse import urlencode

    from flask import request

    args = request.args.copy()
    for key, value in changes.items():
        args[key] = value
    return request.path + "?" + urlencode(list(args.items(multi=True)))


def _translations():
    # imported once, not on each of the ~40 strings a page translates (this module imports no Flask)
    global _flask_g, _has_request_context, _get_translations
    if _flask_g is None:
        from flask import g, has_request_context
        from flask_babel import get_translations

        _flask_g, _has_request_context, _get_translations = g, has_request_context, get_translations
    if not _has_request_context():
        return _get_translations()
    t = _flask_g.get("_portal_translations")
    if t is None:
        t = _flask_g._portal_translations = _get_translations()
    return t


_flask_g = _has_request_context = _get_translations = None


#: What is worked out once per catalogue (a translations object), dropped with it: a worker keeps one
#: catalogue per language, a test run builds thousands of apps, each with catalogues of its own.
_PER_CATALOGUE: WeakKeyDictionary[object, dict] = WeakKeyDictionary()


def _kept(t) -> dict[str, dict]:
    """Catalogue ``t``'s memos: ``labels`` (a table's id → the table, its translation) and ``marked``
    (a string → its marked-up translation)."""
    kept = _PER_CATALOGUE.get(t)
    if kept is None:
        kept = _PER_CATALOGUE[t] = {"labels": {}, "marked": {}}
    return kept


def translated_labels(labels: Mapping[K, str]) -> Mapping[K, str]:
    """``{key: gettext(label)}`` for a module-level table of ``N_`` labels, worked out once per language
    and shared (read it, never change it): the clerk queue translated its nine state labels on every
    view. Kept with the catalogue and the table checked by identity, so a reloaded catalogue is
    translated again."""
    t = _translations()
    tables = _kept(t)["labels"]
    hit = tables.get(id(labels))
    if hit is not None and hit[0] is labels:
        return hit[1]
    table = {k: t.ugettext(v) for k, v in labels.items()}
    tables[id(labels)] = (labels, table)
    return table


def fast_gettext(string: str, **variables) -> str:
    text = _translations().ugettext(string)
    return text % variables if variables else text


def fast_ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return _translations().ungettext(singular, plural, num) % variables


#: The most translated strings one language's memo of marked-up results holds (templates' own strings
#: are a few thousand; the cap only keeps strings that are not template literals from growing it).
MAX_MARKED = 20_000


def _marked_memo(t) -> dict[str, object]:
    """Translations ``t``'s memo: string → its translation, marked up and formatted (no variables)."""
    return _kept(t)["marked"]


def _template_text(t, marked: dict, autoescape: bool, string: str, variables: dict):
    """What Jinja's newstyle ``gettext`` gives: the translation, Markup when autoescaping, always
    ``%``-formatted. Without variables the marked-up result is worked out once per language."""
    if not autoescape:
        return t.ugettext(string) % variables
    if variables:
        return Markup(t.ugettext(string)) % variables  # noqa: S704 - the catalogue's text, as Jinja marks it
    text = marked.get(string)
    if text is None:
        text = Markup(t.ugettext(string)) % variables  # noqa: S704 - as above
        if len(marked) < MAX_MARKED:
            marked[string] = text
    return text


def _template_ntext(t, autoescape: bool, singular: str, plural: str, num: int, variables: dict):
    variables.setdefault("num", num)
    text = t.ungettext(singular, plural, num)
    if autoescape:
        text = Markup(text)  # noqa: S704 - as above
    return text % variables


def install_fast_gettext(app) -> None:
    """Jinja's ``_``/``gettext``/``ngettext``, with the same results as Jinja's own wrappers, called
    directly and bound to the request's translations once per render (a context processor) instead of
    finding them for each string: Jinja's wrappers went through three ``Context.call`` layers per
    string, finding the translations cost as much as translating, and a page asks for 20–60 strings.
    A macro file imported without context sees only the globals, which find them per string."""

    app.jinja_env.install_gettext_callables(fast_gettext, fast_ngettext, newstyle=True)

    @pass_eval_context
    def gettext(eval_ctx, string: str, **variables) -> str:
        t = _translations()
        return _template_text(t, _marked_memo(t), eval_ctx.autoescape, string, variables)

    @pass_eval_context
    def ngettext(eval_ctx, singular: str, plural: str, num: int, **variables) -> str:
        return _template_ntext(_translations(), eval_ctx.autoescape, singular, plural, num, variables)

    app.jinja_env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext)

    @app.context_processor
    def bound_gettext() -> dict[str, object]:
        t = _translations()
        marked = _marked_memo(t)

        @pass_eval_context
        def gettext(eval_ctx, string: str, **variables) -> str:
            return _template_text(t, marked, eval_ctx.autoescape, string, variables)

        @pass_eval_context
        def ngettext(eval_ctx, singular: str, plural: str, num: int, **variables) -> str:
            return _template_ntext(t, eval_ctx.autoescape, singular, plural, num, variables)

        return {"_": gettext, "gettext": gettext, "ngettext": ngettext}
