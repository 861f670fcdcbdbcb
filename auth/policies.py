"""Who may do what with accounts; exposed to templates as ``has_role``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user

from auth.models import Role


def has_role(user: Any, *roles: Role | str) -> bool:
    """True when ``user`` is logged in with one of ``roles``."""
    if not user or not getattr(user, "is_authenticated", False):
        return False
    wanted = {Role(r) for r in roles}
    return Role(user.role) in wanted


def can_read_audit(user: Any) -> bool:
    """Only auditors read the audit trail (三权分立: admins run the system, they cannot read it)."""
    return has_role(user, Role.AUDITOR)


def can_manage_staff(user: Any) -> bool:
    return has_role(user, Role.ADMIN)


def role_required(*roles: Role | str) -> Callable:
    """View decorator: 401 → login for anonymous users (via Flask-Login), 403 for the wrong role."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from core.extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not has_role(current_user, *roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
