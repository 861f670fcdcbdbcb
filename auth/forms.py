"""Account forms: field types, lengths and formats (no database look-ups, no password checks)."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, StopValidation, ValidationError

from auth.identity import (
    IdNumberError,
    is_valid_english_name,
    is_valid_mobile,
    nationality_choices,
    normalise_english_name,
    normalise_id_number,
    normalise_mobile,
    normalise_passport_number,
    password_problems,
    validate_id_number,
    validate_nationality,
    validate_passport_number,
)
from auth.models import ID_TYPES, PASSPORT, RESIDENT_ID
from core.forms import PortalForm, strip


class MobileField(StringField):
    """An 11-digit mainland mobile number; spaces, dashes and +86 are dropped."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data:
            self.data = normalise_mobile(self.data)


class IdNumberField(StringField):
    """A 居民身份证号码, upper-cased and without spaces."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data:
            self.data = normalise_id_number(self.data)


class PassportNumberField(StringField):
    """A passport number, upper-cased and without spaces or dashes."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data:
            self.data = normalise_passport_number(self.data)


def for_id_type(id_type: str, missing=None):
    """The field belongs to one document type (the form's ``id_type``): required then (``missing`` is
    the message; None: optional), skipped — errors and later validators — for the other type."""

    def check(form, field) -> None:
        if (form.id_type.data or RESIDENT_ID) != id_type:
            field.errors[:] = []
            raise StopValidation()
        if not field.data:
            field.errors[:] = []
            if missing is None:
                raise StopValidation()
            raise StopValidation(str(missing))

    return check


def passport_number_format(form, field) -> None:
    try:
        validate_passport_number(field.data or "")
    except IdNumberError as exc:
        raise ValidationError(_(str(exc))) from exc


def nationality_known(form, field) -> None:
    try:
        field.data = validate_nationality(field.data or "")
    except IdNumberError as exc:
        raise ValidationError(_(str(exc))) from exc


def english_name_format(form, field) -> None:
    if not is_valid_english_name(field.data or ""):
        raise ValidationError(_("英文姓名请按护照填写，只能包含英文字母、空格、连字符、撇号和点"))
    field.data = normalise_english_name(field.data)


def mobile_format(form, field) -> None:
    if field.data and not is_valid_mobile(field.data):
        raise ValidationError(_("请输入11位中国大陆手机号码，例如 13812345678"))


def id_number_format(form, field) -> None:
    if not field.data:
        return
    try:
        validate_id_number(field.data)
    except IdNumberError as exc:
        raise ValidationError(_(str(exc))) from exc


def chinese_name(form, field) -> None:
    value = field.data or ""
    if not all("\u4e00" <= c <= "\u9fff" or c in "·•" for c in value):
        raise ValidationError(_("姓名请填写与身份证一致的中文姓名"))


def sms_code_field():
    return StringField(
        _l("短信验证码"),
        filters=[strip],
        validators=[DataRequired(_l("请输入短信验证码")), Regexp(r"^\d{6}$", message=_l("验证码为6位数字"))],
        description=_l("点击“获取验证码”，验证码将发送到上面的手机号码，5分钟内有效"),
    )


def new_password_fields(label, missing, confirm_label):
    """A new password and its confirmation (the same rules wherever a password is chosen)."""
    return (
        PasswordField(
            label,
            validators=[DataRequired(missing), Length(max=128, message=_l("密码不能超过128个字符"))],
            description=_l("至少8位，混合使用字母、数字或符号，不能包含身份证号或手机号"),
        ),
        PasswordField(
            confirm_label,
            validators=[DataRequired(_l("请再次输入密码")), EqualTo("password", _l("两次输入的密码不一致"))],
        ),
    )


