"""The citizen's small forms around an application; the application form itself is built by
:mod:`catalog.application_form` from the pinned version's field definitions."""

from __future__ import annotations

from datetime import date
from typing import Any

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from catalog.application_form import field_name
from core.forms import PortalForm


class StartForm(PortalForm):
    """The 在线申请 button: a one-time token makes a double click start one draft."""

    token = StringField(validators=[DataRequired(), Length(16, 64)])


class SubmitForm(PortalForm):
    """The final submit on the 核对信息 page."""


class ActionForm(PortalForm):
    """Any other POST button (withdraw, remove a file, resubmit)."""


def application_values(form, fields) -> dict[str, Any]:
    """What a filled application form (built by :func:`catalog.application_form.build_application_form`)
    holds, shaped for :func:`applications.submission.operations.save_form`; the citizen's 填写信息 and
    the clerk's 窗口登记 store their answers the same way."""
    values = {}
    for f in fields:
        value = getattr(form, field_name(f.key)).data
        values[f.key] = value.isoformat() if isinstance(value, date) else value
    return {
        "district": form.district.data,
        "contact_mobile": form.contact_mobile.data,
        "principal_name": form.principal_name.data,
        "principal_id_number": form.principal_id_number.data,
        "relationship_to_principal": form.relationship_to_principal.data,
        "delivery_method": form.delivery_method.data,
        "delivery_address": {
            "recipient": form.recipient.data,
            "mobile": form.recipient_mobile.data,
            "district": form.mail_district.data,
            "address": form.mail_address.data,
            "pickup_unit": form.pickup_unit.data,
        },
        "fields": values,
    }
