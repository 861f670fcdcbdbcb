"""亲友代办 confirmed online by the principal (``/me/authorisations/<id>/confirm``): the principal's
confirmation replaces the signed 委托书; nobody else can confirm (404, not 403); a confirmation after
the draft is withdrawn or submitted is refused and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from applications.models import Application
from applications.workflow.states import State
from core.audit import AuditLog
from core.db import db
from core.outbox import OutboxMessage
from tests.auth.helpers import Account, login, make_account

from .helpers import (
    PRINCIPAL_ID,
    PROXY_ANSWERS,
    PROXY_DOC,
    PROXY_ITEM,
    PROXY_REQUIRED_DOCS,
    jpeg,
    post_form,
    proxy_form,
    start,
    submit,
    upload,
)

CONFIRMED = "已确认授权。"
ALREADY_SUBMITTED = "该申请已提交，无需再确认。"


@pytest.fixture
def principal(app, demo) -> Account:
    """The relative the application is made for: a registered citizen with :data:`PRINCIPAL_ID`."""
    return make_account(app, "citizen", real_name="李大山", id_number=PRINCIPAL_ID)


@pytest.fixture
def principal_client(app, principal):
    client = app.test_client()
    assert login(client, principal.login).status_code == 302
    return client


def _asked_draft(client) -> int:
    """A 犬只登记 draft for the principal with the form filled and the principal asked to confirm."""
    aid = start(client, PROXY_ITEM, PROXY_ANSWERS)
    assert post_form(client, aid, proxy_form()).status_code == 302
    response = client.post(f"/applications/{aid}/principal")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/applications/{aid}/documents")
    return aid


def _confirm(client, aid: int):
    return client.post(f"/me/authorisations/{aid}/confirm")


def _row(app, aid: int) -> Application:
    with app.app_context():
        row = db.session.get(Application, aid)
        db.session.expunge(row)
        return row


def _audit(app, action: str, aid: int) -> list[AuditLog]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditLog).where(AuditLog.action == action, AuditLog.object_id == str(aid))
            )
        )


def _messages(app, kind: str) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_the_principal_confirms_and_the_authorisation_letter_is_no_longer_asked(
    app, citizen, citizen_client, principal, principal_client
):
    aid = _asked_draft(citizen_client)
    row = _row(app, aid)
    assert row.principal_user_id == principal.id and row.principal_confirmed_at is None
    (asked,) = _messages(app, "proxy_confirm")
    assert asked.user_id == principal.id
    assert len(_audit(app, "application.principal_confirmation_requested", aid)) == 1

    # The principal sees it on 代办授权 with a button; without the 委托书 the draft is incomplete.
    page = principal_client.get("/me/authorisations").text
    assert "犬只登记" in page and f"/me/authorisations/{aid}/confirm" in page
    files = {pos: (jpeg(), f"材料{pos}.jpg") for pos in PROXY_REQUIRED_DOCS if pos != PROXY_DOC}
    assert upload(citizen_client, aid, files).status_code == 302
    assert submit(citizen_client, aid).headers["Location"].endswith(f"/applications/{aid}/review")
    assert _row(app, aid).state == State.DRAFT

    response = _confirm(principal_client, aid)
    assert response.status_code == 302 and response.headers["Location"].endswith("/me/authorisations")
    page = principal_client.get("/me/authorisations").text
    assert CONFIRMED in page and "已确认" in page
    assert f"/me/authorisations/{aid}/confirm" not in page  # no button any more

    row = _row(app, aid)
    assert row.principal_confirmed_at is not None and row.state == State.DRAFT
    (confirmed,) = _audit(app, "application.principal_confirmed", aid)
    assert confirmed.actor_id == principal.id
    (told,) = _messages(app, "proxy_confirmed")
    assert told.user_id == citizen.id and told.application_id == aid and "无需再上传授权委托书" in told.body

    # Now the same draft, still without a 委托书, is complete and goes in.
    assert submit(citizen_client, aid).headers["Location"].endswith(f"/applications/{aid}/done")
    row = _row(app, aid)
    assert row.state == State.SUBMITTED
    assert PROXY_DOC not in {d.requirement for d in _documents(app, aid)}


def _documents(app, aid: int):
    with app.app_context():
        return list(db.session.get(Application, aid).documents)


def test_nobody_but_the_principal_can_confirm(app, citizen_client, other_client, principal):
    aid = _asked_draft(citizen_client)
    # Another citizen, and the applicant confirming for themselves: 404, as for an unknown id.
    assert _confirm(other_client, aid).status_code == 404
    assert _confirm(citizen_client, aid).status_code == 404
    assert _confirm(other_client, aid + 1000).status_code == 404
    assert f"/me/authorisations/{aid}/confirm" not in other_client.get("/me/authorisations").text
    assert _row(app, aid).principal_confirmed_at is None
    assert _audit(app, "application.principal_confirmed", aid) == []
    assert _messages(app, "proxy_confirmed") == []


def test_confirming_twice_keeps_the_application_confirmed(app, citizen_client, principal_client):
    aid = _asked_draft(citizen_client)
    assert _confirm(principal_client, aid).status_code == 302
    first = _row(app, aid).principal_confirmed_at
    assert first is not None

    # A double click or a second tab: answered like the first, still confirmed, still a draft.
    response = _confirm(principal_client, aid)
    assert response.status_code == 302 and response.headers["Location"].endswith("/me/authorisations")
    assert CONFIRMED in principal_client.get("/me/authorisations").text
    row = _row(app, aid)
    assert row.state == State.DRAFT and row.principal_confirmed_at >= first
    assert len(_audit(app, "application.principal_confirmed", aid)) == 2


def test_a_withdrawn_application_cannot_be_confirmed(app, citizen_client, principal_client):
    aid = _asked_draft(citizen_client)
    assert citizen_client.post(f"/applications/{aid}/withdraw").status_code == 302
    assert _row(app, aid).state == State.WITHDRAWN

    response = _confirm(principal_client, aid)
    assert response.status_code == 302 and response.headers["Location"].endswith("/me/authorisations")
    page = principal_client.get("/me/authorisations").text
    assert f'<div class="alert alert-warning">{ALREADY_SUBMITTED}</div>' in page
    assert CONFIRMED not in page and f"/me/authorisations/{aid}/confirm" not in page
    row = _row(app, aid)
    assert row.state == State.WITHDRAWN and row.principal_confirmed_at is None
    assert _audit(app, "application.principal_confirmed", aid) == []
    assert _messages(app, "proxy_confirmed") == []


def test_a_submitted_application_cannot_be_confirmed_any_more(app, citizen_client, principal_client):
    aid = _asked_draft(citizen_client)
    files = {pos: (jpeg(), f"材料{pos}.jpg") for pos in PROXY_REQUIRED_DOCS}  # with the signed 委托书
    assert upload(citizen_client, aid, files).status_code == 302
    assert submit(citizen_client, aid).headers["Location"].endswith(f"/applications/{aid}/done")
    with app.app_context():
        events_before = db.session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.object_id == str(aid))
        )

    assert _confirm(principal_client, aid).status_code == 302
    assert ALREADY_SUBMITTED in principal_client.get("/me/authorisations").text
    row = _row(app, aid)
    assert row.state == State.SUBMITTED and row.principal_confirmed_at is None
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.object_id == str(aid))
            )
            == events_before
        )
    assert _messages(app, "proxy_confirmed") == []
