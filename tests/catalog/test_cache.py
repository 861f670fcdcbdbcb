"""The per-worker catalog snapshot and the anonymous page cache: a change made through one worker is
served by another at once; logged-in users never get a cached anonymous page; no N+1 queries."""

from __future__ import annotations

from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import pytest

import catalog.queries as catalog_queries
from catalog.loader import load
from catalog.queries import build_snapshot, catalog
from core.db import db
from tests.auth.helpers import login, make_account
from tests.catalog.helpers import catalog_revision, demo_files, item_in, load_demo, write_catalog
from tests.sql import sql_sent


def count_queries() -> AbstractContextManager[list[tuple[str, Any]]]:
    """Collect the SQL queries the current app's engine runs inside the block (not the explicit
    ``BEGIN`` that the SQLite set-up emits)."""
    return sql_sent(where=lambda statement: statement.strip().upper() not in {"BEGIN", "COMMIT", "ROLLBACK"})


# Two workers --------------------------------------------------------------------------------------


def test_a_change_loaded_through_one_worker_is_served_by_the_other_at_once(make_app, tmp_path):
    worker_a = make_app(CATALOG_CHECK_SECONDS=0)
    worker_b = make_app(CATALOG_CHECK_SECONDS=0)
    with worker_a.app_context():
        load_demo()
    client_b = worker_b.test_client()
    page = client_b.get("/items/LJ-CR-002").get_data(as_text=True)
    assert "120.00 元" in page and "（已修订）" not in page
    api = client_b.get("/api/v1/items/LJ-CR-002")
    assert api.get_json()["fee"] == 120.0
    old_etag = api.headers["ETag"]
    listing = client_b.get("/api/v1/items?q=护照").get_json()
    # both answers now sit in worker B's page cache
    assert client_b.get("/items/LJ-CR-002").get_data(as_text=True) == page

    files = demo_files()
    item = item_in(files, "LJ-CR-002")
    item["fee"] = 130
    item["description"] += "（已修订）"
    with worker_a.app_context():
        result = load(write_catalog(tmp_path / "edited", files))
        db.session.commit()
        assert result.items["updated"] == 1

    page = client_b.get("/items/LJ-CR-002").get_data(as_text=True)
    assert "130.00 元" in page and "（已修订）" in page and "第 2 版" in page
    api = client_b.get("/api/v1/items/LJ-CR-002", headers={"If-None-Match": old_etag})
    assert api.status_code == 200, "the old ETag must not match the new catalog"
    assert api.get_json()["fee"] == 130.0 and api.get_json()["version"] == 2
    new_listing = client_b.get("/api/v1/items?q=护照").get_json()
    fees = {i["code"]: i["fee"] for i in new_listing["items"]}
    assert (
        fees["LJ-CR-002"] == 130.0 and {i["code"]: i["fee"] for i in listing["items"]}["LJ-CR-002"] == 120.0
    )
    with worker_b.app_context():
        assert catalog().items["LJ-CR-002"].fee == Decimal("130")


