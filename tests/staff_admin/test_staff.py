"""Staff management: create (forced password change), roles and units, disable ends a live session
at once, reset password, 三权分立 (no self-change, never lose the last admin), audited before/after."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from auth.models import Role, User
from core.audit import AuditLog
from core.db import db
from tests.auth.helpers import STRONG_PASSWORD, field_error, login, login_as, make_account
from tests.factories import UnitFactory

COOKIE = "portal_session"


def _admin(app):
    client = app.test_client()
    account = login_as(app, client, "admin")
    return client, account


def _units(app, n=2):
    with app.app_context():
        units = [UnitFactory() for _ in range(n)]
        db.session.commit()
        return [u.code for u in units]


def test_create_staff_in_units_with_forced_password_change(app):
    client, _ = _admin(app)
    codes = _units(app)
    data = {
        "username": "clerk_wang",
        "real_name": "王芳",
        "role": "clerk",
        "units": codes,
        "password": STRONG_PASSWORD,
    }
    r = client.post("/admin/staff/new", data=data)
    assert r.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "clerk_wang"))
        assert user.role == Role.CLERK and [u.code for u in user.units] == sorted(codes)
        assert user.must_change_password
    assert "clerk_wang" in client.get("/admin/staff/").text
    again = client.post("/admin/staff/new", data=data)
    assert again.status_code == 422 and field_error(again.text, "username") == "该工作账号已存在"
    weak = client.post("/admin/staff/new", data={**data, "username": "x_weak", "password": "123"})
    assert weak.status_code == 422 and field_error(weak.text, "password")
    assert 'value="x_weak"' in weak.text  # nothing entered is lost


def test_assign_role_and_units_audited_before_after(app):
    client, _ = _admin(app)
    codes = _units(app)
    clerk = make_account(app, "clerk")
    r = client.post(
        f"/admin/staff/{clerk.id}", data={"real_name": "张三", "role": "unit_lead", "units": codes[:1]}
    )
    assert r.status_code == 302
    with app.app_context():
        user = db.session.get(User, clerk.id)
        assert user.role == Role.UNIT_LEAD and [u.code for u in user.units] == codes[:1]
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "staff.update"))
        assert row.details["before"]["role"] == "clerk" and row.details["after"]["role"] == "unit_lead"
        assert row.details["before"]["units"] == [] and row.details["after"]["units"] == codes[:1]


def test_disable_ends_a_live_session_at_once(app):
    client, _ = _admin(app)
    clerk = make_account(app, "clerk")
    victim = app.test_client()
    assert login(victim, clerk.login).status_code == 302
    copied = app.test_client()
    cookie = victim.get_cookie(COOKIE)
    copied.set_cookie(COOKIE, cookie.value, domain=cookie.domain)
    assert copied.get("/profile").status_code == 200
    assert client.post(f"/admin/staff/{clerk.id}/disable").status_code == 302
    for c in (victim, copied):
        r = c.get("/profile")
        assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert login(app.test_client(), clerk.login).status_code == 422
    with app.app_context():
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "staff.disable"))
        assert row.details["before"]["active"] is True and row.details["after"]["active"] is False
    assert client.post(f"/admin/staff/{clerk.id}/enable").status_code == 302
    assert login(app.test_client(), clerk.login).status_code == 302


def test_reset_password_forces_a_change_and_ends_sessions(app):
    client, _ = _admin(app)
    clerk = make_account(app, "clerk")
    victim = app.test_client()
    login(victim, clerk.login)
    r = client.post(f"/admin/staff/{clerk.id}/password", data={"password": "Temp-2026-reset"})
    assert r.status_code == 302
    assert victim.get("/profile").headers["Location"].startswith("/login")
    with app.app_context():
        assert db.session.get(User, clerk.id).must_change_password
    fresh = app.test_client()
    assert login(fresh, clerk.login, "Temp-2026-reset").status_code == 302
    assert fresh.get("/admin/staff/").status_code in (302, 403)


def test_nobody_changes_their_own_role_units_or_status(app):
    """The rule is kept by the operation (an admin's own account is also out of reach on the web)."""
    import pytest

    from auth.staff import SELF_CHANGE, update_staff
    from core.errors import DomainError

    client, me = _admin(app)
    clerk = make_account(app, "clerk")
    r = client.post(f"/admin/staff/{me.id}/disable", follow_redirects=True)
    assert "三权分立" in r.text
    with app.app_context():
        user = db.session.get(User, me.id)
        assert user.role == Role.ADMIN and user.active
        own = db.session.get(User, clerk.id)
        with pytest.raises(DomainError, match=str(SELF_CHANGE)):
            update_staff(own, own, real_name="我", role=Role.UNIT_LEAD, unit_codes=[])


def test_last_active_admin_cannot_be_disabled_or_demoted(app):
    """The web cannot reach admin accounts at all now (三权分立), so the rule is checked on the guard
    itself (the CLI, or an actor whose account was disabled a moment ago)."""
    import pytest

    from auth.staff import LAST_ADMIN, _guard
    from core.errors import DomainError

    _client, me = _admin(app)
    other = make_account(app, "admin")
    with app.app_context():
        db.session.get(User, other.id).active = False
        db.session.commit()
        actor, target = db.session.get(User, other.id), db.session.get(User, me.id)
        for kwargs in ({"disable": True}, {"demote": True}):
            with pytest.raises(DomainError, match=str(LAST_ADMIN)):
                _guard(actor, target, **kwargs)
        _guard(actor, target)  # a change that keeps the admin is fine


@pytest.mark.parametrize("role", ["auditor", "admin"])
def test_admins_cannot_create_or_reach_admin_and_auditor_accounts(app, role):
    """三权分立: an admin who could make an auditor account could read the audit trail of their own acts."""
    client, _ = _admin(app)
    r = client.post(
        "/admin/staff/new",
        data={"username": "priv_li", "real_name": "李审", "role": role, "password": STRONG_PASSWORD},
    )
    assert r.status_code == 422
    target = make_account(app, role)
    page = client.get(f"/admin/staff/{target.id}")
    assert 'data-testid="privileged"' in page.text and "/password" not in page.text
    assert "三权分立" in client.post(f"/admin/staff/{target.id}/disable", follow_redirects=True).text
    r = client.post(f"/admin/staff/{target.id}/password", data={"password": "Lj-2026-reset-it"})
    assert r.status_code == 422 and "三权分立" in r.text
    r = client.post(f"/admin/staff/{target.id}", data={"real_name": "改名", "role": "clerk", "units": []})
    assert r.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "priv_li")) is None
        user = db.session.get(User, target.id)
        assert user.active and user.role == Role(role) and not user.must_change_password
    assert client.get("/audit/").status_code in (403, 404)


