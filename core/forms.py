"""The base class of every form in the portal.

A NUL byte is never typed by a person, and PostgreSQL refuses text that holds one: a hand-made request
carrying ``%00`` in any field must come back as the ordinary form page (or pass, without it), never reach
the database as a 500. :class:`PortalForm` adds one filter to every field it binds (WTForms' documented
``Meta.bind_field`` hook), so each form need not remember it.
"""

from __future__ import annotations

from flask_wtf import FlaskForm


def drop_nul(value):
    """``value`` without NUL bytes (strings, and the strings of a multi-value field); anything else as is."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        return [drop_nul(v) for v in value]
    return value


class PortalForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        def bind_field(self, form, unbound_field, options):
            filters = (drop_nul, *unbound_field.kwargs.get("filters", ()))
            return unbound_field.bind(form=form, **{**options, "filters": filters})
