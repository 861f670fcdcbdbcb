"""The period picker and grouping of the statistics pages, exports and API (a GET form, no CSRF)."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import SelectField
from wtforms.validators import InputRequired, ValidationError

from core.forms import LocalDateField, PortalForm

#: The longest period one query may cover.
MAX_YEARS = 3
DEFAULT_DAYS = 90

BY_LABELS = {
    "month": _l("按月份"),
    "item": _l("按事项"),
    "unit": _l("按单位"),
    "category": _l("按类别"),
}


def too_long(start: date, end: date) -> bool:
    """True when ``start`` … ``end`` is longer than :data:`MAX_YEARS` years."""
    try:
        limit = start.replace(year=start.year + MAX_YEARS)
    except ValueError:  # 29 February
        limit = start.replace(year=start.year + MAX_YEARS, day=28) + timedelta(days=1)
    return end >= limit


class StatsFilterForm(PortalForm):
    """``from``, ``to`` (local dates, both included) and ``by``; Chinese messages at the field."""

    class Meta:
        csrf = False

    date_from = LocalDateField(_l("开始日期"), name="from", validators=[InputRequired(_l("请填写开始日期"))])
    date_to = LocalDateField(
        _l("结束日期"),
        name="to",
        validators=[InputRequired(_l("请填写结束日期"))],
        description=_l("含当天（北京时间），最长 3 年"),
    )
    by = SelectField(
        _l("分组方式"),
        choices=list(BY_LABELS.items()),
        validate_choice=False,
    )

    def __init__(self, *args, by_choices: tuple[str, ...] = tuple(BY_LABELS), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.by.choices = [(k, BY_LABELS[k]) for k in by_choices if k in BY_LABELS]
        self._allowed_by = by_choices

    def validate_by(self, field: SelectField) -> None:
        if field.data not in self._allowed_by:
            raise ValidationError(_("分组方式只能是：按月份、按事项、按单位或按类别"))

    def validate_date_to(self, field: LocalDateField) -> None:
        start, end = self.date_from.data, field.data
        if start and end and end < start:
            raise ValidationError(_("结束日期不能早于开始日期"))
        if start and end and too_long(start, end):
            raise ValidationError(_("统计时段最长 %(n)s 年，请缩短日期范围", n=MAX_YEARS))


def with_defaults(args: MultiDict, today: date, by: str = "month") -> MultiDict:
    """The request's arguments with the default period (the last 90 days) and grouping filled in
    where absent, so a bare ``/stats`` shows something sensible and the form shows what it used."""
    merged = MultiDict(args)
    defaults = {
        "from": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "to": today.isoformat(),
        "by": by,
    }
    for name, value in defaults.items():
        if name not in merged:
            merged[name] = value
    return merged


def first_error(form: StatsFilterForm) -> str:
    """The first field error, prefixed with the field's label (for the JSON API's 400)."""
    for f in form:
        if f.errors:
            return f"{f.label.text}：{f.errors[0]}"
    return _("参数有误")