class RegisterForm(PortalForm):
    """居民身份证 or, for a foreigner, 护照: the server decides from ``id_type`` which fields are
    required (the page works without JavaScript)."""

    id_type = RadioField(
        _l("证件类型"),
        choices=[(RESIDENT_ID, _l("居民身份证")), (PASSPORT, _l("护照（外国人）"))],
        default=RESIDENT_ID,
        validate_choice=False,
    )
    real_name = StringField(
        _l("真实姓名"),
        filters=[strip],
        description=_l("持护照注册的，如有中文姓名请填写，没有可不填"),
        validators=[
            for_id_type(RESIDENT_ID, _l("请输入真实姓名")),
            Length(2, 20, _l("姓名应为2至20个字")),
            chinese_name,
        ],
    )
    id_number = IdNumberField(
        _l("居民身份证号码"),
        validators=[for_id_type(RESIDENT_ID, _l("请输入居民身份证号码")), id_number_format],
    )
    english_name = StringField(
        _l("英文姓名（与护照一致）"),
        filters=[strip],
        description=_l("按护照资料页填写，例如 SMITH JOHN"),
        validators=[for_id_type(PASSPORT, _l("请输入与护照一致的英文姓名")), english_name_format],
    )
    nationality = SelectField(
        _l("国籍"),
        choices=[],
        validate_choice=False,
        validators=[for_id_type(PASSPORT, _l("请选择国籍")), nationality_known],
    )
    passport_number = PassportNumberField(
        _l("护照号码"),
        validators=[for_id_type(PASSPORT, _l("请输入护照号码")), passport_number_format],
    )
    mobile = MobileField(_l("手机号码"), validators=[DataRequired(_l("请输入手机号码")), mobile_format])
    sms_code = sms_code_field()
    password, password_confirm = new_password_fields(_l("设置密码"), _l("请设置密码"), _l("确认密码"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        locale = str(get_locale() or "zh_CN")
        self.nationality.choices = [("", _("请选择国籍")), *nationality_choices(locale)]

    def validate_id_type(self, field) -> None:
        if field.data not in ID_TYPES:
            field.data = RESIDENT_ID
            raise ValidationError(_("请选择证件类型"))

    @property
    def is_passport(self) -> bool:
        return self.id_type.data == PASSPORT

    @property
    def document_number(self) -> str:
        """The number of the document chosen: the ID number or the passport number."""
        return (self.passport_number.data if self.is_passport else self.id_number.data) or ""

    def validate_password(self, field) -> None:
        problems = password_problems(
            field.data or "", id_number=self.document_number, mobile=self.mobile.data or ""
        )
        if problems:
            raise ValidationError("；".join(_(p) for p in problems))


class LoginForm(PortalForm):
    identifier = StringField(
        _l("手机号码 / 身份证号码 / 护照号码 / 工作账号"),
        filters=[strip],
        validators=[DataRequired(_l("请输入手机号码、身份证号码或工作账号")), Length(max=64)],
    )
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码")), Length(max=128)])


class ChangePasswordForm(PortalForm):
    current_password = PasswordField(
        _l("当前密码"), validators=[DataRequired(_l("请输入当前密码")), Length(max=128)]
    )
    new_password = PasswordField(
        _l("新密码"),
        validators=[DataRequired(_l("请输入新密码")), Length(max=128)],
        description=_l("至少8位，混合使用字母、数字或符号，不能包含身份证号或手机号"),
    )
    new_password_confirm = PasswordField(
        _l("确认新密码"),
        validators=[
            DataRequired(_l("请再次输入新密码")),
            EqualTo("new_password", _l("两次输入的密码不一致")),
        ],
    )


class ChangeMobileForm(PortalForm):
    mobile = MobileField(_l("新手机号码"), validators=[DataRequired(_l("请输入新手机号码")), mobile_format])
    sms_code = sms_code_field()
    password = PasswordField(
        _l("登录密码"), validators=[DataRequired(_l("请输入登录密码以确认")), Length(max=128)]
    )


class ResetPasswordForm(PortalForm):
    """忘记密码: the account's mobile number, the code sent to it, and the new password twice."""

    mobile = MobileField(
        _l("注册时使用的手机号码"), validators=[DataRequired(_l("请输入手机号码")), mobile_format]
    )
    sms_code = sms_code_field()
    password, password_confirm = new_password_fields(_l("新密码"), _l("请设置新密码"), _l("确认新密码"))


class LogoutForm(PortalForm):
    """Logout is a POST with a CSRF token (a GET link could log people out from another site)."""


class StaffForm(PortalForm):
    username = StringField(_l("工作账号"), filters=[strip], validators=[DataRequired(), Length(3, 50)])
    real_name = StringField(_l("姓名"), filters=[strip], validators=[DataRequired(), Length(2, 20)])
    role = SelectField(_l("角色"), choices=[])
    units = SelectMultipleField(_l("所属单位"), choices=[])
