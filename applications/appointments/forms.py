"""Forms of the 预约 pages (formats only; the rules live in applications/appointments/operations.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, SelectField, SelectMultipleField, StringField, TimeField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from applications.appointments.operations import WEEKDAYS
from core.forms import LocalDateField, PortalForm, strip


def _slot_id(value):
    """A slot id, or None for anything that is not a number (the operation then asks to choose)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _group_id(value):
    """A group id, or None for "no group" (the empty choice) or anything that is not a number."""
    try:
        return int(value) or None
    except (TypeError, ValueError):
        return None


def group_field(label):
    """The item group a line is for (choices — the empty one first, "本单位其他事项" — set by the view)."""
    return SelectField(
        label,
        coerce=_group_id,
        validate_choice=False,
        choices=[],
        description=_l("不选分组：适用于本单位未分组的事项"),
    )


class ClockTimeField(TimeField):
    """A time of day as ``HH:MM``, with a Chinese message when it is not one."""

    def process_formdata(self, valuelist: list[str]) -> None:
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            self.data = None
            return
        try:
            super().process_formdata([text])
        except ValueError:
            self.data = None
            raise ValueError(_l("请按 时:分 填写时间，例如 09:00")) from None


class SlotForm(PortalForm):
    """Book or move: one slot among the free ones of the chosen day (choices set by the view)."""

    slot = RadioField(
        _l("预约时段"),
        coerce=_slot_id,
        validate_choice=False,
        validators=[InputRequired(_l("请选择预约时段"))],
    )


class ConfirmForm(PortalForm):
    """A button only (cancel, mark no-shows): the CSRF token."""


class CheckInForm(PortalForm):
    code = StringField(
        _l("预约码"),
        filters=[strip],
        validators=[InputRequired(_l("请输入预约码")), Length(max=12, message=_l("预约码为8位字母和数字"))],
    )


class GroupForm(PortalForm):
    """An item group of a hall: its name and its items (choices: the items the unit serves)."""

    name = StringField(
        _l("分组名称"),
        filters=[strip],
        validators=[InputRequired(_l("请填写分组名称")), Length(max=40, message=_l("分组名称最多40字"))],
    )
    items = SelectMultipleField(_l("包含的事项"), choices=[], validate_choice=False)


class HoursForm(PortalForm):
    group = group_field(_l("事项分组"))
    weekday = SelectField(
        _l("星期"),
        coerce=int,
        choices=[(i, _l(name)) for i, name in enumerate(WEEKDAYS)],
        validators=[InputRequired(_l("请选择星期"))],
    )
    start = ClockTimeField(_l("开始时间"), validators=[InputRequired(_l("请填写开始时间，例如 09:00"))])
    end = ClockTimeField(_l("结束时间"), validators=[InputRequired(_l("请填写结束时间，例如 12:00"))])
    slot_minutes = IntegerField(
        _l("每个时段（分钟）"),
        default=30,
        validators=[InputRequired(_l("请填写时段长度")), NumberRange(5, 240, _l("每个时段5至240分钟"))],
    )
    windows = IntegerField(
        _l("每个时段可约人数（窗口数）"),
        default=3,
        validators=[InputRequired(_l("请填写窗口数")), NumberRange(1, 100, _l("窗口数为1至100"))],
    )


class ExceptionForm(PortalForm):
    day = LocalDateField(_l("日期"), validators=[InputRequired(_l("请填写日期，例如 2027-01-04"))])
    kind = RadioField(
        _l("类型"),
        choices=[("closed", _l("当天不开放")), ("extra", _l("增开时间"))],
        default="closed",
        validators=[InputRequired(_l("请选择类型"))],
    )
    start = ClockTimeField(_l("开始时间（增开时填写）"), validators=[Optional()])
    end = ClockTimeField(_l("结束时间（增开时填写）"), validators=[Optional()])
    slot_minutes = IntegerField(
        _l("每个时段（分钟）"), validators=[Optional(), NumberRange(5, 240, _l("每个时段5至240分钟"))]
    )
    windows = IntegerField(_l("窗口数"), validators=[Optional(), NumberRange(1, 100, _l("窗口数为1至100"))])
    group = group_field(_l("事项分组（增开时选择）"))
    note = StringField(_l("说明"), filters=[strip], validators=[Length(max=100, message=_l("说明最多100字"))])
