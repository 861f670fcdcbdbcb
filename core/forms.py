"""The base class of every form in the portal.

A NUL byte is never typed by a person, and PostgreSQL refuses text that holds one: a hand-made request
carrying ``%00`` in any field must come back as the ordinary form page (or pass, without it), never reach
the database as a 500. :class:`PortalForm` adds one filter to every field it binds (WTForms' documented
``Meta.bind_field`` hook), so each form need not remember it.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_wtf import FlaskForm
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
