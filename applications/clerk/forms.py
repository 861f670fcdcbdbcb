"""Forms of the clerk's pages (formats only; rules live in applications/clerk/operations.py)."""

from __future__ import annotations

from functools import lru_cache

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import Select

from applications.clerk.operations import VISIT_PURPOSES
from auth.forms import IdNumberField, MobileField, chinese_name, id_number_format, mobile_format
from catalog.districts import district_choices
from core.forms import LocalDateField, PortalForm, html_params, strip


class VersionedForm(PortalForm):
    """Every decision carries the row version the clerk saw (a stale one gets a clear message)."""

    version = HiddenField()


class ReasonForm(VersionedForm):
    reason = StringField(
        _l("理由"), filters=[strip], validators=[DataRequired(_l("请填写理由")), Length(max=500)]
    )


class NotAcceptForm(VersionedForm):
    reason = StringField(
        _l("不予受理理由"),
        filters=[strip],
        validators=[DataRequired(_l("请填写不予受理的理由")), Length(max=500)],
    )
    legal_basis = StringField(
        _l("法律依据"),
        filters=[strip],
        validators=[DataRequired(_l("请填写不予受理的法律依据")), Length(max=300)],
    )


class ApproveForm(VersionedForm):
    #: Approval is final: it must say which state of the case the clerk saw (a stale page is refused).
    version = HiddenField(
        validators=[
            DataRequired(_l("页面已过期，请刷新后再办结")),
            Regexp(r"^\d{1,18}$", message=_l("页面已过期，请刷新后再办结")),
        ]
    )
    delivery = RadioField(_l("结果送达方式"), choices=[], validators=[DataRequired(_l("请选择送达方式"))])
    carrier = StringField(_l("快递公司"), filters=[strip], validators=[Optional(), Length(max=40)])
    tracking = StringField(_l("运单号"), filters=[strip], validators=[Optional(), Length(max=40)])


class TransferForm(VersionedForm):
    to_unit = SelectField(_l("转至单位"), choices=[], validators=[DataRequired(_l("请选择单位"))])
    reason = StringField(
        _l("转办理由"), filters=[strip], validators=[DataRequired(_l("请填写转办理由")), Length(max=300)]
    )


