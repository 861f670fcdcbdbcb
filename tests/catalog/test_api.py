"""The public JSON API (/api/v1): its shape, its parameters and errors, its cache headers, and that
it serves the same data as the pages."""

from __future__ import annotations

import html
import re

import pytest

SUMMARY_KEYS = {
    "code",
    "name",
    "category",
    "online_depth",
    "visits_required",
    "promised_days",
    "legal_days",
    "fee",
    "instant",
    "url",
}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def app(demo_app):
    """These tests only read: they share one app with the demo catalog loaded (``client`` follows)."""
    return demo_app


def test_items_lists_the_catalog(client):
    response = client.get("/api/v1/items?per_page=100")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert {"items", "total"} <= set(body)
    assert body["total"] == 79 and len(body["items"]) == 79
    for item in body["items"]:
        assert set(item) == SUMMARY_KEYS, item["code"]
        assert item["url"] == f"/items/{item['code']}"
        assert item["category"] in {"huji", "vehicle", "exit_entry", "public_order"}
        assert 1 <= item["online_depth"] <= 5 and item["visits_required"] in (0, 1, 2)
        assert 0 <= item["promised_days"] <= item["legal_days"]
        assert isinstance(item["fee"], int | float) and isinstance(item["instant"], bool)
    passport = next(i for i in body["items"] if i["code"] == "LJ-CR-001")
    assert passport == {
        "code": "LJ-CR-001",
        "name": "普通护照签发",
        "category": "exit_entry",
        "online_depth": 4,
        "visits_required": 1,
        "promised_days": 5,
        "legal_days": 15,
        "fee": 120.0,
        "instant": False,
        "url": "/items/LJ-CR-001",
    }


def test_pages_differ_and_the_total_is_stable(client):
    one = client.get("/api/v1/items?page=1&per_page=10").get_json()
    two = client.get("/api/v1/items?page=2&per_page=10").get_json()
    last = client.get("/api/v1/items?page=8&per_page=10").get_json()
    beyond = client.get("/api/v1/items?page=9&per_page=10").get_json()
    assert one["total"] == two["total"] == last["total"] == beyond["total"] == 79
    codes_one = [i["code"] for i in one["items"]]
    codes_two = [i["code"] for i in two["items"]]
    assert len(codes_one) == len(codes_two) == 10 and not set(codes_one) & set(codes_two)
    assert len(last["items"]) == 9 and beyond["items"] == []
    assert (
        client.get("/api/v1/items").get_json()["items"]
        == client.get("/api/v1/items?page=1&per_page=20").get_json()["items"]
    )


def test_q_searches_like_the_search_page(client):
    body = client.get("/api/v1/items", query_string={"q": "护照"}).get_json()
    codes = [i["code"] for i in body["items"]]
    assert codes[0] == "LJ-CR-001"
    assert {"LJ-CR-002", "LJ-CR-003"} <= set(codes)
    assert body["total"] == len(codes) < 79
    assert client.get("/api/v1/items", query_string={"q": "hz"}).get_json()["items"][0]["code"] == "LJ-CR-001"
    assert client.get("/api/v1/items", query_string={"q": "火星移民"}).get_json() == {
        "items": [],
        "total": 0,
        "page": 1,
        "per_page": 20,
    }


def test_category_filters(client):
    body = client.get("/api/v1/items?category=vehicle&per_page=100").get_json()
    assert body["total"] == 20 and {i["category"] for i in body["items"]} == {"vehicle"}
    both = client.get("/api/v1/items", query_string={"q": "丢了", "category": "huji"}).get_json()
    assert both["items"] and {i["category"] for i in both["items"]} == {"huji"}


def test_item_detail_has_documents_with_conditions_and_situations(client):
    response = client.get("/api/v1/items/LJ-HJ-019")
    assert response.status_code == 200
    item = response.get_json()
    assert set(item) >= SUMMARY_KEYS
    assert item["name"] == "户籍证明" and item["url"] == "/items/LJ-HJ-019"
    assert [s["key"] for s in item["situations"]] == ["applicant", "purpose"]
    assert [o["value"] for o in item["situations"][0]["options"]] == ["self", "proxy"]
    assert all("condition" in d for d in item["documents"])
    conditions = {d["name"]: d["condition"] for d in item["documents"]}
    assert conditions["申请人居民身份证"] == {}
    assert conditions["当事人签名的委托书"] == {"applicant": ["proxy"]}
    assert next(d for d in item["documents"] if d["name"] == "户籍档案信息")["source"] == "government"


