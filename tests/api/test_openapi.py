"""The OpenAPI document and the API's manners: every public route described, parameters with limits,
errors as JSON with a machine code, cache and CORS headers, rate limits announced, the readable page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import api as core_api
from core.apidocs import api_rules

CHINESE = re.compile(r"[\u4e00-\u9fff]")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def app(api_app):
    return api_app


@pytest.fixture(scope="module")
def document(api_app):
    return api_app.test_client().get("/api/v1/openapi.json").get_json()


def test_every_public_api_route_is_in_the_document(app, document):
    """A new /api/v1 view without an ``@api.operation`` declaration fails here."""
    missing = []
    for rule, _view in api_rules(app):
        path = re.sub(r"<(?:[a-z_]+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            if method.lower() not in document["paths"].get(path, {}):
                missing.append(f"{method} {rule.rule}")
    assert missing == [], "declare these views with core.api.operation: " + ", ".join(missing)


def test_the_document_is_openapi_3_1_with_a_version(document):
    assert document["openapi"] == "3.1.0"
    assert re.fullmatch(r"\d+\.\d+\.\d+", document["info"]["version"])
    assert document["info"]["version"] == core_api.API_VERSION
    assert {"/api/v1/items", "/api/v1/items/{code}", "/api/v1/categories", "/api/v1/stats"} <= set(
        document["paths"]
    )
    assert "/api/v1/appointments/slots" in document["paths"]


def test_every_operation_describes_its_answers_and_errors(document):
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, op in item.items():
            where = f"{method} {path}"
            assert op["summary"] and CHINESE.search(op["summary"]), where
            assert op["operationId"], where
            assert {"200", "429", "503"} <= set(op["responses"]), where
            if any(p["in"] == "query" and p["name"] != "answers" for p in op["parameters"]):
                assert "400" in op["responses"], where
            for code, answer in op["responses"].items():
                if code.startswith(("4", "5")):
                    assert answer == {"$ref": f"#/components/responses/{code}"}, where
    error = schemas["ErrorBody"]
    assert set(error["required"]) == {"error", "code", "message"}
    assert set(error["properties"]["code"]["enum"]) == set(core_api.ERROR_CODES)
    assert "bad_request" in error["properties"]["error"]["enum"]


def test_parameters_carry_their_limits(document):
    items = {p["name"]: p for p in document["paths"]["/api/v1/items"]["get"]["parameters"]}
    assert items["per_page"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    assert items["page"]["schema"]["minimum"] == 1 and items["page"]["schema"]["maximum"] == 10000
    assert items["q"]["schema"]["maxLength"] == 50 and items["q"]["example"] == "护照"
    assert items["category"]["schema"]["enum"] == ["huji", "vehicle", "exit_entry", "public_order"]
    stats = {p["name"]: p for p in document["paths"]["/api/v1/stats"]["get"]["parameters"]}
    assert stats["by"]["schema"]["enum"] == ["month", "category", "item", "unit"]
    assert stats["from"]["schema"]["format"] == "date" and stats["from"]["schema"]["pattern"].startswith(
        "^20"
    )
    slots = {p["name"]: p for p in document["paths"]["/api/v1/appointments/slots"]["get"]["parameters"]}
    assert slots["item"]["required"] and slots["from"]["required"] and slots["to"]["required"]
    assert not slots["unit"]["required"]


def test_answers_have_schemas_with_required_fields_and_enums(document):
    schemas = document["components"]["schemas"]
    summary = schemas["ItemSummary"]
    assert {"code", "name", "category", "fee", "online_depth"} <= set(summary["required"])
    assert summary["properties"]["online_depth"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 5,
        "description": summary["properties"]["online_depth"]["description"],
        "title": "Online Depth",
    }
    assert summary["properties"]["category"]["enum"] == ["huji", "vehicle", "exit_entry", "public_order"]
    assert summary["additionalProperties"] is False
    detail = schemas["ItemDetail"]
    assert "guide" not in detail["required"]
    document_schema = schemas["DocumentOut"]
    assert document_schema["properties"]["requirement"]["enum"] == ["required", "optional", "deferrable"]
    listing = document["paths"]["/api/v1/items"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["example"]["items"][0]["code"] == "LJ-CR-001"
    assert {"ETag", "Cache-Control", "Link", "RateLimit-Limit"} <= set(listing["headers"])


def test_the_answers_match_the_examples_shape(api, document):
    """The documented example of an item is what the API answers for it."""
    example = document["components"]["schemas"]["ItemSummary"]["examples"][0]
    listing = api.get("/api/v1/items?q=护照").get_json()["items"]
    assert next(i for i in listing if i["code"] == example["code"]) == example


@pytest.mark.parametrize(
    ("url", "field", "code"),
    [
        ("/api/v1/items?page=x", "page", "invalid_integer"),
        ("/api/v1/items?page=", "page", "invalid_integer"),
        ("/api/v1/items?per_page=101", "per_page", "out_of_range"),
        ("/api/v1/items?per_page=0", "per_page", "out_of_range"),
        ("/api/v1/items?category=mars", "category", "invalid_choice"),
        ("/api/v1/items?q=" + "护" * 51, "q", "too_long"),
        ("/api/v1/stats?by=district", "by", "invalid_choice"),
        ("/api/v1/stats?from=2025-13-01", "from", "invalid_date"),
        ("/api/v1/stats?from=1999-12-31", "from", "out_of_range"),
        ("/api/v1/stats?from=2025-10-31&to=2025-09-01", "to", "invalid_range"),
        ("/api/v1/appointments/slots?from=2027-01-04&to=2027-01-05", "item", "missing"),
        ("/api/v1/appointments/slots?item=LJ-CR-001&to=2027-01-05", "from", "missing"),
        ("/api/v1/appointments/slots?item=LJ-CR-001&from=2027-01-01&to=2027-03-01", "to", "invalid_range"),
    ],
)
def test_bad_input_answers_400_with_field_code_and_chinese(api, url, field, code):
    response = api.get(url)
    assert response.status_code == 400 and response.mimetype == "application/json", url
    body = response.get_json()
    assert body["error"] == "bad_request" and body["code"] == code and body["field"] == field, body
    assert CHINESE.search(body["message"]), body


@pytest.mark.parametrize(
    ("method", "url", "status", "code"),
    [
        ("GET", "/api/v1/nothing-here", 404, "not_found"),
        ("GET", "/api/v2/items", 404, "not_found"),
        ("GET", "/api/v1/items/NO-SUCH-CODE", 404, "unknown_item"),
        ("POST", "/api/v1/items", 405, "method_not_allowed"),
        ("DELETE", "/api/v1/categories", 405, "method_not_allowed"),
        ("GET", "/api/v1/stats?by=unit", 403, "login_required"),
    ],
)
def test_no_html_error_page_for_api_clients(api, method, url, status, code):
    response = api.open(url, method=method, headers={"Accept": "text/html"})
    assert response.status_code == status and response.mimetype == "application/json"
    body = response.get_json()
    assert body["code"] == code and CHINESE.search(body["message"]) and b"<html" not in response.data


def test_link_headers_page_through_the_list(api):
    response = api.get("/api/v1/items?category=vehicle&per_page=5&page=2")
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["Link"]))
    assert set(links) == {"first", "prev", "next", "last"}
    assert "page=3" in links["next"] and "page=1" in links["prev"] and "page=4" in links["last"]
    assert "category=vehicle" in links["next"] and "per_page=5" in links["next"]
    nxt = api.get(links["next"]).get_json()
    assert nxt["page"] == 3 and len(nxt["items"]) == 5
    last = api.get("/api/v1/items?category=vehicle&per_page=5&page=4")
    assert 'rel="next"' not in last.headers["Link"]
    first = api.get("/api/v1/items?category=vehicle&per_page=5")
    assert 'rel="prev"' not in first.headers["Link"]


def test_public_reads_allow_any_origin_without_credentials(api):
    response = api.get("/api/v1/items", headers={"Origin": "https://map.example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    again = api.get("/api/v1/items", headers={"Origin": "https://map.example.org"})  # from the page cache
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    preflight = api.options(
        "/api/v1/items",
        headers={"Origin": "https://x.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    assert "POST" not in preflight.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in api.get("/items/LJ-CR-001").headers  # pages: no CORS


def test_stats_answers_carry_an_etag_and_revalidate(api):
    url = "/api/v1/stats?from=2026-01-01&to=2026-01-31&by=category"
    first = api.get(url)
    assert first.status_code == 200 and "public" in first.headers["Cache-Control"]
    etag = first.headers["ETag"]
    assert api.get(url, headers={"If-None-Match": etag}).status_code == 304
    other = api.get("/api/v1/stats?from=2026-01-01&to=2026-02-28&by=category")
    assert other.headers["ETag"] != etag or other.data == first.data


def test_the_openapi_document_itself_revalidates(api):
    first = api.get("/api/v1/openapi.json")
    assert (
        api.get("/api/v1/openapi.json", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    )


def test_the_docs_page_draws_the_document_with_vendored_swagger_ui(api):
    response = api.get("/api/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in scripts
    assert all(src.startswith("/static/") for src in scripts)
    assert not re.search(r'(src|href)="(https?:)?//', html)  # no CDN
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert (ROOT / "static/vendor/swagger-ui" / asset).stat().st_size > 10_000
    assert api.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert "swagger-ui-dist" in (ROOT / "package.json").read_text()


def test_accept_language_picks_english_only_where_a_catalog_exists(monkeypatch):
    from core import i18n

    assert i18n.negotiate(None, "en-US,en;q=0.9") == ("en" if i18n.has_catalog("en") else "zh_CN")
    monkeypatch.setattr(i18n, "has_catalog", lambda code: True)
    assert i18n.negotiate(None, "en-US,en;q=0.9,zh;q=0.5") == "en"
    assert i18n.negotiate(None, "zh-CN,zh;q=0.9,en;q=0.5") == "zh_CN"
    assert i18n.negotiate(None, "fr-FR") == "zh_CN"
    assert i18n.negotiate("zh_CN", "en") == "zh_CN"  # the visitor's own choice wins
    monkeypatch.setattr(i18n, "has_catalog", lambda code: code == "zh_CN")
    assert i18n.negotiate(None, "en") == "zh_CN"


def test_answers_in_each_language_are_cached_apart(api, monkeypatch):
    from core import i18n

    monkeypatch.setattr(i18n, "has_catalog", lambda code: True)
    for _ in range(2):  # the second round comes from the page caches
        zh = api.get("/api/v1/categories", headers={"Accept-Language": "zh-CN"})
        en = api.get("/api/v1/categories", headers={"Accept-Language": "en"})
        assert zh.headers["Content-Language"] == "zh-CN" and en.headers["Content-Language"] == "en"
        assert "Accept-Language" in zh.headers["Vary"]
    bad = api.get("/api/v1/items?page=x", headers={"Accept-Language": "en"})
    assert bad.headers["Content-Language"] == "en" and bad.get_json()["code"] == "invalid_integer"


@pytest.mark.parametrize(
    ("status", "url"),
    [
        (400, "/api/v1/items?per_page=101"),
        (404, "/api/v1/items/LJ-XX-999"),
        (403, "/api/v1/stats?by=item"),
    ],
)
def test_the_documented_error_examples_are_real_answers(api, document, status, url):
    example = document["components"]["responses"][str(status)]["content"]["application/json"]["example"]
    response = api.get(url)
    assert response.status_code == status and response.get_json() == example


def test_an_undocumented_error_code_is_refused_at_once():
    with pytest.raises(ValueError, match="undocumented"):
        core_api.ApiError(400, "made_up", "参数有误")
