"""The application form of an item, built at run time from a catalog version's field definitions:
the standard part (district, contact, 亲友代办, delivery) plus the item's own fields.

It lives with the catalog because the catalog editor previews it and the citizen's application
fills it; both build it from the same :class:`~catalog.queries.FieldView` definitions.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from auth.forms import IdNumberField, MobileField, chinese_name, id_number_format, mobile_format
from catalog.districts import district_choices
from catalog.queries import FieldView
from core.forms import PortalForm, strip

DISTRICT_CHOICES = district_choices()
RELATIONSHIPS = ["配偶", "父母", "子女", "兄弟姐妹", "祖父母、外祖父母", "孙子女、外孙子女", "其他近亲属"]
DELIVERY_LABELS = {
    "mail": _l("免费邮寄到家"),
    "counter": _l("到窗口领取"),
    "ecert": _l("电子证照（存入我的材料）"),
}


def field_name(key: str) -> str:
    return f"f_{key}"


def _build_field(f: FieldView):
    required_msg = _l("请填写%(label)s", label=f.label)
    validators: list = [DataRequired(required_msg)] if f.required else [Optional()]
    kwargs = {"label": f.label, "description": f.help}
    match f.type:
        case "textarea":
            return TextAreaField(filters=[strip], validators=[*validators, Length(max=2000)], **kwargs)
        case "date":
            return DateField(validators=validators, format="%Y-%m-%d", **kwargs)
        case "select":
            labels = getattr(f, "option_labels", {})  # English labels; the value stays the option
            choices = [("", _l("请选择"))] + [(o, labels.get(o, o)) for o in f.options]
            return SelectField(choices=choices, validators=validators, validate_choice=True, **kwargs)
        case "id_number":
            return IdNumberField(validators=[*validators, id_number_format], **kwargs)
        case "mobile":
            return MobileField(validators=[*validators, mobile_format], **kwargs)
        case "checkbox":
            return BooleanField(
                validators=[InputRequired(required_msg)] if f.required else [Optional()], **kwargs
            )
        case "address":
            return StringField(filters=[strip], validators=[*validators, Length(max=200)], **kwargs)
        case _:
            return StringField(filters=[strip], validators=[*validators, Length(max=200)], **kwargs)


#: One item field as a form field, public: the 一件事 form builds its sections from it too.
build_field = _build_field


class ApplicationFormBase(PortalForm):
    district = SelectField(
        _l("办理辖区（户籍地或居住地所在区）"),
        choices=DISTRICT_CHOICES,
        validators=[DataRequired(_l("请选择办理辖区"))],
    )
    contact_mobile = MobileField(
        _l("联系电话"),
        validators=[DataRequired(_l("请填写联系电话")), mobile_format],
        description=_l("已按您账号的手机号填好，可修改。"),
    )
    principal_name = StringField(
        _l("被代办人姓名"), filters=[strip], validators=[Optional(), Length(2, 20), chinese_name]
    )
    principal_id_number = IdNumberField(
        _l("被代办人居民身份证号码"), validators=[Optional(), id_number_format]
    )
    relationship_to_principal = SelectField(
        _l("与被代办人的关系"),
        choices=[("", _l("请选择"))] + [(r, r) for r in RELATIONSHIPS],
        validators=[Optional()],
    )
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
    pickup_unit = SelectField(_l("领取窗口"), choices=[], validators=[Optional()])

    is_proxy = False

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.is_proxy:
            for field, message in (
                (self.principal_name, _l("请填写被代办人姓名")),
                (self.principal_id_number, _l("请填写被代办人居民身份证号码")),
                (self.relationship_to_principal, _l("请选择与被代办人的关系")),
            ):
                if not field.data:
                    field.errors = [*field.errors, message]
                    ok = False
        if self.delivery_method.data == "mail":
            for field, message in (
                (self.recipient, _l("请填写收件人")),
                (self.recipient_mobile, _l("请填写收件人电话")),
                (self.mail_district, _l("请选择收件地址所在区")),
                (self.mail_address, _l("请填写详细地址")),
            ):
                if not field.data:
                    field.errors = [*field.errors, message]
                    ok = False
        if self.delivery_method.data == "counter" and self.pickup_unit.choices and not self.pickup_unit.data:
            self.pickup_unit.errors = [*self.pickup_unit.errors, _l("请选择领取窗口")]
            ok = False
        return ok


def build_application_form(
    fields: tuple[FieldView, ...], delivery: tuple[str, ...], pickup_units: list, is_proxy: bool, **kwargs
) -> ApplicationFormBase:
    """A form instance for one application: the standard part plus the item's fields."""

    class ApplicationForm(ApplicationFormBase):
        pass

    for f in fields:
        setattr(ApplicationForm, field_name(f.key), _build_field(f))
    form = ApplicationForm(**kwargs)
    form.is_proxy = is_proxy
    form.delivery_method.choices = [(d, DELIVERY_LABELS.get(d, d)) for d in delivery]
    form.pickup_unit.choices = (
        [("", _l("请选择"))] + [(u.code, u.name) for u in pickup_units] if pickup_units else []
    )
    return form


def stored_problems(
    fields: tuple[FieldView, ...], delivery: tuple[str, ...], is_proxy: bool, values: dict
) -> list[tuple[str, str, str]]:
    """Run the form's own validation again on values saved earlier (a draft saved with a mistake, a
    hand-made request): ``(field id, label, message)`` for every field that fails, in form order (the
    id is the field's anchor on the form page).

    ``values`` holds the form's field names (``district``, ``f_<key>`` …) and the stored values;
    dates may be ISO strings. The pickup window is not checked here (its choices depend on units).
    """
    formdata = MultiDict()
    for key, value in values.items():
        if value is None or value is False or value == "":
            continue
        formdata[key] = (
            "y" if value is True else (value.isoformat() if isinstance(value, date) else str(value))
        )
    form = build_application_form(fields, delivery, [], is_proxy, formdata=formdata, meta={"csrf": False})
    form.validate()
    out = []
    for field in form:
        if field.errors and field.name != "pickup_unit":
            out.append((field.id, str(field.label.text), str(field.errors[0])))
    return out
