"""Accounts, roles, units and their membership; registration, login, lockout and revocable sessions."""


def init_app(app) -> None:
    """Register the account tables, the login and profile pages, staff administration and the CLI."""
    from auth import cli, sessioncache
    from auth import models as _models  # noqa: F401 - registers the tables
    from auth.forms import LogoutForm
    from auth.policies import can_manage_staff, can_read_audit, has_role
    from auth.staff_views import init_staff_admin
    from auth.views import bp, enforce_password_change, enforce_staff_idle_timeout

    app.jinja_env.globals.update(
        has_role=has_role,
        can_read_audit=can_read_audit,
        can_manage_staff=can_manage_staff,
        logout_form=LogoutForm,
    )
    app.register_blueprint(bp)
    app.before_request(enforce_staff_idle_timeout)
    app.before_request(enforce_password_change)
    sessioncache.init_app(app)
    cli.init_app(app)
    init_staff_admin(app)
    from auth.retention import init_retention

    init_retention(app)
