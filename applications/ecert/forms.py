"""Forms of the 电子证照 pages (formats only)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from applications.ecert.payload import MAX_TEXT
from core.forms import PortalForm, strip


class VerifyForm(PortalForm):
    payload = TextAreaField(
        _l("二维码内容"),
        filters=[strip],
        validators=[
            DataRequired(_l("请粘贴或扫描电子证照二维码的内容（以 LJ1: 开头）")),
            Length(max=MAX_TEXT, message=_l("内容过长，不是电子证照二维码")),
        ],
        description=_l("扫描证照上的二维码，或把二维码内容（以 LJ1: 开头）粘贴在这里。"),
    )


class RevokeForm(PortalForm):
    reason = SelectField(
        _l("撤销原因"),
        choices=[
            ("", _l("请选择")),
            ("replaced", _l("已换发")),
            ("cancelled", _l("已注销")),
            ("error", _l("误发")),
        ],
        validators=[DataRequired(_l("请选择撤销原因"))],
    )
    note = StringField(_l("说明"), filters=[strip], validators=[Optional(), Length(max=300)])


class SourcesForm(PortalForm):
    doc_name = StringField(
        _l("材料名称"),
        filters=[strip],
        validators=[DataRequired(_l("请选择材料")), Length(max=100)],
        render_kw={"list": "doc-names", "autocomplete": "off"},
    )
    cert_types = SelectMultipleField(_l("可由以下电子证照替代"), choices=[], validate_choice=False)


class ShareForm(PortalForm):
    """The share and open-link buttons (CSRF only)."""
