"""Account use cases. Plain arguments in, models out, domain errors raised; ``flush()``, never commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from auth.identity import (
    IdNumberError,
    normalise_english_name,
    normalise_id_number,
    normalise_mobile,
    normalise_passport_number,
    password_problems,
    validate_nationality,
    validate_passport_number,
)
from auth.models import PASSPORT, RESIDENT_ID, STAFF_ROLES, Assurance, LoginThrottle, Role, Unit, User
from auth.passwords import hash_password, needs_rehash, verify_password
from auth.population import PopulationRegister
from core import audit
from core.crypto import blind_index
from core.db import db, utcnow
from core.errors import DomainError, FieldError
from core.i18n import N_
from core.masking import mask_id_number, mask_login_identifier, mask_passport_number
from core.outbox import queue_message

LOGIN_FAILED = N_("账号或密码不正确")
PRIVILEGED = N_("管理员和审计员账号只能由系统运维人员通过命令行（flask users）管理，并记入审计（三权分立）")
ACCOUNT_LOCKED = N_("登录失败次数过多，账号已锁定15分钟，请稍后再试")


class LoginFailed(DomainError):
    """Wrong identifier or password, or the account is locked; the message never says which."""

    def __init__(self, message: str, *, locked: bool = False) -> None:
        super().__init__(message)
        self.locked = locked


# Registration ---------------------------------------------------------------------------------


#: Said for every refusal that would otherwise tell whether an ID number has an account.
ID_NOT_REGISTRABLE = N_("该身份证号码无法在线注册。请核对姓名和号码，或携带本人身份证到任一公安窗口办理。")
#: The same for a passport number (one account per passport, the number with its nationality).
PASSPORT_NOT_REGISTRABLE = N_(
    "该护照号码无法在线注册。请核对英文姓名、国籍和号码，或携带本人护照到出入境窗口办理。"
)


def register_citizen(
    *,
    real_name: str,
    id_number: str,
    mobile: str,
    password: str,
    register: PopulationRegister | None = None,
    mobile_verified: bool = True,
    id_type: str = RESIDENT_ID,
    nationality: str | None = None,
    english_name: str | None = None,
) -> User:
    """Create a citizen account: L1 once the mobile is proven (the caller consumed the SMS code),
    L2 when ``register`` confirms the name and ID number (人口信息核验).

    An ID number another account already holds: if that account is L2, or this person does not
    verify either, registration is refused with the neutral :data:`ID_NOT_REGISTRABLE`. If this
    person verifies and the holder did not, the holder is frozen (disabled, sessions ended, the ID
    number released to this account) and both are told — an ID number belongs to one account, and
    the proven person wins (DESIGN §6). Raises :class:`FieldError` for a taken mobile or a weak
    password. The caller has validated formats.

    A foreigner registers with ``id_type="passport"``: ``id_number`` is the passport number,
    ``nationality`` its ISO 3166-1 alpha-3 country and ``english_name`` the name as in the passport
    (``real_name`` is a Chinese name, or the English name when there is none); one account per
    passport number *and* nationality, checked against the register like a resident's, refusals at
    the ``passport_number`` field.
    """
    passport = id_type == PASSPORT
    number_field = "passport_number" if passport else "id_number"
    not_registrable = PASSPORT_NOT_REGISTRABLE if passport else ID_NOT_REGISTRABLE
    if passport:
        try:
            id_number = validate_passport_number(id_number)
            nationality = validate_nationality(nationality or "")
        except IdNumberError as exc:
            raise FieldError(number_field, str(exc)) from exc
        english_name = normalise_english_name(english_name or "")
        if not english_name:
            raise FieldError("english_name", N_("请输入与护照一致的英文姓名"))
        real_name = real_name.strip() or english_name
        claimed_name = english_name
    else:
        id_number = normalise_id_number(id_number)
        nationality = english_name = None
        real_name = real_name.strip()
        claimed_name = real_name
    mobile = normalise_mobile(mobile)
    problems = password_problems(password, id_number=id_number, mobile=mobile)
    if problems:
        raise FieldError("password", problems[0])
    _ensure_free(id_number="", mobile=mobile)
    verified = bool(
        mobile_verified
        and register is not None
        and register.verify(claimed_name, id_number, id_type=id_type, nationality=nationality)
    )
    holder = _id_holder(id_number, id_type, nationality)
    if holder is not None:
        if not verified or holder.level >= Assurance.L2:
            raise FieldError(number_field, not_registrable)
        _freeze_for_dispute(holder)
    user = User(
        role=Role.CITIZEN,
        real_name=real_name,
        english_name=english_name,
        mobile=mobile,
        password_hash=hash_password(password),
        assurance=Assurance.L1 if mobile_verified else Assurance.L0,
    )
    user.set_identity(id_type, id_number, nationality)
    try:
        with db.session.begin_nested():
            db.session.add(user)
            db.session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race: say which number
        _ensure_free(id_number="", mobile=mobile)
        raise FieldError(number_field, not_registrable) from exc
    audit.record("account.register", object_type="user", object_id=user.id, actor=user)
    if verified:
        _raise_to_l2(user, "register", actor=user)
    if holder is not None:
        queue_message("account_frozen", user_id=holder.id)
        queue_message("id_claimed", user_id=user.id)
        audit.record(
            "account.id_dispute",
            object_type="user",
            object_id=holder.id,
            actor=user,
            details={"frozen": holder.id, "claimed_by": user.id},
        )
    return user


def _id_holder(id_number: str, id_type: str = RESIDENT_ID, nationality: str | None = None) -> User | None:
    """The account that holds ``id_number`` (a passport number: of ``nationality``) now, if any."""
    return db.session.scalar(select(User).where(User.id_number_is(id_number, id_type, nationality)))


def _freeze_for_dispute(holder: User) -> None:
    holder.frozen_at = utcnow()
    if holder.is_passport_holder:
        shown = f"护照号码 {holder.nationality} {mask_passport_number(holder.id_number)}"
    else:
        shown = f"身份证号码 {mask_id_number(holder.id_number)}"
    holder.frozen_reason = f"{shown} 已由本人实名认领"
    holder.id_number = None
    holder.active = False
    holder.rotate_session_token()
    db.session.flush()


def _raise_to_l2(user: User, source: str, *, actor: User | None) -> None:
    before = user.assurance
    user.assurance = Assurance.L2
    user.identity_source = source
    user.identity_verified_at = utcnow()
    audit.record(
        "account.assurance_raise",
        object_type="user",
        object_id=user.id,
        actor=actor,
        details={"before": before, "after": int(Assurance.L2), "source": source},
    )


def verify_identity(user: User, register: PopulationRegister) -> bool:
    """The account holder asks for 人口信息核验 of the name and ID number on their account: L2 when
    the register confirms them (True), unchanged otherwise (False). Needs a proven mobile (L1)."""
    if user.level >= Assurance.L2:
        return True
    if user.level < Assurance.L1 or not user.id_number:
        raise DomainError(N_("请先验证手机号码，再进行实名核验。"))
    name = user.english_name if user.is_passport_holder else user.real_name
    if not register.verify(name or "", user.id_number, id_type=user.id_type, nationality=user.nationality):
        audit.record("account.assurance_refused", object_type="user", object_id=user.id, actor=user)
        return False
    _raise_to_l2(user, "register", actor=user)
    return True


def verify_at_counter(user: User, clerk: User) -> None:
    """A clerk has checked the person's ID card face to face: the account reaches L2 (audited with the
    clerk as actor)."""
    if user.level < Assurance.L2:
        _raise_to_l2(user, "counter", actor=clerk)


def mark_mobile_verified(user: User) -> None:
    """The holder proved the mobile number (an SMS code): L0 → L1."""
    if user.level < Assurance.L1:
        user.assurance = Assurance.L1
        audit.record(
            "account.assurance_raise",
            object_type="user",
            object_id=user.id,
            actor=user,
            details={"before": 0, "after": 1, "source": "sms"},
        )


def reset_password_with_code(mobile: str, new_password: str) -> User:
    """忘记密码: the SMS code for ``mobile`` was consumed by the caller; set the new password, prove
    the mobile (L1) and end every session. Raises :class:`FieldError` for a weak password and
    :class:`DomainError` (neutral) when no active citizen holds the number."""
    user = db.session.scalar(
        select(User).where(User.mobile_is(normalise_mobile(mobile)), User.role == Role.CITIZEN)
    )
    if user is None or not user.active:
        raise DomainError(N_("验证码错误或已过期，请重新获取"))
    problems = password_problems(new_password, id_number=user.id_number or "", mobile=user.mobile or "")
    if problems:
        raise FieldError("password", problems[0])
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.rotate_session_token()
    mark_mobile_verified(user)
    audit.record("account.password_reset_by_sms", object_type="user", object_id=user.id, actor=user)
    return user


def _ensure_free(*, id_number: str, mobile: str, exclude_id: int | None = None) -> None:
    rows = db.session.execute(
        select(User.id, User.id_number, User.mobile).where(
            or_(User.id_number_is(id_number), User.mobile_is(mobile))
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


def find_citizen_by_mobile(mobile: str) -> User | None:
    """The active citizen account holding ``mobile``, if any."""
    return db.session.scalar(
        select(User).where(
            User.mobile_is(normalise_mobile(mobile)), User.role == Role.CITIZEN, User.active.is_(True)
        )
    )


def find_account(identifier: str) -> User | None:
    """The account an identifier names: a mobile number, an ID number, a passport number or a staff
    username. A passport number that two nationalities' holders share names neither (ambiguous: they
    log in with the mobile number)."""
    ident = identifier.strip()
    mobile = normalise_mobile(ident)
    id_number = normalise_id_number(ident)
    user = db.session.scalars(
        select(User).where(or_(User.mobile_is(mobile), User.id_number_is(id_number), User.username == ident))
    ).first()
    if user is not None:
        return user
    passport = normalise_passport_number(ident)
    if not passport:
        return None
    holders = db.session.scalars(select(User).where(User.passport_number_is(passport)).limit(2)).all()
    return holders[0] if len(holders) == 1 else None


def _throttle_key(user: User | None, identifier: str) -> str:
    if user is not None:
        return f"user:{user.id}"
    # keyed (core.crypto blind index), so the table does not reveal which numbers were tried
    return f"ident:{blind_index('login', normalise_id_number(identifier))}"


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
    """Change the mobile number; the password confirms it is the account holder, and the caller has
    consumed the SMS code sent to the new number (so it is proven: L1)."""
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
    mark_mobile_verified(user)
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
    if actor is not None and role not in (Role.CLERK, Role.UNIT_LEAD):
        raise FieldError("role", PRIVILEGED)
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
    """Enable or disable an account; disabling ends every session at once. An admin on the web
    (``actor`` given) cannot reach an admin or auditor account (三权分立)."""
    if actor is not None and Role(user.role) not in (Role.CLERK, Role.UNIT_LEAD):
        raise DomainError(PRIVILEGED)
    user.active = active
    if not active:
        user.rotate_session_token()
    audit.record(
        "staff.enable" if active else "staff.disable", object_type="user", object_id=user.id, actor=actor
    )


def reset_password(user: User, new_password: str, *, actor: User | None = None) -> None:
    """Set a temporary password that must be changed at next login; ends every session. An admin on
    the web (``actor`` given) cannot reset an admin's or an auditor's password (三权分立)."""
    if actor is not None and Role(user.role) not in (Role.CLERK, Role.UNIT_LEAD):
        raise DomainError(PRIVILEGED)
    problems = password_problems(new_password)
    if problems:
        raise FieldError("password", problems[0])
    user.password_hash = hash_password(new_password)
    user.must_change_password = True
    user.rotate_session_token()
    audit.record("staff.password_reset", object_type="user", object_id=user.id, actor=actor)