def test_item_detail_with_answers_includes_the_guide(client):
    item = client.get("/api/v1/items/LJ-CR-005?endorsement=personal_twice").get_json()
    assert item["guide"]["fee"] == 90.0 and item["guide"]["answers"]["endorsement"] == "personal_twice"
    assert "guide" not in client.get("/api/v1/items/LJ-CR-005").get_json()


def test_categories(client):
    body = client.get("/api/v1/categories").get_json()
    cats = body["categories"]
    assert [c["code"] for c in cats] == ["huji", "vehicle", "exit_entry", "public_order"]
    assert [c["name"] for c in cats] == ["户籍", "车驾管", "出入境", "治安管理"]
    assert sum(c["items"] for c in cats) == 79
    assert all(c["url"] == f"/category/{c['code']}" for c in cats)


def test_unknown_code_is_a_json_404(client):
    response = client.get("/api/v1/items/LJ-XX-999")
    assert response.status_code == 404 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == "not_found" and "LJ-XX-999" in body["message"]


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"page": "x"}, "page"),
        ({"page": "0"}, "page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "1000"}, "per_page"),
        ({"per_page": "2.5"}, "per_page"),
        ({"category": "nope"}, "category"),
        ({"q": "护" * 51}, "q"),
    ],
    ids=["page-x", "page-0", "per_page-0", "per_page-1000", "per_page-float", "category", "q-51"],
)
def test_bad_parameters_are_a_json_400_in_chinese(client, query, param):
    response = client.get("/api/v1/items", query_string=query)
    assert response.status_code == 400 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == "bad_request"
    assert param in body["message"] and CHINESE.search(body["message"]), body


def test_q_of_50_characters_is_fine(client):
    assert client.get("/api/v1/items", query_string={"q": "护" * 50}).status_code == 200


def test_a_cdn_may_hold_it_and_revalidate_it(client):
    for url in ("/api/v1/items?q=护照", "/api/v1/items/LJ-CR-001", "/api/v1/categories"):
        first = client.get(url)
        cache_control = first.headers["Cache-Control"]
        assert "public" in cache_control and re.search(r"max-age=\d+", cache_control), url
        etag = first.headers["ETag"]
        assert etag, url
        again = client.get(url)  # from the anonymous page cache
        assert again.status_code == 200 and again.headers["ETag"] == etag and again.data == first.data
        assert "public" in again.headers["Cache-Control"], url
        not_modified = client.get(url, headers={"If-None-Match": etag})
        assert not_modified.status_code == 304 and not_modified.data == b"", url
        assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200, url


def test_304_without_a_warm_page_cache(client):
    etag = client.get("/api/v1/items/LJ-CR-001").headers["ETag"]
    client.application.extensions["page_cache"].clear()
    assert client.get("/api/v1/items/LJ-CR-001", headers={"If-None-Match": etag}).status_code == 304


def test_different_queries_have_different_etags(client):
    a = client.get("/api/v1/items?q=护照").headers["ETag"]
    b = client.get("/api/v1/items?q=驾照").headers["ETag"]
    assert a != b


def test_the_page_shows_what_the_api_says(client):
    for code in ("LJ-CR-001", "LJ-CJ-002", "LJ-HJ-019", "LJ-CR-007", "LJ-CJ-006", "LJ-ZA-008"):
        data = client.get(f"/api/v1/items/{code}").get_json()
        page = client.get(data["url"])
        assert page.status_code == 200, code
        text = html.unescape(page.get_data(as_text=True))
        assert f'<h1 class="h3 mb-2">{data["name"]}</h1>' in text, code
        fee = "免费" if data["fee"] == 0 else f"{data['fee']:.2f} 元"
        assert fee in text, code
        promised = re.search(r'data-testid="promised">([^<]*)<', text).group(1)
        days = "工作日" if data["day_kind"] == "working" else "自然日"
        assert promised == ("即办" if data["instant"] else f"{data['promised_days']}个{days}"), code
        assert f"{data['legal_days']}个{days}" in text, code
        for doc in data["documents"]:
            if not doc["condition"]:
                assert doc["name"] in text, code
