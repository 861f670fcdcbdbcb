"""Configuration read from the environment.

Nothing here opens a database connection; the SQLite default lives under ``instance/``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from core.i18n import N_

BASE_DIR = Path(__file__).resolve().parent.parent


def instance_dir() -> Path:
    """The writable instance folder (``INSTANCE_DIR`` or ``./instance``), created on demand readable
    by its owner only (it holds the SQLite database, the secret key, uploads and the SMS log)."""
    path = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))
    if not path.exists():
        old = os.umask(0o077)
        try:
            path.mkdir(parents=True, mode=0o700, exist_ok=True)
        finally:
            os.umask(old)
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


def _owner_only_file(path: Path) -> None:
    """Create an empty ``path`` readable by its owner only (SQLite then gives its -wal and -shm files
    the same mode); an existing file is left as it is."""
    if path.exists() or str(path) == ":memory:" or not path.parent.exists():
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


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


def _int(name: str, default: int) -> int:
    value = (os.environ.get(name) or "").strip()
    if not value:
        return default
    number = int(value)
    if number < 0:
        raise ValueError(f"{name} must not be negative")
    return number


#: Debian's fonts-wqy-zenhei: TrueType outlines, which reportlab embeds (Noto CJK's CFF outlines it cannot)
_WQY = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def from_env() -> dict:
    """Build the configuration mapping from environment variables (see README)."""
    inst = instance_dir()
    database_url = normalise_database_url(os.environ.get("DATABASE_URL") or f"sqlite:///{inst / 'portal.db'}")
    if database_url.startswith("sqlite:///"):
        _owner_only_file(Path(database_url.removeprefix("sqlite:///")))
    redis_url = os.environ.get("REDIS_URL") or None
    secret_from_env = os.environ.get("SECRET_KEY")
    secret = secret_from_env or load_or_create_secret_key(inst)
    https = _bool("HTTPS", False)
    return {
        "SECRET_KEY": secret,
        # generated into the instance folder: fine for one machine, wrong for several (core.preflight)
        "SECRET_KEY_GENERATED": not secret_from_env,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        "REDIS_URL": redis_url,
        "UPLOAD_DIR": os.environ.get("UPLOAD_DIR") or str(inst / "uploads"),
        # personal data at rest (core.crypto): the master key from the environment (a KMS/HSM adapter)
        # or a file (default <instance>/keys/master.key, created 0600 at first start); the suite for
        # new keys: "aes" (AES-256-GCM, HMAC-SHA256) or "sm" (国密 SM4-GCM, HMAC-SM3)
        "MASTER_KEY": os.environ.get("MASTER_KEY") or None,
        "MASTER_KEY_FILE": os.environ.get("MASTER_KEY_FILE") or None,
        "CRYPTO_SUITE": os.environ.get("CRYPTO_SUITE", "aes"),
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
        # Redis down must not lock people out: count in memory meanwhile and log it (Flask-Limiter).
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        # the IETF draft's names (the API documents them; core.api turns Reset into seconds from now)
        "RATELIMIT_HEADER_LIMIT": "RateLimit-Limit",
        "RATELIMIT_HEADER_REMAINING": "RateLimit-Remaining",
        "RATELIMIT_HEADER_RESET": "RateLimit-Reset",
        "STAFF_IDLE_MINUTES": int(os.environ.get("STAFF_IDLE_MINUTES", "30")),
        # how long a worker may trust its last check of a session cookie (auth.sessioncache): a
        # session revoked through another worker is refused at most this late; capped at 5 s, 0 = off
        "SESSION_CHECK_SECONDS": min(max(float(os.environ.get("SESSION_CHECK_SECONDS", "3")), 0.0), 5.0),
        # 预约: no booking, cancel or move within this many minutes of a slot; bookable this many days ahead
        "APPOINTMENT_CUTOFF_MINUTES": int(os.environ.get("APPOINTMENT_CUTOFF_MINUTES", "60")),
        "APPOINTMENT_WINDOW_DAYS": int(os.environ.get("APPOINTMENT_WINDOW_DAYS", "14")),
        # 预约 no-shows: this many 未到 within this many days blocks new bookings for this many days
        # (a limit of 0 switches the rule off)
        "APPOINTMENT_NO_SHOW_LIMIT": _int("APPOINTMENT_NO_SHOW_LIMIT", 3),
        "APPOINTMENT_NO_SHOW_DAYS": _int("APPOINTMENT_NO_SHOW_DAYS", 90),
        "APPOINTMENT_BLOCK_DAYS": _int("APPOINTMENT_BLOCK_DAYS", 30),
        "LOCKOUT_THRESHOLD": 5,
        "LOCKOUT_MINUTES": 15,
        # Argon2id parameters; tests lower them (see tests/conftest.py).
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 65536,
        "ARGON2_PARALLELISM": 2,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "PAGE_MICROCACHE": _bool("PAGE_MICROCACHE", True),
        # Jinja's compiled templates, kept between worker starts (core.factory); "" compiles in memory only
        "TEMPLATE_CACHE_DIR": os.environ.get("TEMPLATE_CACHE_DIR", str(inst / "cache" / "templates")),
        "SMS_GATEWAY": os.environ.get("SMS_GATEWAY", "log"),
        "SMS_LOG_PATH": os.environ.get("SMS_LOG_PATH") or None,  # default: INSTANCE_DIR/sms.log
        # 一件事 hand-offs (core.outbox): "auto" posts to departments with an endpoint_url and records the
        # others in EXCHANGE_DIR (default INSTANCE_DIR/exchange); "http" posts only (production); "file"
        # records every message. A callback's X-Timestamp may be this many seconds off the clock.
        "EXCHANGE_GATEWAY": os.environ.get("EXCHANGE_GATEWAY", "auto"),
        "EXCHANGE_DIR": os.environ.get("EXCHANGE_DIR") or None,
        "EXCHANGE_TIMEOUT": float(os.environ.get("EXCHANGE_TIMEOUT", "15") or 15),
        "EXCHANGE_CALLBACK_WINDOW": _int("EXCHANGE_CALLBACK_WINDOW", 300),
        "PORTAL_NAME": os.environ.get("PORTAL_NAME", N_("临江市公安局网上办事大厅")),
        "CONSULT_PHONE": os.environ.get("CONSULT_PHONE", "0570-110"),
        # How many reverse proxies in front of gunicorn set X-Forwarded-For/-Proto (0: trust none, so
        # no client can choose its own address for the rate limits, the lockout and the audit trail).
        "TRUSTED_PROXY_HOPS": int(os.environ.get("TRUSTED_PROXY_HOPS", "0") or 0),
        # Requests larger than this are refused with 413 before anything reads them (uploads are 10 MB).
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(12 * 1024 * 1024))),
        "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
        # Retention (core/retention.py states the policy; the audit trail has no setting: never deleted).
        "RETENTION_DRAFT_DAYS": _int("RETENTION_DRAFT_DAYS", 90),
        # a setting, not a statute: set it to what the bureau's 执法档案 rules require
        "RETENTION_CLOSED_UPLOAD_YEARS": _int("RETENTION_CLOSED_UPLOAD_YEARS", 3),
        "RETENTION_REJECTED_FILE_DAYS": _int("RETENTION_REJECTED_FILE_DAYS", 0),
        "RETENTION_THROTTLE_HOURS": _int("RETENTION_THROTTLE_HOURS", 24),
        "RETENTION_CODE_HOURS": _int("RETENTION_CODE_HOURS", 24),
        # Reminders (applications/jobs/reminders.py): staff digest of applications due within N working
        # days; citizens' 补正 and 容缺 deadlines (days after the request / acceptance) and how many days
        # before a deadline the citizen is reminded.
        "REMINDER_DUE_WORKING_DAYS": _int("REMINDER_DUE_WORKING_DAYS", 2),
        "CORRECTION_ANSWER_DAYS": _int("CORRECTION_ANSWER_DAYS", 30),
        "REMINDER_DAYS_BEFORE": _int("REMINDER_DAYS_BEFORE", 3),
        # The daily statistics check repairs the roll-ups it finds wrong (after logging the ERROR).
        "STATS_CHECK_REPAIR": _bool("STATS_CHECK_REPAIR", True),
        # 电子证照 (applications/ecert): private signing keys live in ECERT_KEY_DIR (default
        # INSTANCE_DIR/ecert-keys); without any key the first issue creates the bureau key when
        # ECERT_KEY_AUTO_CREATE (one machine; several need `flask ecert keys create` and a shared folder)
        "ECERT_KEY_DIR": os.environ.get("ECERT_KEY_DIR") or None,
        "ECERT_KEY_AUTO_CREATE": _bool("ECERT_KEY_AUTO_CREATE", True),
        "ECERT_VALID_DAYS": _int("ECERT_VALID_DAYS", 365),
        # a one-time verification link the holder shares stops working after this many hours
        "ECERT_SHARE_HOURS": _int("ECERT_SHARE_HOURS", 24),
        # a TrueType-outline CJK font embedded in the PDF: Debian's fonts-wqy-zenhei when installed (.ci/run
        # installs it), else the built-in CID font STSong-Light (not embedded; every reader has one)
        "ECERT_FONT": os.environ.get("ECERT_FONT") or (_WQY if Path(_WQY).exists() else None),
    }
