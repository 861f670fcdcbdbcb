"""The admins' "questions we could not answer": add one to an item as alias or FAQ (into its draft,
audited), dismiss one, and the mistakes (unknown item, personal data in an alias, no FAQ answer,
double submit)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalog.admin import operations as catalog_ops
from catalog.ask import operations as ops
from catalog.ask.models import AskQuestion, QuestionKind, QuestionStatus
from catalog.models import VersionState
from core.audit import AuditLog
from core.db import db
from core.transaction import commit
from tests.auth.helpers import login_as
from tests.catalog.helpers import load_demo


@pytest.fixture
def admin_client(app):
    with app.app_context():
        load_demo()
    client = app.test_client()
    login_as(app, client, "admin")
    return client


def _question(app, text: str, best: str | None = "LJ-CJ-011", kind=QuestionKind.LOW_CONFIDENCE) -> int:
    with app.app_context():
        ops.record_question(text, kind=kind, best_code=best, best_score=0.55)
        commit()
        return db.session.scalar(select(AskQuestion.id).order_by(AskQuestion.id.desc()))


def _draft(app, code: str):
    with app.app_context():
        item = catalog_ops.get_item(code)
        draft = catalog_ops.version_in(item, VersionState.DRAFT)
        return None if draft is None else (list(draft.aliases), list(draft.faq))


def test_the_list_shows_open_questions_most_asked_first(app, admin_client):
    _question(app, "驾照快过期了在外地能换吗")
    other = _question(app, "狗证去哪办", best="LJ-ZA-001")
    _question(app, "狗证去哪办", best="LJ-ZA-001")
    page = admin_client.get("/admin/ask/questions")
    assert page.status_code == 200
    assert page.text.index("狗证去哪办") < page.text.index("驾照快过期了在外地能换吗")
    assert "问了 2 次" in page.text and f'id="q-{other}"' in page.text


def test_add_as_alias_goes_into_the_items_draft_and_is_audited(app, admin_client):
    qid = _question(app, "驾照快过期了在外地能换吗？")
    r = admin_client.post(
        f"/admin/ask/questions/{qid}/resolve", data={f"q{qid}-code": "LJ-CJ-011", f"q{qid}-as_": "alias"}
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/catalog/items/LJ-CJ-011")
    aliases, _faq = _draft(app, "LJ-CJ-011")
    assert aliases[-1] == "驾照快过期了在外地能换吗"
    with app.app_context():
        row = db.session.get(AskQuestion, qid)
        assert row.status == QuestionStatus.RESOLVED and row.resolved_code == "LJ-CJ-011"
        actions = set(db.session.scalars(select(AuditLog.action)))
        assert {"ask.question_resolve", "catalog.item_update", "catalog.draft_create"} <= actions
        # published catalog unchanged until an admin publishes the draft
        assert (
            "驾照快过期了在外地能换吗"
            not in catalog_ops.version_in(catalog_ops.get_item("LJ-CJ-011"), VersionState.PUBLISHED).aliases
        )
    # the same click again (double submit) changes nothing and says why
    again = admin_client.post(
        f"/admin/ask/questions/{qid}/resolve", data={f"q{qid}-code": "LJ-CJ-011", f"q{qid}-as_": "alias"}
    )
    assert again.status_code in (404, 422)
    assert _draft(app, "LJ-CJ-011")[0].count("驾照快过期了在外地能换吗") == 1


def test_add_as_faq_needs_an_answer(app, admin_client):
    qid = _question(app, "外地驾照能在这换吗")
    r = admin_client.post(
        f"/admin/ask/questions/{qid}/resolve", data={f"q{qid}-code": "LJ-CJ-014", f"q{qid}-as_": "faq"}
    )
    assert r.status_code == 422 and "请填写这条常见问题的回答" in r.text
    assert _draft(app, "LJ-CJ-014") is None  # the refused change left no draft behind
    r = admin_client.post(
        f"/admin/ask/questions/{qid}/resolve",
        data={f"q{qid}-code": "LJ-CJ-014", f"q{qid}-as_": "faq", f"q{qid}-answer": "可以，办理驾驶证转入。"},
    )
    assert r.status_code == 302
    _aliases, faq = _draft(app, "LJ-CJ-014")
    assert faq[-1] == {"q": "外地驾照能在这换吗？", "a": "可以，办理驾驶证转入。"}


def test_an_unknown_item_is_refused_at_the_field_and_the_typing_is_kept(app, admin_client):
    qid = _question(app, "外地驾照能在这换吗")
    r = admin_client.post(
        f"/admin/ask/questions/{qid}/resolve", data={f"q{qid}-code": "NO-SUCH", f"q{qid}-as_": "alias"}
    )
    assert r.status_code == 422 and "没有这个事项编码" in r.text and 'value="NO-SUCH"' in r.text


def test_a_question_with_hidden_personal_data_cannot_become_an_alias(app, admin_client):
    qid = _question(app, "我手机13812345678收不到驾照短信")
    r = admin_client.post(
        f"/admin/ask/questions/{qid}/resolve", data={f"q{qid}-code": "LJ-CJ-011", f"q{qid}-as_": "alias"}
    )
    assert r.status_code == 422 and "不能作为别名" in r.text
    assert "13812345678" not in r.text


def test_dismiss_takes_it_off_the_list(app, admin_client):
    qid = _question(app, "今天天气怎么样", best=None, kind=QuestionKind.UNANSWERED)
    assert admin_client.post(f"/admin/ask/questions/{qid}/dismiss").status_code == 302
    assert "今天天气怎么样" not in admin_client.get("/admin/ask/questions").text
    with app.app_context():
        assert db.session.get(AskQuestion, qid).status == QuestionStatus.DISMISSED
        assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "ask.question_dismiss"))
    second = admin_client.post(f"/admin/ask/questions/{qid}/dismiss", follow_redirects=True)
    assert "已由其他管理员处理" in second.text


def test_an_unknown_question_id_is_404(admin_client):
    assert admin_client.post("/admin/ask/questions/424242/resolve", data={}).status_code == 404
    assert admin_client.post("/admin/ask/questions/424242/dismiss").status_code == 404
