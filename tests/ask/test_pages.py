"""/ask and GET /api/v1/ask through the test client, on the demo catalog: the answer card, the
clarifying question, bad input, and the unanswered questions kept without personal data."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalog.ask.models import AskQuestion, QuestionKind
from core.db import db
from tests.catalog.helpers import load_demo


@pytest.fixture
def demo_client(app):
    with app.app_context():
        load_demo()
    return app.test_client()


def test_a_sentence_gets_the_item_its_documents_and_the_next_step(demo_client):
    r = demo_client.get("/api/v1/ask", query_string={"q": "女儿满月了还没上户口"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["items"][0]["code"] == "LJ-HJ-006"
    card = body["answer"]
    assert card["code"] == "LJ-HJ-006" and card["documents"]
    assert {"fee", "promised_days", "counters", "hours", "apply_url"} <= set(card)
    # 出生登记 asks whether the parents are married: that changes the documents, so it is asked
    assert body["clarify"]["kind"] == "situation" and body["clarify"]["key"] == "marriage"
    page = demo_client.get("/ask", query_string={"q": "女儿满月了还没上户口"})
    assert page.status_code == 200
    assert "出生登记" in page.text and 'data-testid="ask-clarify"' in page.text


def test_answering_the_clarifying_question_changes_the_document_list(demo_client):
    base = demo_client.get("/api/v1/ask", query_string={"q": "女儿满月了还没上户口"}).get_json()
    unmarried = demo_client.get(
        "/api/v1/ask",
        query_string={"q": "女儿满月了还没上户口", "item": "LJ-HJ-006", "s_marriage": "unmarried"},
    ).get_json()
    assert unmarried["clarify"] is None or unmarried["clarify"].get("key") != "marriage"
    chosen = {s["key"]: s["value"] for s in unmarried["answer"]["situations"]}
    assert chosen["marriage"] == "unmarried"
    assert [d["name"] for d in unmarried["answer"]["documents"]] != [
        d["name"] for d in base["answer"]["documents"]
    ]


def test_situations_said_in_the_question_are_filled_in(demo_client):
    body = demo_client.get("/api/v1/ask", query_string={"q": "给儿子办护照要带什么"}).get_json()
    assert body["items"][0]["code"] == "LJ-CR-001"
    assert body["items"][0]["situations"] == {"age": "minor"}
    age = next(s for s in body["answer"]["situations"] if s["key"] == "age")
    assert age["inferred"] is True and "未满十六周岁" in age["label"]
    assert any("监护人" in d["name"] for d in body["answer"]["documents"])


def test_an_item_that_needs_a_visit_offers_the_booking(demo_client):
    body = demo_client.get("/api/v1/ask", query_string={"q": "身份证丢了怎么办"}).get_json()
    assert body["answer"]["code"] == "LJ-HJ-003"
    assert body["answer"]["book_url"] == "/items/LJ-HJ-003/book"
    assert body["items"][0]["situations"] == {"lost_way": "lost"}


def test_a_bare_noun_asks_which_item(demo_client):
    body = demo_client.get("/api/v1/ask", query_string={"q": "护照"}).get_json()
    assert body["clarify"]["kind"] == "item"
    codes = [o["value"] for o in body["clarify"]["options"]]
    assert 2 <= len(codes) <= 3 and set(codes) <= {"LJ-CR-001", "LJ-CR-002", "LJ-CR-003"}
    chosen = demo_client.get("/api/v1/ask", query_string={"q": "护照", "item": "LJ-CR-003"}).get_json()
    assert chosen["answer"]["code"] == "LJ-CR-003"


@pytest.mark.parametrize(
    ("q", "code"),
    [
        ("", "empty_question"),
        ("   ", "empty_question"),
        ("身份证\x00丢了", "invalid_characters"),
        ("驾照\x07到期", "invalid_characters"),
        ("驾" * 201, "question_too_long"),
    ],
)
def test_bad_input_is_a_400_with_a_chinese_message_and_a_code(demo_client, q, code):
    r = demo_client.get("/api/v1/ask", query_string={"q": q})
    assert r.status_code == 400
    body = r.get_json()
    # the API's error body (core.api): the class, the machine code, the field, a Chinese message
    assert (body["error"], body["code"], body["field"]) == ("bad_request", code, "q")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])


def test_no_q_at_all_is_a_400_too(demo_client):
    r = demo_client.get("/api/v1/ask")
    assert r.status_code == 400 and (r.get_json()["code"], r.get_json()["field"]) == ("missing", "q")


def test_the_page_shows_the_message_at_the_field_and_keeps_the_text(demo_client):
    r = demo_client.get("/ask", query_string={"q": "驾" * 201})
    assert r.status_code == 422
    assert 'data-testid="ask-error"' in r.text and "驾" * 201 in r.text
    r = demo_client.get("/ask", query_string={"q": "身份证\x00丢了"})
    assert r.status_code == 422 and "身份证丢了" in r.text
    assert demo_client.get("/ask").status_code == 200


def test_unanswered_questions_are_kept_without_personal_data_and_counted(app, demo_client):
    q = "我叫张三，号码33030219900101123X，手机13812345678，今天天气怎么样"
    for _ in range(2):
        body = demo_client.get("/api/v1/ask", query_string={"q": q}).get_json()
        assert body["answer"] is None
    with app.app_context():
        rows = db.session.scalars(select(AskQuestion)).all()
        assert len(rows) == 1
        row = rows[0]
        assert row.asked == 2 and row.kind == QuestionKind.UNANSWERED
        assert "330302" not in row.text and "1381234" not in row.text and "张三" not in row.text
        assert "〔证件号〕" in row.text and "〔手机号〕" in row.text and "〔姓名〕" in row.text


def test_a_confident_answer_is_not_kept(app, demo_client):
    demo_client.get("/api/v1/ask", query_string={"q": "身份证丢了怎么办"})
    with app.app_context():
        assert db.session.scalars(select(AskQuestion)).all() == []


def test_the_page_says_so_when_nothing_matches(demo_client):
    r = demo_client.get("/ask", query_string={"q": "我想吃火锅"})
    assert r.status_code == 200 and 'data-testid="ask-none"' in r.text


def test_the_page_fits_a_phone_width(demo_client):
    """No fixed widths on the card (the browser journey checks 375 px for real)."""
    r = demo_client.get("/ask", query_string={"q": "驾照到期了怎么换证"})
    assert 'name="viewport"' in r.text and "width:" not in r.text.split("<main", 1)[-1]


def test_a_database_fault_while_keeping_the_question_still_answers(demo_client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from catalog.ask import operations

    def down(*_a, **_k):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(operations, "record_question", down)
    r = demo_client.get("/api/v1/ask", query_string={"q": "今天天气怎么样"})
    assert r.status_code == 200 and r.get_json()["answer"] is None
    assert demo_client.get("/ask", query_string={"q": "今天天气怎么样"}).status_code == 200


def test_a_made_up_item_or_answer_is_ignored(demo_client):
    body = demo_client.get(
        "/api/v1/ask", query_string={"q": "身份证丢了怎么办", "item": "NO-SUCH", "s_lost_way": "bogus\x00"}
    ).get_json()
    assert body["answer"]["code"] == "LJ-HJ-003"
    chosen = {s["key"]: s["value"] for s in body["answer"]["situations"]}
    assert chosen["lost_way"] == "lost"  # what the question said, not the bogus value


def test_the_closest_item_is_kept_with_an_unsure_question(app, demo_client):
    demo_client.get("/api/v1/ask", query_string={"q": "办证"})
    with app.app_context():
        row = db.session.scalars(select(AskQuestion)).one()
        assert row.text == "办证" and row.best_code is not None


def test_a_script_asking_without_pause_is_slowed_down(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    codes = [client.get("/api/v1/ask", query_string={"q": f"问题{n}"}).status_code for n in range(61)]
    assert codes[:60] == [200] * 60 and codes[60] == 429
