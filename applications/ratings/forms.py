"""Forms of the 好差评 pages (formats only; the rules live in applications/ratings/operations.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from applications.ratings.operations import COMMENT_MAX, LEVEL_LABELS, REASONS
from core.forms import PortalForm, strip


class RatingForm(PortalForm):
    level = RadioField(
        _l("满意程度"),
        choices=[(str(level), _l(label)) for level, label in LEVEL_LABELS.items()],
        validators=[InputRequired(_l("请选择满意程度"))],
    )
    reasons = SelectMultipleField(
        _l("不满意的原因（可多选）"),
        choices=[(r, _l(r)) for r in REASONS],
        validate_choice=False,
    )
    comment = TextAreaField(
        _l("意见建议（选填）"),
        filters=[strip],
        validators=[Length(max=COMMENT_MAX, message=_l("意见建议最多%(max)d字", max=COMMENT_MAX))],
    )

    def validate_reasons(self, field) -> None:
        if any(value not in REASONS for value in field.data or []):
            raise ValidationError(_l("请从列表中选择原因"))


class FollowUpCloseForm(PortalForm):
    outcome = TextAreaField(
        _l("核实整改情况"),
        filters=[strip],
        validators=[
            DataRequired(_l("请填写核实整改情况")),
            Length(max=2000, message=_l("核实整改情况最多2000字")),
        ],
    )
