"""The public catalog pages through the test client: every demo item's guide, the category filters,
the document fragment, the one-time notice, search results and the no-match page, bundles, 404s."""

from __future__ import annotations

import html
import re

import pytest

from catalog.guide import build_guide
from catalog.queries import catalog
from tests.catalog.helpers import all_items, demo_files

ITEM_LINK = re.compile(r'href="/items/([A-Z0-9-]+)"')


@pytest.fixture(scope="module")
def app(demo_app):
    """These tests only read: they share one app with the demo catalog loaded (``client`` follows)."""
    return demo_app


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def section(text: str, testid: str, tag: str) -> str:
    """The inner HTML of the element carrying ``data-testid``."""
    match = re.search(rf'<{tag}[^>]*data-testid="{testid}"[^>]*>(.*?)</{tag}>', text, re.S)
    assert match, f"no {tag} with data-testid={testid}"
    return match.group(1)


def doc_names(fragment: str) -> list[str]:
    return [
        html.unescape(n) for n in re.findall(r'<span class="fw-semibold doc-name">([^<]+)</span>', fragment)
    ]


def test_every_item_page_renders_with_its_documents(app, client):
    with app.app_context():
        snap = catalog()
    assert len(snap.items) == 79
    for code, item in snap.items.items():
        guide = build_guide(item)
        response = client.get(f"/items/{code}")
        assert response.status_code == 200, code
        text = text_of(response)
        assert item.name in text and item.legal_basis in text, code
        listed = doc_names(section(text, "doc-list", "ol"))
        assert listed == [d.name for d in guide.to_bring], code
        fetched = re.findall(r"<li>(.*?)</li>", section(text, "fetched-list", "ul")) if guide.fetched else []
        assert fetched == [f"{d.name}（{d.issuer}）" for d in guide.fetched], code
        assert listed or fetched, f"{code} shows no document"
        for s in item.situations:
            assert s.question in text, code
        assert client.get(f"/items/{code}/notice").status_code == 200, code
        assert client.get(f"/items/{code}/documents").status_code == 200, code


def test_home_page(client):
    text = text_of(client.get("/"))
    assert 'role="search"' in text
    for name in ("户籍", "车驾管", "出入境", "治安管理", "出生一件事", "普通护照签发"):
        assert name in text
    assert "已上线 79 个事项" in text


# Category filters, checked against the raw data ------------------------------------------------


def _expected(category: str, keep) -> set[str]:
    return {i["code"] for i in all_items(demo_files()) if i["category"] == category and keep(i)}


def _free(i) -> bool:
    fees = [o.get("fee") for s in i.get("situations") or [] for o in s["options"]]
    return i.get("fee", 0) == 0 and all(f in (None, 0) for f in fees)


FILTER_CASES = {
    "": lambda i: True,
    "f=zero_visit": lambda i: i["visits"] == 0,
    "f=online": lambda i: i["online_depth"] >= 4,
    "f=instant": lambda i: i["instant"],
    "f=free": _free,
    "depth=5": lambda i: i["online_depth"] == 5,
    "depth=4": lambda i: i["online_depth"] >= 4,
    "f=zero_visit&f=instant": lambda i: i["visits"] == 0 and i["instant"],
    "f=free&depth=5": lambda i: _free(i) and i["online_depth"] == 5,
}


def test_category_filters_list_only_matching_items(client):
    for category in ("huji", "vehicle", "exit_entry", "public_order"):
        for query, keep in FILTER_CASES.items():
            response = client.get(f"/category/{category}?{query}")
            assert response.status_code == 200
            listed = ITEM_LINK.findall(response.get_data(as_text=True))
            assert len(listed) == len(set(listed)), query
            assert set(listed) == _expected(category, keep), f"{category}?{query}"
            assert f"共 {len(listed)} 个事项" in text_of(response)


def test_the_filters_are_not_vacuous():
    """Each filter keeps some items and drops others somewhere in the catalog."""
    for query, keep in FILTER_CASES.items():
        if not query:
            continue
        kept = set().union(*(_expected(c, keep) for c in ("huji", "vehicle", "exit_entry", "public_order")))
        assert 0 < len(kept) < 79, query


def test_an_unknown_filter_or_depth_is_ignored(client):
    everything = set(ITEM_LINK.findall(client.get("/category/huji").get_data(as_text=True)))
    for query in ("f=nonsense", "depth=9", "depth=x"):
        listed = set(ITEM_LINK.findall(client.get(f"/category/huji?{query}").get_data(as_text=True)))
        assert listed == everything, query


# The guide's fragment, the no-JS form submit and the notice --------------------------------------


def test_documents_fragment_follows_the_answers(client):
    self_ = client.get("/items/LJ-HJ-019/documents?applicant=self")
    proxy = client.get("/items/LJ-HJ-019/documents?applicant=proxy")
    assert self_.status_code == proxy.status_code == 200
    assert "<html" not in proxy.get_data(as_text=True), "a fragment, not a page"
    assert doc_names(text_of(self_)) == ["申请人居民身份证"]
    assert doc_names(text_of(proxy)) == [
        "申请人居民身份证",
        "代办人居民身份证及与当事人的关系证明",
        "当事人签名的委托书",
    ]
    assert re.search(r'href="/items/LJ-HJ-019/notice\?[^"]*applicant=proxy', text_of(proxy))


