"""Removing an uploaded document from a draft (``/applications/<id>/documents/<doc>/remove``): the row
goes, the file is no longer referenced (the sweeper may delete it), the draft asks for it again; only
the applicant's own draft (404 otherwise), and never after submit."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from applications.documents.sweep import sweep_orphans
from applications.models import Application, ApplicationDocument, WalletDocument
from applications.submission.operations import referenced_storage_keys
from applications.workflow.states import State
from core.audit import AuditLog
from core.db import db
from core.storage import get_storage

from .helpers import ID_DOC, PHOTO_DOC, jpeg, ready_draft, start, submit, submitted, upload

ALREADY_SUBMITTED = "该申请已提交，不能再修改。"


def _remove(client, aid: int, doc_id: int):
    return client.post(f"/applications/{aid}/documents/{doc_id}/remove")


def _docs(app, aid: int) -> dict[int, ApplicationDocument]:
    """The draft's documents by requirement position."""
    with app.app_context():
        rows = db.session.scalars(
            select(ApplicationDocument).where(ApplicationDocument.application_id == aid)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return {d.requirement: d for d in rows}


def _removals(app, aid: int) -> list[AuditLog]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditLog).where(
                    AuditLog.action == "application.document_remove", AuditLog.object_id == str(aid)
                )
            )
        )


def _stored(app) -> set[str]:
    with app.app_context():
        return {key for key, _mtime in list(get_storage().keys())}


def _sweep(app) -> list[str]:
    """Run the orphan sweeper as if every file were past the grace period."""
    with app.app_context():
        return sweep_orphans(get_storage(), referenced_storage_keys(), 0, now=time.time() + 1)


def test_removing_a_document_from_a_draft(app, citizen, citizen_client):
    aid = ready_draft(citizen_client)
    docs = _docs(app, aid)
    photo, id_doc = docs[PHOTO_DOC], docs[ID_DOC]
    assert photo.storage_key in _stored(app)

    response = _remove(citizen_client, aid, photo.id)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/applications/{aid}/documents")

    assert set(_docs(app, aid)) == {ID_DOC}  # the other document is untouched
    (audit,) = _removals(app, aid)
    assert audit.actor_id == citizen.id and audit.details == {"requirement": "近期免冠照片"}
    with app.app_context():
        assert db.session.get(Application, aid).state == State.DRAFT
        keys = referenced_storage_keys()
    assert photo.storage_key not in keys and id_doc.storage_key in keys
    # Nothing points at the file now: the sweeper deletes it, and only it.
    assert _sweep(app) == [photo.storage_key]
    assert _stored(app) == {id_doc.storage_key}

    # The draft asks for the photo again; a submit now is refused and sent back to the review.
    assert "请上传：近期免冠照片" in citizen_client.get(f"/applications/{aid}/review").text
    assert submit(citizen_client, aid).headers["Location"].endswith(f"/applications/{aid}/review")
    assert _docs(app, aid).keys() == {ID_DOC}

    # Removing it again (a second click): 404, nothing else removed, no second audit row.
    assert _remove(citizen_client, aid, photo.id).status_code == 404
    assert set(_docs(app, aid)) == {ID_DOC} and len(_removals(app, aid)) == 1

    # A new photo, and the draft goes in.
    assert upload(citizen_client, aid, {PHOTO_DOC: (jpeg(color="green"), "新照片.jpg")}).status_code == 302
    assert submit(citizen_client, aid).headers["Location"].endswith(f"/applications/{aid}/done")


def test_another_citizen_gets_404_and_removes_nothing(app, citizen_client, other_client):
    aid = ready_draft(citizen_client)
    photo = _docs(app, aid)[PHOTO_DOC]
    assert _remove(other_client, aid, photo.id).status_code == 404

    # Nor through a draft of their own: a document id of another application is not found in it.
    own = start(other_client)
    assert upload(other_client, own, {PHOTO_DOC: (jpeg(), "照片.jpg")}).status_code == 302
    assert _remove(other_client, own, photo.id).status_code == 404
    # … and the owner cannot remove B's document through A's draft either.
    b_photo = _docs(app, own)[PHOTO_DOC]
    assert _remove(citizen_client, aid, b_photo.id).status_code == 404

    assert set(_docs(app, aid)) == {ID_DOC, PHOTO_DOC} and set(_docs(app, own)) == {PHOTO_DOC}
    assert _removals(app, aid) == [] and _removals(app, own) == []
    with app.app_context():
        assert photo.storage_key in referenced_storage_keys()


def test_a_submitted_application_keeps_its_documents(app, citizen_client):
    aid = submitted(citizen_client)
    before = _docs(app, aid)
    response = _remove(citizen_client, aid, before[PHOTO_DOC].id)
    # Refused with a message; the documents page of a submitted application leads to its detail page.
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/applications/{aid}/documents")
    page = citizen_client.get(response.headers["Location"], follow_redirects=True).text
    assert f'<div class="alert alert-warning">{ALREADY_SUBMITTED}</div>' in page
    after = _docs(app, aid)
    assert {k: d.id for k, d in after.items()} == {k: d.id for k, d in before.items()}
    assert _removals(app, aid) == []
    with app.app_context():
        assert db.session.get(Application, aid).state == State.SUBMITTED
        assert before[PHOTO_DOC].storage_key in referenced_storage_keys()
    assert _sweep(app) == []


@pytest.mark.parametrize("state", [State.CORRECTION_REQUESTED, State.WITHDRAWN])
def test_not_during_a_correction_or_after_withdrawal_either(app, citizen_client, state):
    aid = submitted(citizen_client)
    with app.app_context():
        db.session.get(Application, aid).state = state
        db.session.commit()
    photo = _docs(app, aid)[PHOTO_DOC]
    assert _remove(citizen_client, aid, photo.id).status_code == 302
    assert PHOTO_DOC in _docs(app, aid) and _removals(app, aid) == []


def test_a_document_taken_from_the_wallet_keeps_its_file(app, citizen_client):
    """Removing a wallet document from a draft drops the draft's row only: the wallet still points at
    the stored file, so the sweeper leaves it alone."""
    submitted(citizen_client)  # puts the ID and the photo into the wallet
    with app.app_context():
        wallet = db.session.scalar(select(WalletDocument).where(WalletDocument.doc_type == "近期免冠照片"))
        wallet_id, wallet_key = wallet.id, wallet.storage_key
    aid = start(citizen_client)
    response = upload(citizen_client, aid, {}, **{f"wallet-{PHOTO_DOC}": str(wallet_id)})
    assert response.status_code == 302
    photo = _docs(app, aid)[PHOTO_DOC]
    assert photo.storage_key == wallet_key and photo.wallet_document_id == wallet_id

    assert _remove(citizen_client, aid, photo.id).status_code == 302
    assert PHOTO_DOC not in _docs(app, aid)
    with app.app_context():
        assert db.session.get(WalletDocument, wallet_id) is not None
        assert wallet_key in referenced_storage_keys()
        assert db.session.scalar(select(func.count()).select_from(WalletDocument)) == 2
    assert wallet_key not in _sweep(app) and wallet_key in _stored(app)
