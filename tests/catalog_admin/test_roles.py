"""Role separation on every admin route: admins only; auditors, unit leads, clerks and citizens get
403, anonymous visitors go to the login page. Generated from the app's own URL map, so a new admin
route without a row fails here."""

from __future__ import annotations

import pytest

from tests.auth.helpers import login_as
from tests.catalog_admin.conftest import small_catalog, wire

RULE = "/admin/catalog/items/<code>"
PART = RULE + "/<any(documents, situations, fields):kind>"
ITEM = "/admin/catalog/items/LJ-HJ-001"
URLS = {
    "/admin/catalog/": "/admin/catalog/",
    "/admin/catalog/new": "/admin/catalog/new",
    "/admin/catalog/items/<code>": "/admin/catalog/items/LJ-HJ-001",
    f"{PART}/new": f"{ITEM}/documents/new",
    f"{PART}/<int:index>": f"{ITEM}/documents/0",
    f"{PART}/<int:index>/delete": f"{ITEM}/documents/0/delete",
    f"{PART}/<int:index>/move": f"{ITEM}/documents/0/move",
    f"{RULE}/publish": f"{ITEM}/publish",
    f"{RULE}/<any(discard, retire, reinstate):action>": f"{ITEM}/discard",
    f"{RULE}/preview": f"{ITEM}/preview",
    f"{RULE}/preview/documents": f"{ITEM}/preview/documents",
    f"{RULE}/preview/form": f"{ITEM}/preview/form",
    f"{RULE}/diff": f"{ITEM}/diff",
    "/admin/catalog/export.yaml": "/admin/catalog/export.yaml",
    "/admin/catalog/export.xlsx": "/admin/catalog/export.xlsx",
    "/admin/catalog/import": "/admin/catalog/import",
    "/admin/catalog/bundles/": "/admin/catalog/bundles/",
    "/admin/catalog/bundles/new": "/admin/catalog/bundles/new",
    "/admin/catalog/bundles/<code>": "/admin/catalog/bundles/LJ-YJS-001",
    "/admin/catalog/bundles/<code>/delete": "/admin/catalog/bundles/LJ-YJS-001/delete",
    "/admin/catalog/bundles/<code>/flow": "/admin/catalog/bundles/LJ-YJS-001/flow",
    "/admin/catalog/bundles/<code>/flow/publish": "/admin/catalog/bundles/LJ-YJS-001/flow/publish",
    "/admin/catalog/bundles/<code>/flow/discard": "/admin/catalog/bundles/LJ-YJS-001/flow/discard",
    "/admin/catalog/bundles/<code>/flow/preview": "/admin/catalog/bundles/LJ-YJS-001/flow/preview",
    "/admin/catalog/departments/": "/admin/catalog/departments/",
    "/admin/catalog/departments/new": "/admin/catalog/departments/new",
    "/admin/catalog/departments/<code>": "/admin/catalog/departments/wsjk",
    "/admin/ask/questions": "/admin/ask/questions",
    "/admin/ask/questions/<int:question_id>/resolve": "/admin/ask/questions/999999/resolve",
    "/admin/ask/questions/<int:question_id>/dismiss": "/admin/ask/questions/999999/dismiss",
    "/admin/guide-fixes/": "/admin/guide-fixes/",
    "/admin/guide-fixes/<code>": "/admin/guide-fixes/LJ-HJ-001",
    "/admin/correction-reasons/": "/admin/correction-reasons/",
    "/admin/correction-reasons/<int:reason_id>": "/admin/correction-reasons/999999",
    "/admin/correction-reasons/<int:reason_id>/delete": "/admin/correction-reasons/999999/delete",
    "/admin/calendar/": "/admin/calendar/",
    "/admin/calendar/<int:override_id>/delete": "/admin/calendar/999999/delete",
    "/admin/calendar/years/": "/admin/calendar/years/",
    "/admin/calendar/years/<int:year>": "/admin/calendar/years/2027",
    "/admin/units/": "/admin/units/",
    "/admin/units/new": "/admin/units/new",
    "/admin/units/<code>": "/admin/units/NO-SUCH-UNIT",
    "/admin/staff/": "/admin/staff/",
    "/admin/staff/new": "/admin/staff/new",
    "/admin/staff/<int:user_id>": "/admin/staff/999999",
    "/admin/staff/<int:user_id>/<any(disable, enable):what>": "/admin/staff/999999/disable",
    "/admin/staff/<int:user_id>/password": "/admin/staff/999999/password",
    "/admin/appointments/": "/admin/appointments/",
    "/admin/appointments/<code>": "/admin/appointments/NO-SUCH-UNIT",
    "/admin/appointments/<code>/exceptions": "/admin/appointments/NO-SUCH-UNIT/exceptions",
    "/admin/appointments/<code>/groups": "/admin/appointments/NO-SUCH-UNIT/groups",
    "/admin/appointments/<code>/groups/<int:group_id>": "/admin/appointments/NO-SUCH-UNIT/groups/1",
    "/admin/appointments/<code>/groups/<int:group_id>/delete": (
        "/admin/appointments/NO-SUCH-UNIT/groups/1/delete"
    ),
    "/admin/appointments/<code>/hours/<int:hours_id>/delete": (
        "/admin/appointments/NO-SUCH-UNIT/hours/1/delete"
    ),
    "/admin/appointments/<code>/exceptions/<int:exception_id>/delete": (
        "/admin/appointments/NO-SUCH-UNIT/exceptions/1/delete"
    ),
    "/admin/jobs/": "/admin/jobs/",
    "/admin/jobs/<name>/run": "/admin/jobs/NO-SUCH-JOB/run",
    "/admin/ecerts/": "/admin/ecerts/",
    "/admin/ecerts/<int:cert_id>/revoke": "/admin/ecerts/999999/revoke",
    "/admin/ecerts/sources": "/admin/ecerts/sources",
}
# what an admin gets from the URL above (GET or an empty POST)
ADMIN = {
    ("POST", "/admin/catalog/new"): 422,
    ("POST", "/admin/catalog/items/<code>"): 422,
    ("POST", f"{PART}/new"): 422,
    ("POST", f"{PART}/<int:index>"): 422,
    ("POST", f"{PART}/<int:index>/delete"): 302,
    ("POST", f"{PART}/<int:index>/move"): 302,
    ("POST", f"{RULE}/publish"): (302, 422),  # 302: published, or no draft
    ("POST", f"{RULE}/<any(discard, retire, reinstate):action>"): 302,
    ("POST", f"{RULE}/preview/form"): 422,
    ("POST", "/admin/catalog/import"): 422,
    ("POST", "/admin/catalog/bundles/new"): 422,
    ("POST", "/admin/catalog/bundles/<code>"): 422,
    ("POST", "/admin/catalog/bundles/<code>/delete"): 302,
    ("POST", "/admin/catalog/bundles/<code>/flow"): 422,
    ("POST", "/admin/catalog/bundles/<code>/flow/publish"): 302,  # no draft: a flash
    ("POST", "/admin/catalog/bundles/<code>/flow/discard"): 302,
    ("POST", "/admin/catalog/departments/new"): 422,
    ("POST", "/admin/catalog/departments/<code>"): 422,
    ("POST", "/admin/ask/questions/<int:question_id>/resolve"): 404,
    ("POST", "/admin/ask/questions/<int:question_id>/dismiss"): 404,
    ("POST", "/admin/correction-reasons/"): 422,
    ("POST", "/admin/correction-reasons/<int:reason_id>"): 404,
    ("POST", "/admin/correction-reasons/<int:reason_id>/delete"): 404,
    ("POST", "/admin/calendar/"): 422,
    ("POST", "/admin/calendar/<int:override_id>/delete"): 404,
    ("POST", "/admin/calendar/years/<int:year>"): 422,
    ("POST", "/admin/units/new"): 422,
    ("GET", "/admin/units/<code>"): 404,
    ("POST", "/admin/units/<code>"): 404,
    ("GET", "/admin/staff/<int:user_id>"): 404,
    ("POST", "/admin/staff/new"): 422,
    ("POST", "/admin/staff/<int:user_id>"): 404,
    ("POST", "/admin/staff/<int:user_id>/<any(disable, enable):what>"): 404,
    ("POST", "/admin/staff/<int:user_id>/password"): 404,
    ("GET", "/admin/appointments/<code>"): 404,
    ("POST", "/admin/appointments/<code>"): 404,
    ("POST", "/admin/appointments/<code>/exceptions"): 404,
    ("POST", "/admin/appointments/<code>/groups"): 404,
    ("GET", "/admin/appointments/<code>/groups/<int:group_id>"): 404,
    ("POST", "/admin/appointments/<code>/groups/<int:group_id>"): 404,
    ("POST", "/admin/appointments/<code>/groups/<int:group_id>/delete"): 404,
    ("POST", "/admin/appointments/<code>/hours/<int:hours_id>/delete"): 404,
    ("POST", "/admin/appointments/<code>/exceptions/<int:exception_id>/delete"): 404,
    ("POST", "/admin/jobs/<name>/run"): 404,
    ("GET", "/admin/ecerts/<int:cert_id>/revoke"): 404,
    ("POST", "/admin/ecerts/<int:cert_id>/revoke"): 404,
    ("POST", "/admin/ecerts/sources"): 422,
}
ROLES = ("anonymous", "citizen", "clerk", "unit_lead", "auditor", "admin")