def test_without_javascript_the_form_submit_gives_the_same_list(client):
    text = text_of(client.get("/items/LJ-HJ-019?applicant=proxy&purpose=history"))
    assert doc_names(section(text, "doc-list", "ol")) == [
        "申请人居民身份证",
        "历史户籍用途说明（如继承公证、拆迁安置等）",
        "代办人居民身份证及与当事人的关系证明",
        "当事人签名的委托书",
    ]
    assert re.search(r'id="s-applicant-proxy"\s+value="proxy"\s+checked', text)
    assert text.count("更新材料清单") == 1, "one submit button for the no-JS path"
    assert not re.search(r'id="s-applicant-self"\s+value="self"\s+checked', text)


NOTICE_CASES = [
    ("LJ-CR-005", {"endorsement": "personal_twice", "staff": "ordinary"}),
    ("LJ-HJ-006", {"applicant": "proxy", "marriage": "unmarried", "follow": "father"}),
    ("LJ-CJ-006", {"count": "both"}),
    ("LJ-HJ-019", {}),
]


def test_the_notice_shows_exactly_the_guides_documents_and_fee(app, client):
    for code, answers in NOTICE_CASES:
        with app.app_context():
            guide = build_guide(catalog().items[code], answers)
        text = text_of(client.get(f"/items/{code}/notice", query_string=answers))
        rows = re.findall(r"<tr><td>\d+</td><td>([^<]+)</td>", section(text, "notice-docs", "tbody"))
        expected = [
            d.name + ("" if d.requirement == "required" else f"（{_requirement(d.requirement)}）")
            for d in guide.to_bring
        ]
        assert rows == expected, code
        fee = section(text, "notice-fee", "td")
        assert fee.startswith("免费" if guide.fee == 0 else f"{guide.fee:.2f} 元"), code
        for situation, label in guide.chosen:
            assert f'<th scope="row">{situation.question}</th><td>{label}</td>' in text, code
        fetched = "、".join(d.name for d in guide.fetched)
        assert (fetched in text) if fetched else "部门共享获取" not in text, code


def _requirement(value: str) -> str:
    return {"optional": "可选", "deferrable": "容缺后补"}[value]


def test_the_notice_fee_follows_the_answer(client):
    assert section(text_of(client.get("/items/LJ-CR-005/notice")), "notice-fee", "td").startswith("60.00 元")
    text = text_of(client.get("/items/LJ-CR-005/notice?endorsement=personal_twice"))
    assert section(text, "notice-fee", "td").startswith("90.00 元")


# Search pages -----------------------------------------------------------------------------------


def test_search_results_highlight_the_matched_words(client):
    text = client.get("/search", query_string={"q": "护照"}).get_data(as_text=True)
    results = section(text, "results", "ol")
    assert ITEM_LINK.findall(results)[0] == "LJ-CR-001"
    assert "普通<mark>护照</mark>签发" in results
    alias = client.get("/search", query_string={"q": "驾照"}).get_data(as_text=True)
    assert ITEM_LINK.findall(section(alias, "results", "ol"))[0] == "LJ-CJ-011"
    assert "也叫：<mark>驾照</mark>" in alias


def test_search_shows_a_matching_bundle(client):
    text = client.get("/search", query_string={"q": "孩子出生"}).get_data(as_text=True)
    assert 'href="/bundles/LJ-YJS-001"' in text


def test_a_search_matching_nothing_shows_the_helpful_page(app, client):
    response = client.get("/search", query_string={"q": "火星移民"})
    assert response.status_code == 200
    text = text_of(response)
    assert "没有找到与“火星移民”相关的事项" in text
    for code in ("huji", "vehicle", "exit_entry", "public_order"):
        assert f'href="/category/{code}"' in text
    assert f'href="tel:{app.config["CONSULT_PHONE"]}"' in text
    assert ITEM_LINK.findall(text), "suggests the most-used items"
    assert 'data-testid="results"' not in text


def test_the_search_page_escapes_the_query(client):
    text = client.get("/search", query_string={"q": "<script>alert(1)</script>"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text


# Bundles and 404s --------------------------------------------------------------------------------


def test_bundle_pages_list_their_items(client):
    for bundle in demo_files()["bundles.yaml"]["bundles"]:
        response = client.get(f"/bundles/{bundle['code']}")
        assert response.status_code == 200
        text = text_of(response)
        assert bundle["name"] in text
        assert ITEM_LINK.findall(text) == bundle["items"]
        for partner in bundle["partners"]:
            assert partner in text


@pytest.mark.parametrize(
    "url",
    [
        "/items/LJ-XX-999",
        "/items/LJ-XX-999/documents",
        "/items/LJ-XX-999/notice",
        "/category/nope",
        "/bundles/LJ-YJS-999",
    ],
)
def test_unknown_codes_are_404(client, url):
    assert client.get(url).status_code == 404
    assert client.get(url).status_code == 404  # also when the answer comes from the page cache