def test_a_forced_password_change_is_enforced_on_every_request(app):
    """A reset password must be changed before anything else: not just a redirect after login."""
    client, _ = _admin(app)
    clerk = make_account(app, "clerk")
    assert (
        client.post(f"/admin/staff/{clerk.id}/password", data={"password": "Lj-2026-reset-it"}).status_code
        == 302
    )
    other = app.test_client()
    other.post("/login", data={"identifier": clerk.login, "password": "Lj-2026-reset-it"})
    for url in ("/clerk/", "/", "/stats", "/items/LJ-HJ-001"):
        r = other.get(url)
        assert r.status_code == 302 and r.headers["Location"].endswith("/profile"), url
    assert other.get("/profile").status_code == 200


def test_non_admins_get_403(app):
    for role in ("auditor", "unit_lead", "clerk", "citizen"):
        c = app.test_client()
        login_as(app, c, role)
        assert c.get("/admin/staff/").status_code == 403
        assert c.post("/admin/staff/new", data={}).status_code == 403


def test_the_staff_search_matches_text_literally(app):
    """% and _ are searched for as themselves, not as SQL wildcards; a NUL byte is dropped."""
    client, _ = _admin(app)
    make_account(app, "clerk", username="clerk_zhang", real_name="张三")
    make_account(app, "clerk", username="clerk_li", real_name="李四")
    assert "clerk_zhang" in client.get("/admin/staff/?q=zhang").text
    for q in ("%", "clerk%zhang", "clerk_l_"):
        page = client.get("/admin/staff/", query_string={"q": q}).text
        assert "clerk_zhang" not in page and "clerk_li" not in page, q
    page = client.get("/admin/staff/", query_string={"q": "张\x00三"}).text
    assert "clerk_zhang" in page and "clerk_li" not in page
