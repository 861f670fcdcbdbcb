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
    # official names
    ("Residence permit for work", "LJ-CR-013"),
    ("foreign permanent resident ID card", "LJ-CR-018"),
    ("accommodation registration", "LJ-CR-011"),
    ("visa replacement", "LJ-CR-016"),
    # everyday words
    ("visa extension", "LJ-CR-010"),
    ("extend my visa", "LJ-CR-010"),
    ("extend my stay", "LJ-CR-010"),
    ("my visa is expiring", "LJ-CR-010"),
    ("renew residence permit", "LJ-CR-010"),
    ("work residence permit", "LJ-CR-013"),
    ("residence permit for my job", "LJ-CR-013"),
    ("student residence permit", "LJ-CR-014"),
    ("residence permit for international students", "LJ-CR-014"),
    ("join my wife in China", "LJ-CR-015"),
    ("spouse visa", "LJ-CR-015"),
    ("new passport visa", "LJ-CR-016"),
    ("I lost my passport", "LJ-CR-017"),
    ("passport stolen", "LJ-CR-017"),
    ("green card", "LJ-CR-018"),
    ("China green card", "LJ-CR-018"),
    ("renew green card", "LJ-CR-019"),
    ("lost permanent resident card", "LJ-CR-019"),
    ("foreign guest staying with me", "LJ-CR-011"),
    ("landlord registration", "LJ-CR-011"),
    ("registration of residence", "LJ-CR-011"),
    ("travel history", "LJ-CR-012"),
    ("my entry and exit records", "LJ-CR-012"),
    # American and British spellings
    ("dependant visa", "LJ-CR-015"),
    ("dependent visa", "LJ-CR-015"),
    ("enrollment residence permit", "LJ-CR-014"),
    ("enrolment residence permit", "LJ-CR-014"),
    # singular and plural, case
    ("Visa Extensions", "LJ-CR-010"),
    ("work residence permits", "LJ-CR-013"),
    ("family reunion residence permits", "LJ-CR-015"),
    ("PERMANENT RESIDENCE CARDS", "LJ-CR-018"),
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


def test_every_foreigner_item_is_there_with_complete_english(loaded):
    from catalog.loader import read_files, validate

    records = {r["code"]: r for r in validate(read_files(ROOT / "catalog" / "data"))["items"]}
    names = {r["name"] for r in records.values()}
    for name in (
        "外国人工作类居留许可签发",
        "外国人学习类居留许可签发",
        "外国人团聚类居留许可签发",
        "外国人签证证件延期",
        "外国人签证换发",
        "外国人签证补发",
        "外国人永久居留身份证申请",
        "外国人永久居留身份证换发、补发",
        "外国人住宿登记",
    ):
        assert name in names, name
    facing = [r for r in records.values() if r["foreigner_facing"]]
    assert len(facing) == 9
    for rec in facing:
        assert english.missing_english(rec) == [], rec["code"]


def test_chinese_search_is_unchanged(loaded):
    assert _search(loaded, "外国人签证延期")[0] == "LJ-CR-010"


def test_the_guide_is_in_english_with_a_chinese_fallback(loaded, client):
    text = client.get("/items/LJ-CR-010?lang=en").text
    assert "Extension of a visa or residence permit for foreigners" in text
    assert "Passport with a valid visa or residence permit" in text
    assert "Why are you in China?" in text
    # an item without English falls back to its Chinese name
    assert "普通护照签发" in client.get("/items/LJ-CR-001?lang=en").text
    # and the Chinese page is untouched
    assert "外国人签证证件延期" in client.get("/items/LJ-CR-010?lang=zh").text


def test_english_search_page(loaded, client):
    text = client.get("/search?q=residence+permit&lang=en").text
    assert "Extension of a visa or residence permit for foreigners" in text


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


def test_categories_are_in_english_on_english_pages(loaded, client):
    text = client.get("/?lang=en").text
    assert "Exit and entry" in text and "services for foreigners" in text
    assert "Exit and entry" in client.get("/category/exit_entry?lang=en").text
    assert "护照、港澳台通行证与签注、外国人服务" in client.get("/?lang=zh").text


def test_a_foreigner_applies_in_english_and_the_answers_stay_keyed(loaded):
    from sqlalchemy import select

    from applications.models import Application
    from tests.auth.helpers import login_as

    client = loaded.test_client()
    login_as(loaded, client, "citizen")
    client.get("/?lang=en")
    start = client.get("/apply/LJ-CR-013")
    assert "Residence permit for work (foreigners)" in start.text
    response = client.post("/apply/LJ-CR-013", data={"token": "t" * 24, "term": "mid"})
    assert response.status_code == 302
    form = client.get(response.headers["Location"])
    assert "Name as in your passport" in form.text and "Employer" in form.text
    assert "英文姓名（与护照一致）" not in form.text
    with loaded.app_context():
        app_id = db.session.scalar(select(Application.id))
    documents = client.get(f"/applications/{app_id}/documents")
    assert "Letter from your employer" in documents.text
    # the same draft read in Chinese keeps its Chinese labels
    assert "英文姓名（与护照一致）" in client.get(f"/applications/{app_id}/form?lang=zh").text


def test_select_options_show_english_but_keep_their_value(loaded):
    with loaded.app_context():
        item = catalog().items["LJ-CR-012"]
    assert item.fields[2].key == "usage"
    # the form offers the English label for the Chinese value that is stored
    from catalog.application_form import build_application_form
    from catalog.queries import in_english

    with loaded.test_request_context("/?lang=en"):
        field = next(f for f in in_english(item).fields if f.key == "usage")
        form = build_application_form((field,), item.delivery, [], False)
        assert ("签证申请", "Visa application") in form.f_usage.choices
        assert field.option_label("签证申请") == "Visa application"
        assert field.options == item.fields[2].options


def test_bundles_in_english(loaded, client):
    text = client.get("/?lang=en").text
    assert "Birth of a child (combined service)" in text
    page = client.get("/bundles/LJ-YJS-001?lang=en").text
    assert "Medical certificate of birth (health)" in page
    assert "出生一件事" in client.get("/bundles/LJ-YJS-001?lang=zh").text
    with loaded.app_context():
        assert catalog().search_bundles("new baby")[0].code == "LJ-YJS-001"
