"""Role × route → expected status, for every route the app serves.

``test_every_route_is_in_the_table`` fails as soon as a new route appears in ``app.url_map`` without
a row here: whoever adds a page decides, in this table, who may reach it.

Expected values are a status code, or ``(302, "/login")`` for a redirect whose Location starts
with that path. ``<code>`` routes are requested with a code that does not exist (404 for everybody;
the catalog's own tests cover real items).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import pytest

from tests.auth.helpers import ROLES, login_as

STAFF = ("clerk", "unit_lead", "admin", "auditor")
LOGGED_IN = ("citizen", *STAFF)
MISSING = "NO-SUCH-CODE"
LOGIN = (302, "/login")
HOME = (302, "/")
PROFILE = (302, "/profile")


def every(expected) -> dict:
    return dict.fromkeys(ROLES, expected)


def split(anonymous, logged_in) -> dict:
    return {"anonymous": anonymous, **dict.fromkeys(LOGGED_IN, logged_in)}


@dataclass(frozen=True)
class Row:
    url: str
    expected: dict
    data: dict | None = None


def _admin_only(admin) -> dict:
    return {
        "anonymous": LOGIN,
        **dict.fromkeys(("citizen", "clerk", "unit_lead", "auditor"), 403),
        "admin": admin,
    }


_I = "/admin/catalog/items/<code>"
_K = "/<any(documents, situations, fields):kind>"
_M = f"/admin/catalog/items/{MISSING}"
_BA = "/bundle-applications/<int:bundle_id>"
_SECTION = "/<any(shared, situations, items, documents, delivery):section>"

# (method, rule) → what to request and what each role gets.
TABLE: dict[tuple[str, str], Row] = {
    # core
    ("GET", "/"): Row("/", every(200)),
    ("GET", "/healthz"): Row("/healthz", every(200)),
    ("GET", "/readyz"): Row("/readyz", every(200)),
    # operations (issue 18 item 8): the test client is loopback, which METRICS_ALLOW lets in by default;
    # other addresses get 404 whoever is logged in (tests/core/test_metrics.py)
    ("GET", "/metrics"): Row("/metrics", every(200)),
    ("GET", "/favicon.ico"): Row("/favicon.ico", every((301, "/static/favicon.svg"))),
    ("GET", "/static/<path:filename>"): Row("/static/css/portal.css", every(200)),
    # auth
    ("GET", "/login"): Row("/login", split(200, HOME)),
    ("POST", "/login"): Row("/login", split(422, HOME), {"identifier": "", "password": ""}),
    ("GET", "/register"): Row("/register", split(200, HOME)),
    ("POST", "/register"): Row("/register", split(422, HOME), {}),
    # 获取验证码 re-renders the page it was pressed on (an empty number: the error at the field)
    ("POST", "/register/code"): Row("/register/code", split(200, HOME), {}),
    ("GET", "/forgot"): Row("/forgot", split(200, PROFILE)),
    ("POST", "/forgot"): Row("/forgot", split(422, PROFILE), {}),
    ("POST", "/forgot/code"): Row("/forgot/code", split(200, PROFILE), {}),
    ("POST", "/logout"): Row("/logout", every(HOME)),
    ("GET", "/profile"): Row("/profile", split(LOGIN, 200)),
    ("POST", "/profile/password"): Row("/profile/password", split(LOGIN, 422), {}),
    ("POST", "/profile/mobile"): Row(
        "/profile/mobile", {"anonymous": LOGIN, "citizen": 422, **dict.fromkeys(STAFF, PROFILE)}, {}
    ),
    ("POST", "/profile/mobile/code"): Row("/profile/mobile/code", split(LOGIN, 200), {}),
    # 人口信息核验: done (citizens here are L2 already) or nothing to check (staff): back to the profile
    ("POST", "/profile/verify"): Row("/profile/verify", split(LOGIN, PROFILE), {}),
    # catalog (public)
    ("GET", "/search"): Row("/search?q=护照", every(200)),
    ("GET", "/category/<code>"): Row(f"/category/{MISSING}", every(404)),
    ("GET", "/items/<code>"): Row(f"/items/{MISSING}", every(404)),
    ("GET", "/items/<code>/documents"): Row(f"/items/{MISSING}/documents", every(404)),
    ("GET", "/items/<code>/notice"): Row(f"/items/{MISSING}/notice", every(404)),
    ("GET", "/bundles/<code>"): Row(f"/bundles/{MISSING}", every(404)),
    ("GET", "/api/v1/categories"): Row("/api/v1/categories", every(200)),
    ("GET", "/api/v1/items"): Row("/api/v1/items", every(200)),
    ("GET", "/api/v1/items/<code>"): Row(f"/api/v1/items/{MISSING}", every(404)),
    # 智能咨询 (issue 24): a question with no catalog loaded finds nothing, still a 200
    ("GET", "/ask"): Row("/ask?" + urlencode({"q": "身份证丢了"}), every(200)),
    ("GET", "/api/v1/ask"): Row("/api/v1/ask?" + urlencode({"q": "身份证丢了"}), every(200)),
    # the public API's own description: the OpenAPI document and its readable page
    ("GET", "/api/v1/openapi.json"): Row("/api/v1/openapi.json", every(200)),
    ("GET", "/api/v1/catalog.jsonld"): Row("/api/v1/catalog.jsonld", every(200)),
    ("GET", "/api/docs"): Row("/api/docs", every(200)),
    # applications (citizens only; a missing or foreign id answers 404, staff get 403)
    **{
        (method, rule): Row(url, {"anonymous": LOGIN, "citizen": 404, **dict.fromkeys(STAFF, 403)}, data)
        for method, rule, url, data in [
            ("GET", "/apply/<code>", f"/apply/{MISSING}", None),
            # 一件事: the citizen's one-form application (issue 22)
            ("GET", "/bundles/<code>/apply", f"/bundles/{MISSING}/apply", None),
            ("POST", "/bundles/<code>/apply", f"/bundles/{MISSING}/apply", {"token": "x" * 24}),
            ("GET", _BA + _SECTION, "/bundle-applications/999999/shared", None),
            ("POST", _BA + _SECTION, "/bundle-applications/999999/delivery", {}),
            (
                "POST",
                _BA + "/documents/<int:document_id>/remove",
                "/bundle-applications/999999/documents/1/remove",
                {},
            ),
            ("GET", _BA + "/files/<int:document_id>", "/bundle-applications/999999/files/1", None),
            ("GET", _BA + "/review", "/bundle-applications/999999/review", None),
            ("POST", _BA + "/submit", "/bundle-applications/999999/submit", {}),
            ("GET", _BA + "/done", "/bundle-applications/999999/done", None),
            ("POST", "/apply/<code>", f"/apply/{MISSING}", {"token": "x" * 24}),
            ("GET", "/applications/<int:application_id>", "/applications/999999", None),
            ("GET", "/applications/<int:application_id>/form", "/applications/999999/form", None),
            ("POST", "/applications/<int:application_id>/form", "/applications/999999/form", {}),
            ("GET", "/applications/<int:application_id>/documents", "/applications/999999/documents", None),
            ("POST", "/applications/<int:application_id>/documents", "/applications/999999/documents", {}),
            (
                "POST",
                "/applications/<int:application_id>/documents/<int:document_id>/remove",
                "/applications/999999/documents/1/remove",
                {},
            ),
            ("GET", "/applications/<int:application_id>/review", "/applications/999999/review", None),
            ("POST", "/applications/<int:application_id>/submit", "/applications/999999/submit", {}),
            ("GET", "/applications/<int:application_id>/done", "/applications/999999/done", None),
            ("GET", "/applications/<int:application_id>/withdraw", "/applications/999999/withdraw", None),
            ("POST", "/applications/<int:application_id>/withdraw", "/applications/999999/withdraw", {}),
            ("POST", "/applications/<int:application_id>/correction", "/applications/999999/correction", {}),
            (
                "POST",
                "/applications/<int:application_id>/deferred/<int:requirement>",
                "/applications/999999/deferred/2",
                {},
            ),
            ("GET", "/me/wallet/<int:wallet_id>/delete", "/me/wallet/999999/delete", None),
            ("POST", "/me/wallet/<int:wallet_id>/delete", "/me/wallet/999999/delete", {}),
            ("POST", "/applications/<int:application_id>/principal", "/applications/999999/principal", {}),
            (
                "POST",
                "/me/authorisations/<int:application_id>/confirm",
                "/me/authorisations/999999/confirm",
                {},
            ),
            ("GET", "/me/wallet/<int:wallet_id>/file", "/me/wallet/999999/file", None),
        ]
    },
    ("GET", "/me/applications"): Row(
        "/me/applications", {"anonymous": LOGIN, "citizen": 200, **dict.fromkeys(STAFF, 403)}
    ),
    ("GET", "/me/wallet"): Row(
        "/me/wallet", {"anonymous": LOGIN, "citizen": 200, **dict.fromkeys(STAFF, 403)}
    ),
    ("GET", "/me/authorisations"): Row(
        "/me/authorisations", {"anonymous": LOGIN, "citizen": 200, **dict.fromkeys(STAFF, 403)}
    ),
    # 我的数据 (a citizen's own data, its download, deleting the account: an empty form is 422)
    **{
        (method, rule): Row(rule, {"anonymous": LOGIN, "citizen": status, **dict.fromkeys(STAFF, 403)}, data)
        for method, rule, status, data in [
            ("GET", "/me/data", 200, None),
            ("GET", "/me/data/download", 200, None),
            ("GET", "/me/data/delete", 200, None),
            ("POST", "/me/data/delete", 422, {}),
        ]
    },
    # clerk side: clerks and unit leads; a missing or other unit's id answers 404
    **{
        (method, rule): Row(
            url,
            {
                "anonymous": LOGIN,
                "citizen": 403,
                "admin": 403,
                "auditor": 403,
                "clerk": staff,
                "unit_lead": staff,
            },
            data,
        )
        for method, rule, url, data, staff in [
            ("GET", "/clerk/", "/clerk/", None, 200),
            ("POST", "/clerk/claim-next", "/clerk/claim-next", {}, (302, "/clerk/")),
            ("GET", "/clerk/walk-in", "/clerk/walk-in", None, 200),
            ("GET", "/clerk/appointments/", "/clerk/appointments/", None, 200),
            # an empty code: the message at the field
            ("POST", "/clerk/appointments/check-in", "/clerk/appointments/check-in", {}, 422),
            (
                "POST",
                "/clerk/appointments/no-shows",
                "/clerk/appointments/no-shows",
                {},
                (302, "/clerk/appointments/"),
            ),
            (
                "POST",
                "/clerk/appointments/<int:appointment_id>/serve",
                "/clerk/appointments/999999/serve",
                {},
                404,
            ),
            ("POST", "/clerk/walk-in", "/clerk/walk-in", {}, 422),
            ("GET", "/clerk/applications/<int:application_id>", "/clerk/applications/999999", None, 404),
            (
                "GET",
                "/clerk/applications/<int:application_id>/receipt",
                "/clerk/applications/999999/receipt",
                None,
                404,
            ),
            (
                "GET",
                "/clerk/applications/<int:application_id>/files/<int:document_id>",
                "/clerk/applications/999999/files/1",
                None,
                404,
            ),
            (
                "POST",
                "/clerk/applications/<int:application_id>/documents/<int:document_id>/verdict",
                "/clerk/applications/999999/documents/1/verdict",
                {},
                404,
            ),
            *[
                (
                    "POST",
                    f"/clerk/applications/<int:application_id>/{a}",
                    f"/clerk/applications/999999/{a}",
                    {},
                    404,
                )
                for a in (
                    "claim",
                    "release",
                    "accept",
                    "not-accept",
                    "correction",
                    "approve",
                    "refuse",
                    "transfer",
                    "visit",
                    "pickup",
                    "delivered",
                    "reveal",
                )
            ],
        ]
    },
    ("POST", "/clerk/applications/<int:application_id>/reassign"): Row(
        "/clerk/applications/999999/reassign",
        {
            "anonymous": LOGIN,
            "unit_lead": 404,
            **dict.fromkeys(("citizen", "clerk", "admin", "auditor"), 403),
        },
        {},
    ),
    # a unit lead's sign-off of a second correction (another unit's or a missing one: 404)
    **{
        (method, "/clerk/signoffs/<int:signoff_id>"): Row(
            "/clerk/signoffs/999999",
            {
                "anonymous": LOGIN,
                "unit_lead": 404,
                **dict.fromkeys(("citizen", "clerk", "admin", "auditor"), 403),
            },
            data,
        )
        for method, data in (("GET", None), ("POST", {}))
    },
    ("GET", "/admin/routing/"): Row(
        "/admin/routing/",
        {
            "anonymous": LOGIN,
            "admin": 200,
            **dict.fromkeys(("citizen", "clerk", "unit_lead", "auditor"), 403),
        },
    ),
    ("POST", "/admin/routing/"): Row(
        "/admin/routing/",
        {
            "anonymous": LOGIN,
            "admin": 422,
            **dict.fromkeys(("citizen", "clerk", "unit_lead", "auditor"), 403),
        },
        {},
    ),
    ("POST", "/admin/routing/<int:rule_id>/toggle"): Row(
        "/admin/routing/999999/toggle",
        {
            "anonymous": LOGIN,
            "admin": 404,
            **dict.fromkeys(("citizen", "clerk", "unit_lead", "auditor"), 403),
        },
        {},
    ),
    # audit trail (auditors only; 三权分立)
    **{
        ("GET", rule): Row(
            url,
            {
                "anonymous": LOGIN,
                "auditor": 200,
                **dict.fromkeys(("citizen", "clerk", "unit_lead", "admin"), 403),
            },
        )
        for rule, url in [
            ("/audit", "/audit"),
            ("/audit/<object_type>/<object_id>", "/audit/application/999999"),
            ("/audit/export.csv", "/audit/export.csv"),
        ]
    },
    # catalog administration and staff management (admins only)
    **{
        (m, r): Row(u, _admin_only(status), d)
        for m, r, u, status, d in [
            ("GET", "/admin/catalog/", "/admin/catalog/", 200, None),
            ("GET", "/admin/catalog/new", "/admin/catalog/new", 200, None),
            ("POST", "/admin/catalog/new", "/admin/catalog/new", 422, {}),
            ("GET", _I, _M, 404, None),
            ("POST", _I, _M, 404, {}),
            ("GET", _I + _K + "/new", _M + "/documents/new", 404, None),
            ("POST", _I + _K + "/new", _M + "/documents/new", 404, {}),
            ("GET", _I + _K + "/<int:index>", _M + "/documents/0", 404, None),
            ("POST", _I + _K + "/<int:index>", _M + "/documents/0", 404, {}),
            ("POST", _I + _K + "/<int:index>/delete", _M + "/documents/0/delete", 404, {}),
            ("POST", _I + _K + "/<int:index>/move", _M + "/documents/0/move", 404, {}),
            ("POST", _I + "/publish", _M + "/publish", 404, {}),
            ("POST", _I + "/<any(discard, retire, reinstate):action>", _M + "/retire", 404, {}),
            ("GET", _I + "/preview", _M + "/preview", 404, None),
            ("GET", _I + "/preview/documents", _M + "/preview/documents", 404, None),
            ("GET", _I + "/preview/form", _M + "/preview/form", 404, None),
            ("POST", _I + "/preview/form", _M + "/preview/form", 404, {}),
            ("GET", _I + "/diff", _M + "/diff", 404, None),
            ("GET", "/admin/catalog/export.yaml", "/admin/catalog/export.yaml", 200, None),
            ("GET", "/admin/catalog/export.xlsx", "/admin/catalog/export.xlsx", 200, None),
            ("GET", "/admin/catalog/import", "/admin/catalog/import", 200, None),
            ("POST", "/admin/catalog/import", "/admin/catalog/import", 422, {}),
            ("GET", "/admin/catalog/bundles/", "/admin/catalog/bundles/", 200, None),
            ("GET", "/admin/catalog/bundles/<code>", f"/admin/catalog/bundles/{MISSING}", 404, None),
            ("POST", "/admin/catalog/bundles/<code>", f"/admin/catalog/bundles/{MISSING}", 404, {}),
            ("GET", "/admin/catalog/bundles/new", "/admin/catalog/bundles/new", 200, None),
            ("POST", "/admin/catalog/bundles/new", "/admin/catalog/bundles/new", 422, {}),
            (
                "POST",
                "/admin/catalog/bundles/<code>/delete",
                f"/admin/catalog/bundles/{MISSING}/delete",
                404,
                {},
            ),
            # 一件事 flows and the external departments register (issue 22)
            (
                "GET",
                "/admin/catalog/bundles/<code>/flow",
                f"/admin/catalog/bundles/{MISSING}/flow",
                404,
                None,
            ),
            ("POST", "/admin/catalog/bundles/<code>/flow", f"/admin/catalog/bundles/{MISSING}/flow", 404, {}),
            (
                "POST",
                "/admin/catalog/bundles/<code>/flow/publish",
                f"/admin/catalog/bundles/{MISSING}/flow/publish",
                404,
                {},
            ),
            (
                "POST",
                "/admin/catalog/bundles/<code>/flow/discard",
                f"/admin/catalog/bundles/{MISSING}/flow/discard",
                404,
                {},
            ),
            (
                "GET",
                "/admin/catalog/bundles/<code>/flow/preview",
                f"/admin/catalog/bundles/{MISSING}/flow/preview",
                404,
                None,
            ),
            ("GET", "/admin/catalog/departments/", "/admin/catalog/departments/", 200, None),
            ("GET", "/admin/catalog/departments/new", "/admin/catalog/departments/new", 200, None),
            ("POST", "/admin/catalog/departments/new", "/admin/catalog/departments/new", 422, {}),
            ("GET", "/admin/catalog/departments/<code>", f"/admin/catalog/departments/{MISSING}", 404, None),
            ("POST", "/admin/catalog/departments/<code>", f"/admin/catalog/departments/{MISSING}", 404, {}),
            # 智能咨询's unanswered questions and the 改进清单 (issue 24)
            ("GET", "/admin/ask/questions", "/admin/ask/questions", 200, None),
            (
                "POST",
                "/admin/ask/questions/<int:question_id>/resolve",
                "/admin/ask/questions/999999/resolve",
                404,
                {},
            ),
            (
                "POST",
                "/admin/ask/questions/<int:question_id>/dismiss",
                "/admin/ask/questions/999999/dismiss",
                404,
                {},
            ),
            ("GET", "/admin/guide-fixes/", "/admin/guide-fixes/", 200, None),
            ("GET", "/admin/guide-fixes/<code>", f"/admin/guide-fixes/{MISSING}", 404, None),
            ("GET", "/admin/correction-reasons/", "/admin/correction-reasons/", 200, None),
            ("POST", "/admin/correction-reasons/", "/admin/correction-reasons/", 422, {}),
            (
                "POST",
                "/admin/correction-reasons/<int:reason_id>",
                "/admin/correction-reasons/999999",
                404,
                {},
            ),
            (
                "POST",
                "/admin/correction-reasons/<int:reason_id>/delete",
                "/admin/correction-reasons/999999/delete",
                404,
                {},
            ),
            ("GET", "/admin/calendar/", "/admin/calendar/", 200, None),
            ("POST", "/admin/calendar/", "/admin/calendar/", 422, {}),
            ("POST", "/admin/calendar/<int:override_id>/delete", "/admin/calendar/999999/delete", 404, {}),
            ("GET", "/admin/calendar/years/", "/admin/calendar/years/", 200, None),
            ("GET", "/admin/calendar/years/<int:year>", "/admin/calendar/years/2027", 200, None),
            ("POST", "/admin/calendar/years/<int:year>", "/admin/calendar/years/2027", 422, {}),
            ("GET", "/admin/units/", "/admin/units/", 200, None),
            ("GET", "/admin/units/new", "/admin/units/new", 200, None),
            ("POST", "/admin/units/new", "/admin/units/new", 422, {}),
            ("GET", "/admin/units/<code>", f"/admin/units/{MISSING}", 404, None),
            ("POST", "/admin/units/<code>", f"/admin/units/{MISSING}", 404, {}),
            ("GET", "/admin/staff/", "/admin/staff/", 200, None),
            ("GET", "/admin/staff/new", "/admin/staff/new", 200, None),
            ("POST", "/admin/staff/new", "/admin/staff/new", 422, {}),
            ("GET", "/admin/staff/<int:user_id>", "/admin/staff/999999", 404, None),
            ("POST", "/admin/staff/<int:user_id>", "/admin/staff/999999", 404, {}),
            (
                "POST",
                "/admin/staff/<int:user_id>/<any(disable, enable):what>",
                "/admin/staff/999999/disable",
                404,
                {},
            ),
            ("POST", "/admin/staff/<int:user_id>/password", "/admin/staff/999999/password", 404, {}),
            ("GET", "/admin/appointments/", "/admin/appointments/", 200, None),
            ("GET", "/admin/appointments/<code>", f"/admin/appointments/{MISSING}", 404, None),
            ("POST", "/admin/appointments/<code>", f"/admin/appointments/{MISSING}", 404, {}),
            (
                "POST",
                "/admin/appointments/<code>/exceptions",
                f"/admin/appointments/{MISSING}/exceptions",
                404,
                {},
            ),
            (
                "POST",
                "/admin/appointments/<code>/groups",
                f"/admin/appointments/{MISSING}/groups",
                404,
                {},
            ),
            (
                "GET",
                "/admin/appointments/<code>/groups/<int:group_id>",
                f"/admin/appointments/{MISSING}/groups/1",
                404,
                None,
            ),
            (
                "POST",
                "/admin/appointments/<code>/groups/<int:group_id>",
                f"/admin/appointments/{MISSING}/groups/1",
                404,
                {},
            ),
            (
                "POST",
                "/admin/appointments/<code>/groups/<int:group_id>/delete",
                f"/admin/appointments/{MISSING}/groups/1/delete",
                404,
                {},
            ),
            (
                "POST",
                "/admin/appointments/<code>/hours/<int:hours_id>/delete",
                f"/admin/appointments/{MISSING}/hours/1/delete",
                404,
                {},
            ),
            (
                "POST",
                "/admin/appointments/<code>/exceptions/<int:exception_id>/delete",
                f"/admin/appointments/{MISSING}/exceptions/1/delete",
                404,
                {},
            ),
            # scheduled jobs (an unknown job: 404)
            ("GET", "/admin/jobs/", "/admin/jobs/", 200, None),
            ("POST", "/admin/jobs/<name>/run", f"/admin/jobs/{MISSING}/run", 404, {}),
        ]
    },
    # statistics
    **{
        ("GET", rule): Row(
            url,
            {
                "anonymous": LOGIN,
                "citizen": 403,
                "clerk": 403,
                "unit_lead": 200,
                "admin": 200,
                "auditor": 200,
            },
        )
        for rule, url in [
            ("/stats", "/stats"),
            ("/stats/drill", "/stats/drill"),
            ("/stats/appointments", "/stats/appointments"),
            ("/stats/reform", "/stats/reform"),
            ("/stats/export.csv", "/stats/export.csv"),
            ("/stats/export.xlsx", "/stats/export.xlsx"),
            ("/stats/bundles", "/stats/bundles"),
            ("/stats/bundles/drill", "/stats/bundles/drill"),
        ]
    },
    ("GET", "/stats/public"): Row("/stats/public", every(200)),
    ("GET", "/api/v1/stats"): Row("/api/v1/stats", every(200)),
    ("GET", "/api/v1/stats/bundles"): Row("/api/v1/stats/bundles", every(200)),
    # 好差评
    ("GET", "/applications/<int:application_id>/rate"): Row(
        "/applications/999999/rate", {"anonymous": LOGIN, "citizen": 404, **dict.fromkeys(STAFF, 403)}
    ),
    ("POST", "/applications/<int:application_id>/rate"): Row(
        "/applications/999999/rate", {"anonymous": LOGIN, "citizen": 404, **dict.fromkeys(STAFF, 403)}, {}
    ),
    # 一件事: the citizen's bundle pages (a foreign or missing id is 404 alike)
    ("GET", "/my/bundles/<int:bundle_id>"): Row(
        "/my/bundles/999999", {"anonymous": LOGIN, "citizen": 404, **dict.fromkeys(STAFF, 403)}
    ),
    ("GET", "/my/bundles/<int:bundle_id>/corrections"): Row(
        "/my/bundles/999999/corrections", {"anonymous": LOGIN, "citizen": 404, **dict.fromkeys(STAFF, 403)}
    ),
    ("POST", "/my/bundles/<int:bundle_id>/corrections"): Row(
        "/my/bundles/999999/corrections",
        {"anonymous": LOGIN, "citizen": 404, **dict.fromkeys(STAFF, 403)},
        {},
    ),
    ("POST", "/my/bundles/<int:bundle_id>/rate"): Row(
        "/my/bundles/999999/rate", {"anonymous": LOGIN, "citizen": 404, **dict.fromkeys(STAFF, 403)}, {}
    ),
    ("GET", "/ratings/follow-ups"): Row(
        "/ratings/follow-ups",
        {
            "anonymous": LOGIN,
            "unit_lead": 200,
            **dict.fromkeys(("citizen", "clerk", "admin", "auditor"), 403),
        },
    ),
    ("GET", "/ratings/follow-ups/<int:follow_up_id>"): Row(
        "/ratings/follow-ups/999999",
        {
            "anonymous": LOGIN,
            "unit_lead": 404,
            **dict.fromkeys(("citizen", "clerk", "admin", "auditor"), 403),
        },
    ),
    ("POST", "/ratings/follow-ups/<int:follow_up_id>"): Row(
        "/ratings/follow-ups/999999",
        {
            "anonymous": LOGIN,
            "unit_lead": 404,
            **dict.fromkeys(("citizen", "clerk", "admin", "auditor"), 403),
        },
        {},
    ),
    ("GET", "/me/messages"): Row("/me/messages", split(LOGIN, 200)),
    # 预约: the public slots API (an unknown item: 404 JSON), the citizen's booking pages (a missing item
    # or someone else's booking answers 404, staff get 403)
    ("GET", "/api/v1/appointments/slots"): Row(
        f"/api/v1/appointments/slots?item={MISSING}&from=2027-01-04&to=2027-01-05", every(404)
    ),
    **{
        (method, rule): Row(url, {"anonymous": LOGIN, "citizen": 404, **dict.fromkeys(STAFF, 403)}, data)
        for method, rule, url, data in [
            ("GET", "/items/<code>/book", f"/items/{MISSING}/book", None),
            ("POST", "/items/<code>/book", f"/items/{MISSING}/book", {}),
            ("GET", "/me/appointments/<int:appointment_id>", "/me/appointments/999999", None),
            (
                "GET",
                "/me/appointments/<int:appointment_id>/calendar.ics",
                "/me/appointments/999999/calendar.ics",
                None,
            ),
            ("GET", "/me/appointments/<int:appointment_id>/cancel", "/me/appointments/999999/cancel", None),
            ("POST", "/me/appointments/<int:appointment_id>/cancel", "/me/appointments/999999/cancel", {}),
            ("GET", "/me/appointments/<int:appointment_id>/move", "/me/appointments/999999/move", None),
            ("POST", "/me/appointments/<int:appointment_id>/move", "/me/appointments/999999/move", {}),
        ]
    },
    ("GET", "/me/appointments"): Row(
        "/me/appointments", {"anonymous": LOGIN, "citizen": 200, **dict.fromkeys(STAFF, 403)}
    ),
    ("GET", "/applications/<int:application_id>/files/<int:document_id>"): Row(
        "/applications/999999/files/1", split(LOGIN, 404)
    ),
    # 电子证照: the key set and verification are public (an empty form: 422 at the field; a body that is
    # not JSON: 400); the citizen's certificate pages answer 404 for a missing or foreign id
    ("GET", "/.well-known/ecert-keys.json"): Row("/.well-known/ecert-keys.json", every(200)),
    ("GET", "/verify"): Row("/verify", every(200)),
    ("POST", "/verify"): Row("/verify", every(422), {}),
    ("POST", "/api/v1/ecert/verify"): Row("/api/v1/ecert/verify", every(400), {}),
    ("GET", "/me/ecerts/<int:cert_id>"): Row(
        "/me/ecerts/999999", {"anonymous": LOGIN, "citizen": 404, **dict.fromkeys(STAFF, 403)}
    ),
    ("GET", "/me/ecerts/<int:cert_id>/qr.png"): Row(
        "/me/ecerts/999999/qr.png", {"anonymous": LOGIN, "citizen": 404, **dict.fromkeys(STAFF, 403)}
    ),
    ("POST", "/me/ecerts/<int:cert_id>/share"): Row(
        "/me/ecerts/999999/share", {"anonymous": LOGIN, "citizen": 404, **dict.fromkeys(STAFF, 403)}, {}
    ),
    # a one-time link that does not exist (or was used, or expired) is gone for everybody
    ("GET", "/verify/s/<token>"): Row("/verify/s/no-such-token", every(410)),
    ("POST", "/verify/s/<token>"): Row("/verify/s/no-such-token", every(410), {}),
    ("GET", "/admin/ecerts/"): Row("/admin/ecerts/", _admin_only(200)),
    ("GET", "/admin/ecerts/<int:cert_id>/revoke"): Row("/admin/ecerts/999999/revoke", _admin_only(404)),
    ("POST", "/admin/ecerts/<int:cert_id>/revoke"): Row("/admin/ecerts/999999/revoke", _admin_only(404), {}),
    ("GET", "/admin/ecerts/sources"): Row("/admin/ecerts/sources", _admin_only(200)),
    ("POST", "/admin/ecerts/sources"): Row("/admin/ecerts/sources", _admin_only(422), {}),
    # 一件事 exchange: the contracts are public; the callback answers a department's signature only
    # (no login helps: unsigned is 401 for everybody)
    ("GET", "/exchange/contracts"): Row("/exchange/contracts", every(200)),
    ("POST", "/api/v1/exchange/<department>/callback"): Row("/api/v1/exchange/wsjk/callback", every(401), {}),
}


def _served(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_is_in_the_table(app):
    served = _served(app)
    missing = sorted(served - TABLE.keys())
    assert missing == [], f"add these routes to TABLE in tests/test_route_matrix.py: {missing}"
    stale = sorted(TABLE.keys() - served)
    assert stale == [], f"these rows name routes that no longer exist: {stale}"


def test_every_row_covers_every_role():
    for key, row in TABLE.items():
        assert set(row.expected) == set(ROLES), key


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", list(TABLE), ids=[f"{m} {r}" for m, r in TABLE])
def test_role_route_status(app, client, role, key):
    method, _rule = key
    row = TABLE[key]
    login_as(app, client, role)
    response = client.open(row.url, method=method, data=row.data)
    expected = row.expected[role]
    status, location = expected if isinstance(expected, tuple) else (expected, None)
    assert response.status_code == status, f"{role} {method} {row.url}: {response.status_code}"
    if location is not None:
        assert response.headers["Location"].startswith(location), response.headers["Location"]
    if status >= 400 and not row.url.startswith("/api/"):
        assert '<html lang="zh-CN">' in response.text


GET_ONLY = [k for k in TABLE if k[0] == "GET" and ("POST", k[1]) not in TABLE]


@pytest.mark.parametrize("key", GET_ONLY, ids=[k[1] for k in GET_ONLY])
def test_post_to_a_get_only_route_is_refused(client, key):
    """A page that only shows things answers POST with 405, so nothing changes by accident."""
    response = client.post(TABLE[key].url, data={})
    assert response.status_code == 405


# Every query parameter any page reads (filters, cursors, paging, redirects), for the probe below.
QUERY_NAMES = (
    "q",
    "page",
    "per_page",
    "next",
    "category",
    "metric",
    "key",
    "table",
    "v",
    "before",
    "after",
    "a",
    "b",
    "depth",
    "status",
    "draft",
    "tab",
    "item",
    "channel",
    "date_from",
    "date_to",
    "from",
    "to",
    "by",
    "ref",
    "actor",
    "action",
    "object_type",
    "object_id",
    "unit",
    "district",
    "code",
)
GET_ROWS = [k for k in TABLE if k[0] == "GET"]


@pytest.mark.parametrize("role", ROLES)
def test_a_nul_byte_in_any_query_parameter_never_makes_a_500(app, client, role):
    """PostgreSQL refuses text with a NUL byte: no query parameter may carry one to the database."""
    login_as(app, client, role)
    failed = []
    for _method, rule in GET_ROWS:
        url = TABLE[("GET", rule)].url
        for value in ("a\x00b", "\x00"):
            query = urlencode(dict.fromkeys(QUERY_NAMES, value))
            response = client.get(f"{url}{'&' if '?' in url else '?'}{query}")
            if response.status_code >= 500:
                failed.append(f"GET {url} ({value!r})")
    assert failed == []


def _form_field_names() -> set[str]:
    """Every field name of every form class the app defines."""
    from flask_wtf import FlaskForm

    names, todo = set(), [FlaskForm]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        names.update(
            getattr(value, "kwargs", {}).get("name") or key
            for key, value in vars(cls).items()
            if hasattr(value, "field_class")
        )
    return names


POST_ROWS = [k for k in TABLE if k[0] == "POST"]


@pytest.mark.parametrize("role", ROLES)
def test_a_nul_byte_in_any_form_field_never_makes_a_500(app, client, role):
    """Every form the app posts, with every field name any form has, each holding a NUL byte."""
    login_as(app, client, role)
    names = _form_field_names()
    assert {"identifier", "reason", "ref", "to_unit"} <= names
    failed = []
    for _method, rule in POST_ROWS:
        row = TABLE[("POST", rule)]
        for value in ("a\x00b", "\x00"):
            response = client.post(row.url, data={**(row.data or {}), **dict.fromkeys(names, value)})
            if response.status_code >= 500:
                failed.append(f"POST {row.url} ({value!r})")
    assert failed == []
