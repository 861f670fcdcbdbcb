"""Forms of the document check on the clerk's workbench and of the preset-reason admin page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from core.forms import PortalForm, strip


class VerdictForm(PortalForm):
    """One document's check; built with ``prefix=f"v{document.id}"`` so every field id on the page is
    its own. The reason is the typed one, else the chosen preset."""

    verdict = RadioField(
        _l("核验结果"),
        choices=[("ok", _l("核验通过")), ("correct", _l("需补正"))],
        validators=[DataRequired(_l("请选择核验结果"))],
    )
    preset = SelectField(_l("常用原因"), choices=[], validate_choice=False, validators=[Optional()])
    reason = StringField(_l("其他原因"), filters=[strip], validators=[Optional(), Length(max=300)])

    def chosen_reason(self) -> str:
        return (self.reason.data or "").strip() or (self.preset.data or "").strip()


class CorrectionReasonForm(PortalForm):
    doc_type = StringField(
        _l("材料名称（留空则适用于所有材料）"), filters=[strip], validators=[Optional(), Length(max=100)]
    )
    reason = StringField(
        _l("需补正原因"), filters=[strip], validators=[DataRequired(_l("请填写原因")), Length(max=100)]
    )
    position = IntegerField(
        _l("顺序（小的在前）"),
        default=100,
        validators=[Optional(), NumberRange(1, 9999, _l("顺序应为1至9999"))],
    )
