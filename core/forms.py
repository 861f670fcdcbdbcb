"""The base class of every form in the portal.

A NUL byte is never typed by a person, and PostgreSQL refuses text that holds one: a hand-made request
carrying ``%00`` in any field must come back as the ordinary form page (or pass, without it), never reach
the database as a 500. :class:`PortalForm` adds one filter to every field it binds (WTForms' documented
``Meta.bind_field`` hook), so each form need not remember it.
"""

from __future__ import annotations

from datetime import datetime

import wtforms.widgets
import wtforms.widgets.core
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import DateField

#: The years a typed date may fall in (a filter of 0001-01-01 or 9999-12-31 is a typing slip).
FIRST_YEAR, LAST_YEAR = 2000, 2099


def drop_nul(value):
    """``value`` without NUL bytes (strings, and the strings of a multi-value field); anything else as is."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        return [drop_nul(v) for v in value]
    return value


def strip(value):
    """The filter for typed text: surrounding spaces removed (anything not a string as is)."""
    return value.strip() if isinstance(value, str) else value


_QUOTE = '"'


def html_params(**kwargs) -> Markup:
    """WTForms' ``html_params`` (the attributes of every field, label and CSRF input), the same markup
    without a ``Markup.format`` per attribute: that string formatter was a third of the clerk queue
    page's time (about 40 attributes on each view). Keys and values escaped as WTForms does them."""
    params = []
    for key, value in sorted(kwargs.items()):
        key = escape(wtforms.widgets.core.clean_key(key))
        if value is True:
            params.append(key)
        elif value is not False:
            params.append(f'{key}="{str(escape(value)).replace(_QUOTE, "&quot;")}"')
    return Markup(" ".join(params))  # noqa: S704 - every key and value escaped above


#: What WTForms' widgets and labels call (the module function, the staticmethods of Input and Button,
#: and ``wtforms.widgets.html_params`` that ``Label`` looks up).
_wtforms_html_params = wtforms.widgets.core.html_params
wtforms.widgets.core.html_params = html_params
wtforms.widgets.html_params = html_params
wtforms.widgets.core.Input.html_params = staticmethod(html_params)
wtforms.widgets.core.Button.html_params = staticmethod(html_params)


class PortalForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        def bind_field(self, form, unbound_field, options):
            filters = (drop_nul, *unbound_field.kwargs.get("filters", ()))
            return unbound_field.bind(form=form, **{**options, "filters": filters})


class LocalDateField(DateField):
    """A calendar date (Asia/Shanghai) as ``YYYY-MM-DD``, with a Chinese message when it is not one."""

    def process_formdata(self, valuelist: list[str]) -> None:
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            self.data = None
            return
        try:
            value = datetime.strptime(text, "%Y-%m-%d").date()
        except ValueError:
            self.data = None
            raise ValueError(_("请输入正确的日期，格式为 年-月-日，例如 2024-03-01")) from None
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            self.data = None
            raise ValueError(_("日期应在 %(first)s 年至 %(last)s 年之间", first=FIRST_YEAR, last=LAST_YEAR))
        self.data = value
