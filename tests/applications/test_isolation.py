"""Citizen B never sees A's data (404, not 403); staff get 403 on citizen pages (DESIGN §5)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from applications.models import Application, ApplicationDocument, WalletDocument
from applications.workflow.states import State
from core.db import db
from tests.auth.helpers import login_as

from .helpers import PHOTO_DOC, jpeg, submitted


@pytest.fixture
def a_application(app, citizen_client):
    aid = submitted(citizen_client)
    with app.app_context():
        doc = db.session.scalar(select(ApplicationDocument).where(ApplicationDocument.application_id == aid))
        wallet = db.session.scalar(select(WalletDocument))
        return {"aid": aid, "doc": doc.id, "wallet": wallet.id}


def _pages(ids):
    aid, doc, wallet = ids["aid"], ids["doc"], ids["wallet"]
    return [
        ("GET", f"/applications/{aid}"),
        ("GET", f"/applications/{aid}/form"),
        ("POST", f"/applications/{aid}/form"),
        ("GET", f"/applications/{aid}/documents"),
        ("POST", f"/applications/{aid}/documents"),
        ("POST", f"/applications/{aid}/documents/{doc}/remove"),
        ("GET", f"/applications/{aid}/review"),
        ("GET", f"/applications/{aid}/done"),
        ("POST", f"/applications/{aid}/submit"),
        ("POST", f"/applications/{aid}/withdraw"),
        ("POST", f"/applications/{aid}/correction"),
        ("GET", f"/applications/{aid}/files/{doc}"),
        ("GET", f"/me/wallet/{wallet}/file"),
        ("POST", f"/me/wallet/{wallet}/delete"),
    ]


def test_another_citizen_gets_404_for_every_page(app, a_application, other_client):
    for method, path in _pages(a_application):
        response = other_client.open(path, method=method)
        assert response.status_code == 404, (method, path, response.status_code)
    with app.app_context():
        row = db.session.get(Application, a_application["aid"])
        assert row.state == State.SUBMITTED and len(row.documents) == 2
        assert db.session.get(WalletDocument, a_application["wallet"]) is not None


def test_another_citizen_does_not_see_it_in_lists(app, a_application, other_client):
    with app.app_context():
        reference = db.session.get(Application, a_application["aid"]).reference
    assert reference not in other_client.get("/me/applications").text
    assert "照片.jpg" not in other_client.get("/me/wallet").text


def test_a_draft_of_another_citizen_is_404_too(app, citizen_client, other_client):
    from .helpers import start, upload

    aid = start(citizen_client)
    upload(citizen_client, aid, {PHOTO_DOC: (jpeg(), "照片.jpg")})
    for path in ("form", "documents", "review"):
        assert other_client.get(f"/applications/{aid}/{path}").status_code == 404
    assert other_client.post(f"/applications/{aid}/submit").status_code == 404


def test_the_start_token_of_another_citizen_gives_404(app, citizen_client, other_client):
    from .helpers import start

    start(citizen_client, token="shared-token-abcdefghij")
    response = other_client.post("/apply/LJ-ZA-007", data={"token": "shared-token-abcdefghij"})
    assert response.status_code == 404
    with app.app_context():
        assert len(db.session.scalars(select(Application)).all()) == 1


@pytest.mark.parametrize("role", ["clerk", "admin"])
def test_staff_get_403_on_citizen_pages(app, a_application, role):
    client = app.test_client()
    login_as(app, client, role)
    pages = [p for p in _pages(a_application) if "/files/" not in p[1]]
    pages += [("GET", "/me/applications"), ("GET", "/me/wallet"), ("GET", "/apply/LJ-ZA-007")]
    for method, path in pages:
        response = client.open(path, method=method)
        assert response.status_code == 403, (role, method, path, response.status_code)
    # The applicant's download route answers 404 to anyone but the applicant.
    aid, doc = a_application["aid"], a_application["doc"]
    assert client.get(f"/applications/{aid}/files/{doc}").status_code == 404


def test_anonymous_is_sent_to_login(a_application, app):
    client = app.test_client()
    for method, path in _pages(a_application):
        response = client.open(path, method=method)
        assert response.status_code in (302, 401), (method, path)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]
