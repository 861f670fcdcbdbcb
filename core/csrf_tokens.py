"""Flask-WTF's CSRF token, minted at most once a minute per session in a worker.

Every page with a form (and every logged-in page: the header's 退出 button is a form) asks for the
CSRF token. Flask-WTF keeps it for one request only, so each page built a new ``URLSafeTimedSerializer``
and signed the session's raw token again — about 6 % of a logged-in item page.

The token is still Flask-WTF's own: minted by ``flask_wtf.csrf.generate_csrf`` and checked by it on
every POST. This module only remembers, per (signing key, the session's raw token), the last token
minted in this worker, and hands it to Flask-WTF (``g.<field name>``, where it looks first) for up to
``REUSE_SECONDS``. A signed token of the same raw token is exactly as valid as a fresh one: the
portal sets no time limit (``WTF_CSRF_TIME_LIMIT = None``, the token lives as long as the session), and
with a limit the reuse only shortens its life by at most ``REUSE_SECONDS``. A session with a new raw
token (logging out empties the session) gets a new token at once.
"""

from __future__ import annotations

from flask import Config, Flask, current_app, g, session
from flask_wtf.csrf import validate_csrf
from werkzeug.wrappers import Response
from wtforms.validators import ValidationError

from core.memo import TimedMemory

REUSE_SECONDS = 60.0


def _settings() -> tuple[str, str]:
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    secret = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    return field, str(secret)


def _reuse_seconds(config: Config) -> float:
    reuse = REUSE_SECONDS
    limit = config.get("WTF_CSRF_TIME_LIMIT")
    if limit:  # a token must keep most of its life: reuse at most a tenth of it
        reuse = min(reuse, limit / 10)
    return reuse


def _minted() -> TimedMemory[str]:
    """(signing key, raw session token) → the token last signed of it in this worker."""
    return current_app.extensions["csrf_tokens"]


def offer_kept_token() -> None:
    """``before_request``: if this worker signed this session's raw token less than ``REUSE_SECONDS``
    ago, put that token where Flask-WTF looks first (it then signs nothing)."""
    field, secret = _settings()
    raw = session.get(field)
    if not isinstance(raw, str):
        return
    token = _minted().get((secret, raw))
    if token is not None:
        setattr(g, field, token)
        g._csrf_token_kept = True


def keep_minted_token(response: Response) -> Response:
    """``after_request``: remember a token Flask-WTF signed during this request — once Flask-WTF's own
    check says it belongs to the session as it leaves the request (a view may have emptied the session
    or given it a new raw token after the page asked for one)."""
    field, secret = _settings()
    token = g.get(field)
    if token is None or g.get("_csrf_token_kept"):
        return response
    raw = session.get(field)
    if not isinstance(raw, str):
        return response
    try:
        validate_csrf(token)
    except ValidationError:
        return response
    _minted().put((secret, raw), token)
    return response


def init_app(app: Flask) -> None:
    """Give ``app`` its memory of minted tokens, each reused for ``REUSE_SECONDS`` or a tenth of
    ``WTF_CSRF_TIME_LIMIT`` if that is less (read once here: the limit is fixed with the configuration)."""
    app.extensions["csrf_tokens"] = TimedMemory(_reuse_seconds(app.config))
    app.before_request(offer_kept_token)
    app.after_request(keep_minted_token)
