"""Templates' ``_``/``gettext``/``ngettext`` (core.i18n.install_fast_gettext) give exactly what Jinja's
own newstyle wrappers give, in both languages, through the per-render binding (a page rendered by
Flask) and through the globals (a template rendered without Flask's context, as an imported macro
file is); a string without variables is worked out once per language, and the memo is bounded."""

from __future__ import annotations

import gc
import weakref

import pytest
from babel.support import Translations
from flask import render_template_string
from flask_babel import get_translations
from jinja2 import Environment

import core.i18n as i18n

SOURCE = "|".join(
    [
        '{{ _("已受理") }}',
        '{{ _("不在目录里的字符串") }}',
        '{{ _("完成率 50%%") }}',
        '{{ gettext("您好，%(name)s", name=who) }}',
        '{{ ngettext("%(num)d 件", "%(num)d 件", 3) }}',
        "{% trans %}已受理{% endtrans %}",
        "{% trans count=2 %}{{ count }} 件{% pluralize %}{{ count }} 件{% endtrans %}",
    ]
)


def _reference(translations) -> str:
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    env.install_gettext_callables(translations.ugettext, translations.ungettext, newstyle=True)
    return env.from_string(SOURCE).render(who="<b>王</b>")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_page_and_a_template_without_context_translate_as_jinja_does(app, lang):
    with app.test_request_context(f"/?lang={lang}"):
        expected = _reference(get_translations())
        assert render_template_string(SOURCE, who="<b>王</b>") == expected  # bound per render
        assert app.jinja_env.from_string(SOURCE).render(who="<b>王</b>") == expected  # the globals
        assert "&lt;b&gt;王&lt;/b&gt;" in expected  # a variable is escaped, the text is not
    if lang == "en":
        assert "Accepted" in expected


def test_a_string_is_marked_up_once_per_language_and_the_memo_is_bounded(app, monkeypatch):
    template = app.jinja_env.from_string('{{ _("已受理") }}|{{ _("已受理") }}')
    with app.test_request_context("/?lang=en"):
        t = get_translations()
        template.render()
        kept = i18n._marked_memo(t)["已受理"]
        assert str(kept).startswith("Accepted")
        template.render()
        assert i18n._marked_memo(t)["已受理"] is kept
    monkeypatch.setattr(i18n, "MAX_MARKED", 0)
    with app.test_request_context("/?lang=en"):
        assert app.jinja_env.from_string('{{ _("已退回") }}').render()
        assert "已退回" not in i18n._marked_memo(get_translations())


def test_what_is_kept_for_a_catalogue_goes_with_it():
    """A test run builds thousands of apps, each with its own catalogues: the memo keeps none alive."""
    t = Translations()
    i18n._marked_memo(t)["x"] = "x"
    assert t in i18n._PER_CATALOGUE
    gone = weakref.ref(t)
    del t
    gc.collect()
    assert gone() is None
