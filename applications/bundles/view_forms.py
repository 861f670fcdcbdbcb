"""Forms of the citizen's bundle pages (formats only; the rules live in applications/bundles/citizen.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length

from applications.bundles.citizen import COMMENT_MAX
from applications.ratings.operations import LEVEL_LABELS
from core.forms import PortalForm, strip


class BundleRatingForm(PortalForm):
    level = RadioField(
        _l("满意程度"),
        choices=[(str(level), _l(label)) for level, label in LEVEL_LABELS.items()],
        validators=[InputRequired(_l("请选择满意程度"))],
    )
    comment = TextAreaField(
        _l("意见建议（选填）"),
        filters=[strip],
        validators=[Length(max=COMMENT_MAX, message=_l("意见建议最多%(max)d字", max=COMMENT_MAX))],
    )
