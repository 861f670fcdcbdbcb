"""Staff administration rules (the admin's 工作人员 pages). Plain arguments in, models out, domain
errors raised; flush, never commit.

三权分立: whoever runs the system cannot touch its audit. An admin on the web manages clerk and unit
lead accounts only; admin and auditor accounts are created, changed, reset and disabled through the
CLI (``flask users``), which is audited too. Nobody changes their own role, units or status, and the
last active admin cannot be demoted or disabled.
"""

from __future__ import annotations

from sqlalchemy import func, select

from auth import operations as auth_ops
from auth.models import STAFF_ROLES, Role, User
from core import audit
from core.db import db
from core.errors import DomainError, FieldError
from core.i18n import N_

SELF_CHANGE = N_("不能修改自己的角色、所属单位或账号状态，请由另一位管理员操作")
LAST_ADMIN = N_("这是最后一个启用的管理员账号，不能停用或改为其他角色")
PRIVILEGED = auth_ops.PRIVILEGED
#: The roles an admin may create and manage on the web.
WEB_ROLES = frozenset({Role.CLERK, Role.UNIT_LEAD})


def check_web_managed(actor: User | None, *roles: Role | str) -> None:
    """Raise :class:`DomainError` when an admin acting on the web (``actor`` given) would create,
    change or reach an admin or auditor account. The CLI passes no actor."""
    if actor is None:
        return
    if any(Role(r) not in WEB_ROLES for r in roles):
        raise DomainError(PRIVILEGED)


def _snapshot(user: User) -> dict:
    return {
        "real_name": user.real_name,
        "role": Role(user.role).value,
        "units": [u.code for u in user.units],
        "active": bool(user.active),
    }


def _active_admins() -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active.is_(True))
        )
        or 0
    )


def _guard(actor: User, target: User, *, demote: bool = False, disable: bool = False) -> None:
    """Raise :class:`DomainError` for a change to oneself or one that leaves no active admin."""
    if actor.id == target.id:
        raise DomainError(SELF_CHANGE)
    if (demote or disable) and Role(target.role) == Role.ADMIN and target.active and _active_admins() <= 1:
        raise DomainError(LAST_ADMIN)


def update_staff(actor: User, target: User, *, real_name: str, role: Role, unit_codes: list[str]) -> None:
    """Change a staff account's name, role and units (never one's own). A role change ends the
    account's sessions, so new rights and lost rights apply at once."""
    check_web_managed(actor, target.role, role)
    before = _snapshot(target)
    role_changed = Role(target.role) != role
    units_changed = sorted(before["units"]) != sorted(unit_codes)
    if role_changed or units_changed:
        _guard(actor, target, demote=role_changed and Role(target.role) == Role.ADMIN)
    if role not in STAFF_ROLES:
        raise FieldError("role", N_("角色无效"))
    target.real_name = real_name
    target.role = role
    target.units = auth_ops._units_by_code(unit_codes)
    if role_changed:
        target.rotate_session_token()
    db.session.flush()
    after = _snapshot(target)
    if before != after:
        audit.record(
            "staff.update",
            object_type="user",
            object_id=target.id,
            details={"before": before, "after": after},
        )


def set_staff_active(actor: User, target: User, active: bool) -> None:
    """Enable or disable; disabling rotates the session token so every open session ends at once."""
    check_web_managed(actor, target.role)
    if target.active == active:
        return
    _guard(actor, target, disable=not active)
    before = _snapshot(target)
    target.active = active
    if not active:
        target.rotate_session_token()
    db.session.flush()
    audit.record(
        "staff.disable" if not active else "staff.enable",
        object_type="user",
        object_id=target.id,
        details={"before": before, "after": _snapshot(target)},
    )
