"""Catalog content in English (issue 23): English fields with a fallback to Chinese, the
missing-English check for foreigner-facing items, and English search through the same index."""

from __future__ import annotations

import pytest

from catalog import english
from catalog.loader import load
from catalog.queries import catalog
from core.db import db
from tests.conftest import ROOT

# What a foreigner types → the item that must come first.
ENGLISH_QUERIES = [
    ("visa extension", "LJ-CR-010"),
    ("Visa Extensions", "LJ-CR-010"),
    ("extend my visa", "LJ-CR-010"),
    ("residence permit", "LJ-CR-010"),
    ("residence permits", "LJ-CR-010"),
    ("work residence permit", "LJ-CR-010"),
    ("student residence permit", "LJ-CR-010"),
    ("family reunion residence permit", "LJ-CR-010"),
    ("dependant visa", "LJ-CR-010"),  # British spelling
    ("dependent visa", "LJ-CR-010"),  # American spelling
    ("accommodation registration", "LJ-CR-011"),
    ("registration of residence", "LJ-CR-011"),
    ("temporary residence registration", "LJ-CR-011"),
    ("landlord registration", "LJ-CR-011"),
    ("foreign tenant", "LJ-CR-011"),
]


@pytest.fixture
def loaded(app):
    with app.app_context():
        load(ROOT / "catalog" / "data")
        db.session.commit()
    return app


def _search(app, query: str) -> list[str]:
    with app.app_context():
        return [item.code for item, _hit in catalog().search(query)]


@pytest.mark.parametrize(("query", "code"), ENGLISH_QUERIES)
def test_english_queries_find_the_right_item(loaded, query, code):
    found = _search(loaded, query)
    assert found and found[0] == code, (query, found[:3])


def test_chinese_search_is_unchanged(loaded):
    assert _search(loaded, "外国人签证延期")[0] == "LJ-CR-010"


def test_the_guide_is_in_english_with_a_chinese_fallback(loaded, client):
    text = client.get("/items/LJ-CR-010?lang=en").text
    assert "Visa extension and residence permit for foreigners" in text
    assert "Passport with a valid visa or residence permit" in text
    assert "Why are you in China?" in text
    # an item without English falls back to its Chinese name
    assert "普通护照签发" in client.get("/items/LJ-CR-001?lang=en").text
    # and the Chinese page is untouched
    assert "外国人签证证件延期" in client.get("/items/LJ-CR-010?lang=zh").text


def test_english_search_page(loaded, client):
    text = client.get("/search?q=residence+permit&lang=en").text
    assert "Visa extension and residence permit for foreigners" in text


def test_missing_english_lists_every_gap():
    rec = {
        "name": "外国人永久居留身份证",
        "description": "说明",
        "conditions": "",
        "faq": [{"q": "问", "a": "答"}],
        "documents": [{"name": "护照"}],
        "situations": [{"key": "reason", "options": [{"value": "new"}]}],
        "fields": [{"key": "passport_no"}],
        "english": {"name": "Permanent residence ID card", "documents": {"护照": {"name": "Passport"}}},
    }
    assert english.missing_english(rec) == ["description", "faq", "situations: reason", "fields: passport_no"]
    rec["english"].update(
        description="d",
        faq=[{"q": "q", "a": "a"}],
        situations={"reason": {"question": "Why?", "options": {"new": "First"}}},
        fields={"passport_no": {"label": "Passport number"}},
    )
    assert english.missing_english(rec) == []


def test_a_bad_english_block_is_refused():
    assert english.validate(["not", "a", "mapping"])[1] == ["英文内容应为映射"]
    _, problems = english.validate({"nmae": "typo", "faq": [{"q": "only a question"}]})
    assert "未知的英文字段 nmae" in problems
    assert "英文常见问题 faq 应为 q / a 列表" in problems
