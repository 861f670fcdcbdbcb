"""The 一件事 form's sections, built at run time from the bundle's definition and its items' field
definitions (the same field types and checks as an application form: :mod:`catalog.application_form`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from auth.forms import MobileField, mobile_format
from catalog import bundle_spec
from catalog.application_form import DELIVERY_LABELS, DISTRICT_CHOICES, build_field, field_name
from catalog.queries import FieldView
from core.forms import PortalForm, strip


class SubmitForm(PortalForm):
    """The final submit on the 核对信息 page (and any other POST button)."""


def build_fields_form(fields: tuple[FieldView, ...], **kwargs) -> PortalForm:
    """A form of only ``fields`` (named ``f_<key>``): the shared questions, or one item's own."""

    class FieldsForm(PortalForm):
        pass

    for f in fields:
        setattr(FieldsForm, field_name(f.key), build_field(f))
    return FieldsForm(**kwargs)


def shared_form(fields: tuple[FieldView, ...], ask_contact: bool, **kwargs) -> PortalForm:
    """共同信息: the district, the contact phone (unless a shared question is the phone) and the
    shared questions."""

    class SharedForm(PortalForm):
        district = SelectField(
            _l("办理辖区（户籍地或居住地所在区）"),
            choices=DISTRICT_CHOICES,
            validators=[DataRequired(_l("请选择办理辖区"))],
        )

    if ask_contact:
        SharedForm.contact_mobile = MobileField(
            _l("联系电话"), validators=[DataRequired(_l("请填写联系电话")), mobile_format]
        )
    for f in fields:
        setattr(SharedForm, field_name(f.key), build_field(f))
    return SharedForm(**kwargs)


def situations_form(situations: list[bundle_spec.SituationQuestion], **kwargs) -> PortalForm:
    """情形: each merged situation question once, as radio buttons."""

    class SituationsForm(PortalForm):
        pass

    for s in situations:
        setattr(
            SituationsForm,
            s.key,
            RadioField(
                s.question,
                choices=[(o.value, o.label) for o in s.options],
                validators=[DataRequired(_l("请选择：%(q)s", q=s.question))],
            ),
        )
    return SituationsForm(**kwargs)


class DeliveryForm(PortalForm):
    """送达方式 (only the methods every item offers) and the mailing details."""

    delivery_method = RadioField(
        _l("结果送达方式"), choices=[], validators=[DataRequired(_l("请选择结果送达方式"))]
    )
    recipient = StringField(_l("收件人"), filters=[strip], validators=[Optional(), Length(2, 20)])
    recipient_mobile = MobileField(_l("收件人电话"), validators=[Optional(), mobile_format])
    mail_district = SelectField(_l("收件地址所在区"), choices=DISTRICT_CHOICES, validators=[Optional()])
    mail_address = StringField(
        _l("详细地址（街道、小区、门牌号）"),
        filters=[strip],
        validators=[Optional(), Length(5, 200, _l("请填写5至200字的详细地址"))],
    )

    ask_address = True

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.delivery_method.data == "mail":
            required = [
                (self.recipient, _l("请填写收件人")),
                (self.recipient_mobile, _l("请填写收件人电话")),
                (self.mail_district, _l("请选择收件地址所在区")),
            ]
            if self.ask_address:
                required.append((self.mail_address, _l("请填写详细地址")))
            for fld, message in required:
                if not fld.data:
                    fld.errors = [*fld.errors, message]
                    ok = False
        return ok


def delivery_form(methods: tuple[str, ...], ask_address: bool, **kwargs) -> DeliveryForm:
    form = DeliveryForm(**kwargs)
    form.delivery_method.choices = [(m, DELIVERY_LABELS.get(m, m)) for m in methods]
    form.ask_address = ask_address
    return form


def fields_values(form: PortalForm, fields: tuple[FieldView, ...]) -> dict[str, Any]:
    """What the citizen typed into ``fields`` (dates as ISO strings), keyed by field key."""
    out = {}
    for f in fields:
        value = form[field_name(f.key)].data
        out[f.key] = value.isoformat() if isinstance(value, date) else value
    return out


def stored_for_form(fields: tuple[FieldView, ...], values: dict[str, Any]) -> dict[str, Any]:
    """Stored answers as a form's ``data`` (dates back to dates; an unreadable one left empty)."""
    out: dict[str, Any] = {}
    for f in fields:
        value = values.get(f.key)
        if f.type == "date" and isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                value = None
        out[field_name(f.key)] = value
    return out