class VisitForm(PortalForm):
    at = DateTimeLocalField(_l("到场时间"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    place = StringField(
        _l("地点"), filters=[strip], validators=[DataRequired(_l("请填写地点")), Length(max=100)]
    )
    purpose = SelectField(_l("事由"), choices=[(p, p) for p in VISIT_PURPOSES])
    note = StringField(_l("备注"), filters=[strip], validators=[Optional(), Length(max=200)])


class ReassignForm(VersionedForm):
    to_user = SelectField(_l("改派给"), choices=[], validators=[DataRequired(_l("请选择工作人员"))])


@lru_cache(maxsize=16)
def _option_tags(choices: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((v, f'<option value="{escape(v)}">{escape(label)}</option>') for v, label in choices)


class CachedOptionsSelect(Select):
    """A ``<select>`` whose ``<option>`` tags are built once per worker for each distinct list and
    locale, the selected one marked per request: the queue filter renders ~200 items on every queue
    page view. The same markup WTForms' ``Select`` writes, without its per-option work."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        for value, tag in _option_tags(tuple((str(v), str(label)) for v, label in field.choices)):
            html.append(tag.replace("<option ", "<option selected ", 1) if value == field.data else tag)
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704 - values and labels escaped, attributes by html_params


class CachedSelectField(SelectField):
    """A plain (value, label) select with :class:`CachedOptionsSelect` and a set look-up for the choice
    check (SelectField builds a Choice object per option to validate)."""

    widget = CachedOptionsSelect()

    def pre_validate(self, form):
        # an empty value is for the validators (Optional, DataRequired) to judge, as with SelectField
        if self.data and self.data not in {str(v) for v, _label in self.choices}:
            raise ValidationError(_("请从列表中选择"))


class QueueFilterForm(PortalForm):
    class Meta:
        csrf = False

    item = CachedSelectField(_l("事项"), choices=[], validators=[Optional()])
    channel = CachedSelectField(
        _l("渠道"),
        choices=[("", _l("全部")), ("online", _l("网上")), ("counter", _l("窗口"))],
        validators=[Optional()],
    )
    date_from = LocalDateField(_l("提交日期自"), validators=[Optional()])
    date_to = LocalDateField(_l("至"), validators=[Optional()])
    ref = StringField(_l("办件编号"), filters=[strip], validators=[Optional(), Length(max=20)])
    #: found through the blind indexes (the numbers are stored encrypted): the applicant's or, for a
    #: proxy case, the principal's number
    person = IdNumberField(_l("身份证号码"), validators=[Optional(), id_number_format])


#: The filter form's field names, as they appear in a queue page's query (read from the class, so a
#: new filter is counted too).
QUEUE_FILTERS = tuple(name for name, value in vars(QueueFilterForm).items() if hasattr(value, "_formfield"))


class WalkInItemForm(PortalForm):
    """窗口登记, first step: the item (a GET form: nothing is written yet)."""

    class Meta:
        csrf = False

    item = SelectField(_l("办理事项"), choices=[], validators=[DataRequired(_l("请选择事项"))])


class WalkInForm(PortalForm):
    """窗口登记: who stands at the counter and the visit. The item's own application form (the one the
    citizen fills on line) and the scans come beside it, built from the item's version."""

    item = HiddenField()
    real_name = StringField(
        _l("申请人姓名"),
        filters=[strip],
        validators=[DataRequired(_l("请填写申请人姓名")), Length(2, 20), chinese_name],
    )
    id_number = IdNumberField(
        _l("申请人居民身份证号码"), validators=[DataRequired(_l("请填写身份证号码")), id_number_format]
    )
    mobile = MobileField(
        _l("申请人手机号码"),
        validators=[DataRequired(_l("请填写手机号码")), mobile_format],
        description=_l("新账号的登录手机号；账号开通短信发往此号码"),
    )
    identity_checked = BooleanField(
        _l("已当面核验申请人的居民身份证原件，人证一致"),
        validators=[InputRequired(_l("请先当面核验申请人的身份证件原件"))],
        description=_l("核验后申请人的网上账号将提升为实名认证（L2），并记入审计"),
    )
    purpose = SelectField(_l("本次到场事由"), choices=[(p, p) for p in VISIT_PURPOSES], default="窗口受理")
    visit_note = StringField(_l("到场备注"), filters=[strip], validators=[Optional(), Length(max=200)])
    token = HiddenField()


class RoutingRuleForm(PortalForm):
    position = IntegerField(
        _l("顺序（小的优先）"),
        default=100,
        validators=[DataRequired(_l("请填写顺序")), NumberRange(1, 9999, _l("顺序应为1至9999"))],
    )
    item = SelectField(_l("事项（不选则按类别）"), choices=[], validators=[Optional()])
    category = SelectField(_l("类别（不选则全部）"), choices=[], validators=[Optional()])
    district = SelectField(
        _l("申请人辖区（不选则全市）"), choices=district_choices(), validators=[Optional()]
    )
    unit = SelectField(_l("受理单位"), choices=[], validators=[DataRequired(_l("请选择受理单位"))])
    approving_unit = SelectField(_l("审批单位（与受理单位不同时选择）"), choices=[], validators=[Optional()])
    note = StringField(_l("说明"), filters=[strip], validators=[Optional(), Length(max=200)])


class SimpleForm(PortalForm):
    """Buttons that only need the CSRF token."""


class SignoffForm(PortalForm):
    """The unit lead's answer to a second-correction request."""

    decision = RadioField(
        _l("审批意见"),
        choices=[("approve", _l("同意再次补正")), ("reject", _l("不同意"))],
        validators=[DataRequired(_l("请选择同意或不同意"))],
    )
    note = StringField(
        _l("意见说明"),
        filters=[strip],
        validators=[Optional(), Length(max=300)],
        description=_l("不同意时必填，将告知申请的窗口人员"),
    )
