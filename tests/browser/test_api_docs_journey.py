"""/api/docs in Debian's chromium: Swagger UI (vendored) draws the generated OpenAPI document under the
portal's strict CSP (no console error — a CSP violation is one), lists every operation and shows an
operation's parameters with their limits; the JSON link serves the document."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.catalog.helpers import load_demo

pytestmark = pytest.mark.browser


def test_the_docs_page_shows_every_operation(live_server, page, screenshot):
    with live_server.app.app_context():
        load_demo()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))

    page.goto(f"{live_server.url}/api/docs")
    expect(page.get_by_role("heading", name="公开接口文档")).to_be_visible()
    operations = page.locator(".opblock-summary-path")
    expect(operations.first).to_be_visible()
    paths = set(operations.all_inner_texts())
    for path in ("/api/v1/items", "/api/v1/items/{code}", "/api/v1/categories", "/api/v1/stats"):
        assert any(path in p for p in paths), paths
    page.locator(".opblock-summary-path", has_text="/api/v1/items").first.click()
    expect(page.locator(".parameters").first).to_contain_text("per_page")
    screenshot(page, "api-docs")
    assert errors == []
    assert all(url.startswith(live_server.url) or url.startswith("data:") for url in requests), requests

    document = page.request.get(f"{live_server.url}/api/v1/openapi.json").json()
    assert document["openapi"] == "3.1.0"
