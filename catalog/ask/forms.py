"""Forms of the admins' list of questions 智能咨询 could not answer."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from core.forms import PortalForm, strip


class ResolveForm(PortalForm):
    code = StringField(
        _l("加到事项（事项编码）"),
        filters=[strip],
        validators=[DataRequired(_l("请填写事项编码")), Length(max=40, message=_l("事项编码最多40个字符"))],
    )
    as_ = RadioField(
        _l("加为"),
        choices=[("alias", _l("别名（俗称）")), ("faq", _l("常见问题"))],
        default="alias",
        validators=[DataRequired(_l("请选择加为别名还是常见问题"))],
    )
    answer = TextAreaField(
        _l("常见问题的回答"),
        filters=[strip],
        validators=[Optional(), Length(max=500, message=_l("回答最多500个字"))],
    )


class DismissForm(PortalForm):
    pass
