"""Account use cases. Plain arguments in, models out, domain errors raised; ``flush()``, never commit."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from auth.identity import normalise_id_number, normalise_mobile, password_problems
from auth.models import STAFF_ROLES, LoginThrottle, Role, Unit, User
from auth.passwords import hash_password, needs_rehash, verify_password
from core import audit
from core.db import db, utcnow
from core.errors import DomainError, FieldError
from core.i18n import N_
from core.masking import mask_login_identifier

LOGIN_FAILED = N_("账号或密码不正确")
ACCOUNT_LOCKED = N_("登录失败次数过多，账号已锁定15分钟，请稍后再试")


class LoginFailed(DomainError):
    """Wrong identifier or password, or the account is locked; the message never says which."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


# Registration ---------------------------------------------------------------------------------


def register_citizen(*, real_name: str, id_number: str, mobile: str, password: str) -> User:
    """Create a citizen account. Raises :class:`FieldError` when the ID number or mobile is taken
    or the password breaks the rules. The caller has validated formats."""
    id_number = normalise_id_number(id_number)
    mobile = normalise_mobile(mobile)
    problems = password_problems(password, id_number=id_number, mobile=mobile)
    if problems:
        raise FieldError("password", problems[0])
    _ensure_free(id_number=id_number, mobile=mobile)
    user = User(
        role=Role.CITIZEN,
        real_name=real_name.strip(),
        id_number=id_number,
        mobile=mobile,
        password_hash=hash_password(password),
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        _ensure_free(id_number=id_number, mobile=mobile)
        raise FieldError("id_number", N_("该身份证号码已注册，请直接登录")) from exc
    audit.record("account.register", object_type="user", object_id=user.id, actor=user)
    return user


def _ensure_free(*, id_number: str, mobile: str, exclude_id: int | None = None) -> None:
    rows = db.session.execute(
        select(User.id, User.id_number, User.mobile).where(
            or_(User.id_number == id_number, User.mobile == mobile)
        )
    ).all()
    for row in rows:
        if row.id == exclude_id:
            continue
        if id_number and row.id_number == id_number:
            raise FieldError("id_number", N_("该身份证号码已注册，请直接登录"))
        if mobile and row.mobile == mobile:
            raise FieldError("mobile", N_("该手机号码已被其他账号使用"))


# Login and lockout ----------------------------------------------------------------------------


def find_account(identifier: str) -> User | None:
    """The account an identifier names: a mobile number, an ID number or a staff username."""
    ident = identifier.strip()
    mobile = normalise_mobile(ident)
    id_number = normalise_id_number(ident)
    return db.session.scalars(
        select(User).where(or_(User.mobile == mobile, User.id_number == id_number, User.username == ident))
    ).first()


def _throttle_key(user: User | None, identifier: str) -> str:
    if user is not None:
        return f"user:{user.id}"
    digest = hashlib.sha256(normalise_id_number(identifier).encode()).hexdigest()[:64]
    return f"ident:{digest}"


def _lock_state(key: str, now: datetime) -> LoginThrottle | None:
    row = db.session.get(LoginThrottle, key)
    if row is not None and row.locked_until is not None and row.locked_until > now:
        return row
    return None


def _count_failure(key: str, now: datetime) -> bool:
    """Add one failure atomically; return True when this failure locks the account."""
    cfg = current_app.config
    table = LoginThrottle.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(key=key, failures=1, locked_until=None, updated_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={"failures": table.c.failures + 1, "updated_at": now},
    ).returning(table.c.failures)
    failures = db.session.execute(stmt).scalar_one()
    if failures >= cfg["LOCKOUT_THRESHOLD"]:
        db.session.execute(
            table.update()
            .where(table.c.key == key)
            .values(failures=0, locked_until=now + timedelta(minutes=cfg["LOCKOUT_MINUTES"]))
        )
        return True
    return False


def authenticate(identifier: str, password: str) -> User:
    """Return the account for a correct identifier and password.

    Raises :class:`LoginFailed` with one message for unknown accounts and wrong passwords, and the
    lock message while locked. After ``LOCKOUT_THRESHOLD`` failures (5) the identifier is locked
    for ``LOCKOUT_MINUTES`` (15); the counter lives in the database so every worker sees it.
    Every outcome is audited; the caller commits even on failure so the count is kept.
    """
    now = utcnow()
    user = find_account(identifier)
    key = _throttle_key(user, identifier)
    shown = mask_login_identifier(identifier)
    if _lock_state(key, now) is not None:
        audit.record(
            "login.refused_locked",
            object_type="user",
            object_id=user.id if user else None,
            details={"identifier": shown},
        )
        raise LoginFailed(ACCOUNT_LOCKED, locked=True)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        locked = _count_failure(key, now)
        reason = "disabled" if ok and user else "bad_credentials"
        audit.record(
            "login.failure",
            object_type="user",
            object_id=user.id if user else None,
            details={"identifier": shown, "reason": reason},
        )
        if locked:
            audit.record(
                "login.lockout",
                object_type="user",
                object_id=user.id if user else None,
                details={"identifier": shown, "minutes": current_app.config["LOCKOUT_MINUTES"]},
            )
            raise LoginFailed(ACCOUNT_LOCKED, locked=True)
        raise LoginFailed(LOGIN_FAILED)
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    audit.record("login.success", object_type="user", object_id=user.id, actor=user)
    return user


def end_all_sessions(user: User, *, action: str = "logout") -> None:
    """Rotate the session token so every cookie issued so far stops working."""
    user.rotate_session_token()
    audit.record(action, object_type="user", object_id=user.id, actor=user)


# Profile --------------------------------------------------------------------------------------


def change_password(user: User, *, current: str, new: str) -> None:
    """Change the password after checking the current one; ends every other session."""
    if not verify_password(user.password_hash, current):
        raise FieldError("current_password", N_("当前密码不正确"))
    problems = password_problems(new, id_number=user.id_number or "", mobile=user.mobile or "")
    if problems:
        raise FieldError("new_password", problems[0])
    if verify_password(user.password_hash, new):
        raise FieldError("new_password", N_("新密码不能与当前密码相同"))
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.rotate_session_token()
    audit.record("account.password_change", object_type="user", object_id=user.id, actor=user)


def change_mobile(user: User, *, mobile: str, password: str) -> None:
    """Change the mobile number; the password confirms it is the account holder."""
    if not verify_password(user.password_hash, password):
        raise FieldError("password", N_("登录密码不正确"))
    mobile = normalise_mobile(mobile)
    if mobile == user.mobile:
        raise FieldError("mobile", N_("新手机号码与当前号码相同"))
    _ensure_free(id_number="", mobile=mobile, exclude_id=user.id)
    old = user.mobile
    user.mobile = mobile
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise FieldError("mobile", N_("该手机号码已被其他账号使用")) from exc
    audit.record(
        "account.mobile_change",
        object_type="user",
        object_id=user.id,
        actor=user,
        details={"from": old, "to": mobile},
    )


# Staff ----------------------------------------------------------------------------------------


def create_staff(
    *,
    username: str,
    real_name: str,
    role: Role | str,
    password: str,
    unit_codes: list[str],
    actor: User | None = None,
) -> User:
    """Create a staff account in ``unit_codes``. Raises :class:`DomainError` for a taken username,
    a citizen role, an unknown unit or a weak password."""
    role = Role(role)
    if role not in STAFF_ROLES:
        raise DomainError(N_("工作账号的角色必须是窗口人员、科室负责人、管理员或审计员"))
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise FieldError("username", N_("该工作账号已存在"))
    problems = password_problems(password)
    if problems:
        raise FieldError("password", problems[0])
    units = _units_by_code(unit_codes)
    user = User(
        role=role,
        username=username,
        real_name=real_name,
        password_hash=hash_password(password),
        units=units,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "staff.create",
        object_type="user",
        object_id=user.id,
        actor=actor,
        details={"username": username, "role": role.value, "units": unit_codes},
    )
    return user


def _units_by_code(codes: list[str]) -> list[Unit]:
    if not codes:
        return []
    units = list(db.session.scalars(select(Unit).where(Unit.code.in_(codes))))
    missing = set(codes) - {u.code for u in units}
    if missing:
        raise FieldError("units", N_("单位不存在：") + "、".join(sorted(missing)))
    return units


def set_active(user: User, active: bool, *, actor: User | None = None) -> None:
    """Enable or disable an account; disabling ends every session at once."""
    user.active = active
    if not active:
        user.rotate_session_token()
    audit.record(
        "staff.enable" if active else "staff.disable", object_type="user", object_id=user.id, actor=actor
    )


def reset_password(user: User, new_password: str, *, actor: User | None = None) -> None:
    """Set a temporary password that must be changed at next login; ends every session."""
    problems = password_problems(new_password)
    if problems:
        raise FieldError("password", problems[0])
    user.password_hash = hash_password(new_password)
    user.must_change_password = True
    user.rotate_session_token()
    audit.record("staff.password_reset", object_type="user", object_id=user.id, actor=actor)
