"""The account-deletion confirmation: the password proves it is the holder at the keyboard."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField
from wtforms.validators import InputRequired, Length

from core.forms import PortalForm


class DeleteAccountForm(PortalForm):
    password = PasswordField(
        _l("登录密码"),
        validators=[InputRequired(message=_l("请输入登录密码以确认注销")), Length(max=128)],
    )