@pytest.fixture(scope="module")
def routes():
    from portal import create_app
    from tests.conftest import TEST_CONFIG

    app = wire(create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://"}))
    out = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin/") and not rule.rule.startswith("/admin/routing"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                out.append((method, rule.rule))
    return sorted(out)


def test_every_admin_route_has_a_url(routes):
    assert {rule for _, rule in routes} == set(URLS)


@pytest.mark.parametrize("role", ROLES)
def test_role_separation(small, role, routes):
    client = small.test_client()
    login_as(small, client, role)
    for method, rule in routes:
        url = URLS[rule]
        response = client.get(url) if method == "GET" else client.post(url, data={})
        if role == "anonymous":
            assert response.status_code == 302 and response.headers["Location"].startswith("/login"), (
                method,
                rule,
            )
        elif role != "admin":
            assert response.status_code == 403, (role, method, rule, response.status_code)
        else:
            expected = ADMIN.get((method, rule), 200)
            allowed = expected if isinstance(expected, tuple) else (expected,)
            assert response.status_code in allowed, (method, rule, response.status_code)
            with small.app_context():
                small_catalog()  # the admin's discard/delete may have changed the draft; keep it loadable


def test_admins_never_see_the_audit_trail(small):
    client = small.test_client()
    login_as(small, client, "admin")
    assert client.get("/audit/service_item/LJ-HJ-001").status_code == 403
    nav = client.get("/admin/catalog/").text
    assert "/audit" not in nav and "管理" in nav