class FakeClock:
    """A monotonic clock the test moves by hand (``catalog.queries`` reads ``time.monotonic``)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(catalog_queries, "time", fake)
    return fake


def test_with_the_default_check_interval_a_change_shows_within_a_second(make_app, tmp_path, clock):
    worker_a = make_app()
    worker_b = make_app()
    assert "CATALOG_CHECK_SECONDS" not in worker_b.config or worker_b.config["CATALOG_CHECK_SECONDS"] <= 1
    interval = float(worker_b.config.get("CATALOG_CHECK_SECONDS", 1.0))
    with worker_a.app_context():
        load_demo()
    client_b = worker_b.test_client()
    assert "普通护照换发" in client_b.get("/items/LJ-CR-002").get_data(as_text=True)
    files = demo_files()
    item_in(files, "LJ-CR-002")["name"] = "普通护照换发（新）"
    with worker_a.app_context():
        load(write_catalog(tmp_path / "edited", files))
        db.session.commit()
    # Within the interval since worker B last checked, it serves what it has without a query …
    clock.advance(interval * 0.75)
    page = client_b.get("/items/LJ-CR-002").get_data(as_text=True)
    assert "普通护照换发" in page and "普通护照换发（新）" not in page
    # … and once the interval (at most a second) is up, the next request sees the change.
    clock.advance(interval * 0.25)
    assert "普通护照换发（新）" in client_b.get("/items/LJ-CR-002").get_data(as_text=True)


# Logged-in users ---------------------------------------------------------------------------------


def test_a_logged_in_user_never_gets_the_cached_anonymous_page(app, demo):
    anonymous = app.test_client()
    for url in ("/", "/items/LJ-CR-001", "/search?q=护照", "/category/huji"):
        first = anonymous.get(url).get_data(as_text=True)
        assert anonymous.get(url).get_data(as_text=True) == first  # cached now
        assert 'href="/login"' in first

    account = make_account(app, "citizen", real_name="陈晓燕")
    user = app.test_client()
    assert login(user, account.login).status_code == 302
    for url in ("/", "/items/LJ-CR-001", "/search?q=护照", "/category/huji"):
        page = user.get(url).get_data(as_text=True)
        assert "陈晓燕" in page, url
        assert 'href="/login"' not in page, url

    # … and their page is not served to the next anonymous visitor either
    for url in ("/", "/items/LJ-CR-001"):
        page = app.test_client().get(url).get_data(as_text=True)
        assert "陈晓燕" not in page and 'href="/login"' in page


# No N+1 -----------------------------------------------------------------------------------------


SMALL = ["LJ-HJ-006", "LJ-HJ-019", "LJ-CR-001", "LJ-CJ-002", "LJ-ZA-001"]


def test_building_the_snapshot_takes_the_same_queries_for_5_or_72_items(app_ctx, tmp_path):
    files = demo_files()
    small = {
        "units.yaml": files["units.yaml"],
        "items.yaml": {"items": [item_in(files, code) for code in SMALL]},
        "bundles.yaml": {
            "bundles": [b for b in files["bundles.yaml"]["bundles"] if b["items"] == ["LJ-HJ-006"]]
        },
        "departments.yaml": files["departments.yaml"],
    }
    load(write_catalog(tmp_path / "small", small))
    db.session.commit()
    db.session.expunge_all()  # as in a fresh request
    with count_queries() as few:
        snap = build_snapshot(catalog_revision())
    assert len(snap.items) == 5 and len(snap.bundles) == 1

    load_demo()
    db.session.expunge_all()
    with count_queries() as many:
        snap = build_snapshot(catalog_revision())
    assert len(snap.items) == 79 and len(snap.bundles) == 5
    assert len(many) == len(few), many
    assert len(many) <= 12, many


def test_a_warm_item_page_runs_at_most_one_query(make_app):
    app = make_app(CATALOG_CHECK_SECONDS=0)
    with app.app_context():
        load_demo()
    client = app.test_client()
    client.get("/items/LJ-CR-001")  # builds the snapshot and fills the page cache
    with app.app_context(), count_queries() as queries:
        assert client.get("/items/LJ-CR-001").status_code == 200
        assert len(queries) <= 1, queries  # the revision check
        # a page not in the page cache yet is rendered from the snapshot: still no item queries
        queries.clear()
        assert client.get("/items/LJ-HJ-019?applicant=proxy").status_code == 200
        assert client.get("/api/v1/items?q=驾照").status_code == 200
        assert len(queries) <= 2, queries


def test_within_the_check_interval_a_warm_page_runs_no_query(make_app):
    app = make_app(CATALOG_CHECK_SECONDS=60)
    with app.app_context():
        load_demo()
    client = app.test_client()
    client.get("/items/LJ-CR-001")
    with app.app_context(), count_queries() as queries:
        assert client.get("/items/LJ-CR-001").status_code == 200
        assert client.get("/items/LJ-CJ-011").status_code == 200
    assert queries == []


# The micro-cache in front of Flask ----------------------------------------------------------------


def _count_flask_requests(app) -> dict:
    seen = {"n": 0}

    @app.before_request
    def _count():
        seen["n"] += 1

    return seen


# The revision check is made at most once a second; a loaded machine can take longer than that
# between two requests, so the tests that expect a hit give it a minute.
WARM = 60


def test_a_warm_anonymous_page_is_served_in_front_of_flask_with_fresh_headers(make_app):
    app = make_app(CATALOG_CHECK_SECONDS=WARM)
    with app.app_context():
        load_demo()
    seen = _count_flask_requests(app)
    client = app.test_client()
    first = client.get("/items/LJ-CR-001")
    second = client.get("/items/LJ-CR-001")
    assert seen["n"] == 1, "the second request should not have entered Flask"
    assert second.status_code == 200 and second.data == first.data
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert second.headers["Content-Security-Policy"] != first.headers["Content-Security-Policy"]  # new nonce
    for name in ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert second.headers[name] == first.headers[name]
    assert "Cookie" in second.headers["Vary"]


def test_a_session_cookie_always_goes_through_flask(make_app):
    app = make_app()
    with app.app_context():
        load_demo()
    seen = _count_flask_requests(app)
    client = app.test_client()
    client.get("/items/LJ-CR-001")
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], "anything")
    client.get("/items/LJ-CR-001")
    assert seen["n"] == 2


def test_the_micro_cache_steps_aside_when_the_revision_check_is_due(make_app):
    app = make_app(CATALOG_CHECK_SECONDS=0)
    with app.app_context():
        load_demo()
    seen = _count_flask_requests(app)
    client = app.test_client()
    client.get("/items/LJ-CR-001")
    client.get("/items/LJ-CR-001")
    assert seen["n"] == 2


def test_conditional_api_requests_get_304_from_the_micro_cache(make_app):
    app = make_app(CATALOG_CHECK_SECONDS=WARM)
    with app.app_context():
        load_demo()
    seen = _count_flask_requests(app)
    client = app.test_client()
    etag = client.get("/api/v1/items?q=hz").headers["ETag"]
    response = client.get("/api/v1/items?q=hz", headers={"If-None-Match": etag})
    assert response.status_code == 304 and seen["n"] == 1
