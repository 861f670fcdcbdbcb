"""Domain errors shared by every package, and the Chinese error pages."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from core.crypto.ciphers import DecryptionError
from core.i18n import N_

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A rule refused the operation; ``str()`` is a message fit to show the user."""


class FieldError(DomainError):
    """A rule refused a value; ``field`` names the form field the message belongs next to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class NotFound(DomainError):
    """The object does not exist or the actor may not see it (answered as 404)."""


_TITLES = {
    400: N_("请求有误"),
    401: N_("请先登录"),
    403: N_("没有访问权限"),
    404: N_("页面不存在"),
    409: N_("文件无法打开"),
    405: N_("不支持的请求方式"),
    413: N_("上传的内容过大"),
    429: N_("操作过于频繁"),
    500: N_("系统繁忙"),
    503: N_("服务暂不可用"),
}


#: Errors that mean the database cannot serve right now (down, unreachable, locked, the pool exhausted),
#: not that the request or the code is wrong: answered 503 with Retry-After instead of 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)

#: Seconds a client is asked to wait before trying again after a 503.
RETRY_AFTER_SECONDS = 30


def database_unavailable(exc: BaseException | None) -> bool:
    """True for an error that says the database is unavailable (see :data:`DATABASE_UNAVAILABLE`),
    including any DBAPI error whose connection SQLAlchemy found dead."""
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _render(code: int, message: str | None = None):
    title = _(_TITLES.get(code, "出错了"))
    if _wants_json():
        from core.api import ERROR_CLASSES, ERROR_CODES, ErrorBody

        error = ERROR_CLASSES.get(code, "bad_request")
        machine = error if error in ERROR_CODES else "bad_request"
        body = ErrorBody(error=error, code=machine, message=message or title)
        return jsonify(body.model_dump(mode="json")), code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def init_errors(app: Flask) -> None:
    """Register handlers so every error answers with a Chinese page (or JSON under /api/)."""

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        from core.db import db

        db.session.rollback()
        return _render(404)

    @app.errorhandler(DecryptionError)
    def damaged_file(exc: DecryptionError):
        # a stored file (or value) that does not authenticate: refused, never shown as garbage; one
        # log line for the operator (restore the file from a backup), no traceback for the visitor
        log.error("refused to decrypt on %s %s: %s", request.method, request.path, exc)
        from core.db import db

        db.session.rollback()
        return _render(
            409,
            _("该文件未通过完整性校验（可能已损坏或被篡改），系统已拒绝打开。请联系系统管理员从备份中恢复。"),
        )

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return _render(400, _("页面已过期或表单校验失败，请刷新页面后重新提交。"))

    @app.errorhandler(DBAPIError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeout)
    def database_error(exc: Exception):
        if not database_unavailable(exc):  # an integrity or programming error is a bug: 500
            return unhandled(exc)
        return _database_unavailable_page(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        original = getattr(exc, "original_exception", None)
        if database_unavailable(original):  # raised outside the view (an after-request hook)
            return _database_unavailable_page(original)
        code = exc.code or 500
        message = None
        if code == 429:
            message = _("您的操作过于频繁，请稍后再试。")
        elif code == 413:
            message = _("上传的内容超过了允许的大小。")
        return _render(code, message)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        from core.db import db

        db.session.rollback()
        _forget_unloadable_user()
        return _render(500, _("系统出现了问题，您填写的内容未被保存。请稍后再试或拨打咨询电话。"))


def _database_unavailable_page(exc: BaseException):
    """503 with Retry-After: the session rolled back, one log line (with the request id, added by
    :class:`core.logging.RequestIdFilter`), a Chinese page saying nothing was saved."""
    from core.db import db

    try:
        db.session.rollback()
    except Exception:
        log.debug("rollback after a database error failed too", exc_info=True)
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200] if str(exc) else ""
    log.error(
        "database unavailable on %s %s: %s: %s", request.method, request.path, type(exc).__name__, detail
    )
    from flask_login import AnonymousUserMixin

    from core.extensions import login_manager

    if not isinstance(g.get("_login_user"), AnonymousUserMixin):
        # drawn as to a visitor: the header must not ask the database for the user's menu again
        g._login_user = login_manager.anonymous_user()
    response, code = _render(
        503, _("系统暂时繁忙或正在维护，您刚才的操作没有完成，填写的内容也未被保存。请稍等片刻后再试。")
    )
    response = current_app.make_response((response, code))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _forget_unloadable_user() -> None:
    """When the user cannot be loaded (the database is down), answer as to a visitor: otherwise the
    error page's header, asking for ``current_user`` again, fails too and no Chinese page is shown."""
    from flask_login import current_user

    from core.extensions import login_manager

    try:
        current_user.is_authenticated  # noqa: B018 - loads the user
    except Exception:  # noqa: BLE001 - whatever broke loading, the error page must still render
        g._login_user = login_manager.anonymous_user()
