"""The citizen's small forms around an application; the application form itself is built by
:mod:`catalog.application_form` from the pinned version's field definitions."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from core.forms import PortalForm


class StartForm(PortalForm):
    """The 在线申请 button: a one-time token makes a double click start one draft."""

    token = StringField(validators=[DataRequired(), Length(16, 64)])


class SubmitForm(PortalForm):
    """The final submit on the 核对信息 page."""


class ActionForm(PortalForm):
    """Any other POST button (withdraw, remove a file, resubmit)."""
