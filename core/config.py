"""Configuration read from the environment.

Nothing here opens a database connection; the SQLite default lives under ``instance/``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def instance_dir() -> Path:
    """The writable instance folder (``INSTANCE_DIR`` or ``./instance``), created on demand."""
    path = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_or_create_secret_key(folder: Path) -> str:
    """Return the secret key stored in ``folder/secret_key``, creating it (mode 600) the first time.

    ``O_EXCL`` makes the creation race-free when several workers start at once.
    """
    path = folder / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        key = secrets.token_urlsafe(48)
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    return key


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and route them to psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(database_url: str) -> dict:
    """Engine options: pre-ping everywhere; on PostgreSQL, JIT off. The portal's statements are short
    and index-driven, but a LIMITed scan over a large range has a large *estimated* cost, and
    PostgreSQL then spent ~0.6 s compiling a query that ran in 10 ms (a drill-down at a million rows)."""
    options: dict = {"pool_pre_ping": True}
    if database_url.startswith("postgresql"):
        options["connect_args"] = {"options": "-c jit=off"}
    return options


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_env() -> dict:
    """Build the configuration mapping from environment variables (see README)."""
    inst = instance_dir()
    database_url = normalise_database_url(os.environ.get("DATABASE_URL") or f"sqlite:///{inst / 'portal.db'}")
    redis_url = os.environ.get("REDIS_URL") or None
    secret = os.environ.get("SECRET_KEY") or load_or_create_secret_key(inst)
    https = _bool("HTTPS", False)
    return {
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "REDIS_URL": redis_url,
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR") or str(inst / "uploads"),
        "INSTANCE_DIR": str(inst),
        "HTTPS": https,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "SESSION_COOKIE_NAME": "portal_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": https,
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "STAFF_IDLE_MINUTES": int(os.environ.get("STAFF_IDLE_MINUTES", "30")),
        "LOCKOUT_THRESHOLD": 5,
        "LOCKOUT_MINUTES": 15,
        # Argon2id parameters; tests lower them (see tests/conftest.py).
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 65536,
        "ARGON2_PARALLELISM": 2,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "PAGE_MICROCACHE": _bool("PAGE_MICROCACHE", True),
        "SMS_GATEWAY": os.environ.get("SMS_GATEWAY", "log"),
        "SMS_LOG_PATH": os.environ.get("SMS_LOG_PATH") or None,  # default: INSTANCE_DIR/sms.log
        "PORTAL_NAME": os.environ.get("PORTAL_NAME", "临江市公安局网上办事大厅"),
        "CONSULT_PHONE": os.environ.get("CONSULT_PHONE", "0570-110"),
    }
