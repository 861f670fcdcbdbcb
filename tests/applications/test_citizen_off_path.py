"""The citizen off the happy path (issue 17): one tap no longer destroys (withdrawing and deleting from
我的材料 first show a page that says what will happen, and work without JavaScript), unread messages are
counted, and the promised date and a stopped clock are shown to the citizen."""

from __future__ import annotations

from sqlalchemy import select

from applications.models import Application, TrustLevel, WalletDocument
from applications.workflow.states import State
from core.db import db
from tests.applications.helpers import submitted


def test_withdraw_asks_first_then_withdraws(app, citizen_client):
    aid = submitted(citizen_client)
    detail = citizen_client.get(f"/applications/{aid}").text
    assert (
        f'href="/applications/{aid}/withdraw"' in detail
        and 'action="/applications/' not in detail.split("撤回申请")[0][-200:]
    )
    page = citizen_client.get(f"/applications/{aid}/withdraw")
    assert page.status_code == 200 and "确定要撤回申请" in page.text and "返回，不做任何更改" in page.text
    with app.app_context():
        assert db.session.get(Application, aid).state == State.SUBMITTED  # looking changed nothing
    citizen_client.post(f"/applications/{aid}/withdraw", data={"reason": "不办了"})
    with app.app_context():
        assert db.session.get(Application, aid).state == State.WITHDRAWN


def test_deleting_an_a_level_document_warns_that_it_cannot_be_restored(app, citizen_client, other_client):
    submitted(citizen_client)
    with app.app_context():
        doc = db.session.scalars(select(WalletDocument)).first()
        doc.trust_level = TrustLevel.A
        db.session.commit()
        wid = doc.id
    page = citizen_client.get(f"/me/wallet/{wid}/delete")
    assert page.status_code == 200 and "无法自行恢复" in page.text
    assert other_client.get(f"/me/wallet/{wid}/delete").status_code == 404  # someone else's
    with app.app_context():
        assert db.session.get(WalletDocument, wid) is not None
    citizen_client.post(f"/me/wallet/{wid}/delete")
    with app.app_context():
        assert db.session.get(WalletDocument, wid) is None


def test_the_messages_link_counts_unread_and_the_page_marks_what_is_new(app, citizen_client):
    """Issue 17, item 9: an unread badge on 消息; the page shows what is new once, then it is read."""
    submitted(citizen_client)  # "申请已提交" arrives
    home = citizen_client.get("/me/applications").text
    assert 'data-testid="nav-badge">1<' in home
    first = citizen_client.get("/me/messages").text
    assert first.count('data-testid="new-message"') == 1
    assert 'data-testid="nav-badge"' not in citizen_client.get("/me/applications").text
    assert 'data-testid="new-message"' not in citizen_client.get("/me/messages").text


def test_the_citizen_sees_the_promised_date_and_when_the_clock_is_stopped(app, citizen_client):
    """Issue 17, item 3: the date the clerk sees, on the citizen's own pages."""
    from datetime import date

    aid = submitted(citizen_client)
    with app.app_context():
        a = db.session.get(Application, aid)
        a.state, a.promised_due, a.legal_due = State.ACCEPTED, date(2026, 12, 9), date(2026, 12, 30)
        db.session.commit()
    detail = citizen_client.get(f"/applications/{aid}").text
    assert 'data-testid="promised-due"' in detail and "2026-12-09" in detail and "2026-12-30" in detail
    assert "承诺 2026-12-09 前办结" in citizen_client.get("/me/applications").text
    with app.app_context():
        db.session.get(Application, aid).state = State.CORRECTION_REQUESTED
        db.session.commit()
    detail = citizen_client.get(f"/applications/{aid}").text
    assert "办理计时已暂停" in detail and 'data-testid="promised-due"' not in detail
    assert "计时暂停，待您补正" in citizen_client.get("/me/applications").text
