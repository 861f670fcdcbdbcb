"""The API's manners that need an app of their own (a route added, rate limits on): on PostgreSQL such
an app's database is emptied after each test, so these stay apart from the shared demo app's module."""

from __future__ import annotations

from core.apidocs import api_rules, build_document


def test_an_undeclared_route_would_be_caught(make_app):
    app = make_app()
    app.add_url_rule("/api/v1/secret", "secret", lambda: {"x": 1})
    described = build_document(app)["paths"]
    assert "/api/v1/secret" not in described
    assert any(rule.rule == "/api/v1/secret" for rule, _ in api_rules(app))


def test_a_fault_is_a_json_500(make_app):
    app = make_app()

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("bug")

    response = app.test_client().get("/api/v1/boom")
    assert response.status_code == 500 and response.mimetype == "application/json"
    assert response.get_json()["code"] == "internal_error"


def test_rate_limits_are_announced(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    first = client.get("/api/v1/categories")
    assert first.headers["RateLimit-Limit"] == "600"
    assert int(first.headers["RateLimit-Remaining"]) == 599
    assert 0 <= int(first.headers["RateLimit-Reset"]) <= 61  # seconds from now, not a timestamp
    assert "X-RateLimit-Limit" not in first.headers


def test_the_documented_429_is_the_real_one(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    example = document["components"]["responses"]["429"]["content"]["application/json"]["example"]
    client = app.test_client()
    # distinct URLs: an answer the page cache already holds costs nothing and is not counted
    statuses = [client.get(f"/api/v1/items?page={n}").status_code for n in range(1, 601)]
    assert statuses == [200] * 600
    response = client.get("/api/v1/items?page=601")
    assert response.get_json() == example and int(response.headers["Retry-After"]) > 0
