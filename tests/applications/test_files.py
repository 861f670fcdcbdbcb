"""Files and rows together: atomic uploads, the orphan sweeper, the wallet (我的材料) and the
authorised download."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from applications.models import ApplicationDocument, TrustLevel, WalletDocument
from applications.submission import operations as ops
from core.db import db
from core.storage import get_storage
from tests.auth.helpers import login
from tests.uploads import corpus

from .helpers import ID_DOC, PHOTO_DOC, jpeg, start, submitted, upload


def _stored(app) -> set[str]:
    with app.app_context():
        return {key for key, _mtime in get_storage().keys()}  # noqa: SIM118 - not a dict


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


# Atomicity ----------------------------------------------------------------------------------------


@pytest.fixture
def server_app(make_app, app, demo):
    """A second 'worker' on the same database and file store that serves the Chinese 500 page."""
    return make_app(PROPAGATE_EXCEPTIONS=False)


def test_a_failure_after_the_file_is_written_leaves_no_row_and_no_file(server_app, citizen, monkeypatch):
    client = server_app.test_client()
    assert login(client, citizen.login).status_code == 302
    aid = start(client)
    real_record = ops.audit.record
    written: list[str] = []
    real_store = ops.store_file

    def spy_store(storage, clean):
        key = real_store(storage, clean)
        written.append(key)
        assert storage.open(key)  # the file really is on disk at this point
        return key

    def failing_record(action, **kw):
        if action == "application.document_upload":
            raise RuntimeError("injected crash between file write and commit")
        return real_record(action, **kw)

    monkeypatch.setattr(ops, "store_file", spy_store)
    monkeypatch.setattr(ops.audit, "record", failing_record)
    response = upload(client, aid, {PHOTO_DOC: (jpeg(), "照片.jpg")})
    assert response.status_code == 500
    assert "系统出现了问题" in response.text
    assert len(written) == 1
    assert _count(server_app, ApplicationDocument) == 0
    assert _stored(server_app) == set()


def test_the_sweeper_removes_a_crash_orphan_and_keeps_referenced_files(app, citizen_client):
    aid = submitted(citizen_client)
    referenced = _stored(app)
    assert len(referenced) == 2
    with app.app_context():
        orphan = get_storage().save(corpus.jpeg(), suffix=".jpg")  # a crash before the row
        assert {d.storage_key for d in db.session.scalars(select(ApplicationDocument))} == referenced
    result = app.test_cli_runner().invoke(args=["storage", "sweep", "--grace-seconds", "0"])
    assert result.exit_code == 0, result.output
    assert "removed 1" in result.output
    assert _stored(app) == referenced and orphan not in _stored(app)
    assert citizen_client.get(f"/applications/{aid}").status_code == 200


def test_the_sweeper_grace_period_keeps_a_fresh_orphan(app, demo):
    with app.app_context():
        orphan = get_storage().save(corpus.jpeg(), suffix=".jpg")
    result = app.test_cli_runner().invoke(args=["storage", "sweep"])
    assert result.exit_code == 0 and orphan in _stored(app)


# Wallet -------------------------------------------------------------------------------------------


def test_uploads_land_in_the_wallet_at_trust_level_c(app, citizen_client, citizen):
    aid = submitted(citizen_client)
    with app.app_context():
        wallet = db.session.scalars(select(WalletDocument).order_by(WalletDocument.id)).all()
        assert {w.doc_type for w in wallet} == {"居民身份证", "近期免冠照片"}
        assert {w.trust_level for w in wallet} == {TrustLevel.C}
        assert {w.owner_id for w in wallet} == {citizen.id}
        assert {w.source_application_id for w in wallet} == {aid}
    page = citizen_client.get("/me/wallet").text
    assert "照片.jpg" in page and "身份证.pdf" in page


def test_the_wallet_is_offered_and_reused_without_a_new_file(app, citizen_client):
    submitted(citizen_client)
    files_before = _stored(app)
    aid = start(citizen_client)
    page = citizen_client.get(f"/applications/{aid}/documents").text
    with app.app_context():
        photo = db.session.scalar(select(WalletDocument).where(WalletDocument.doc_type == "近期免冠照片"))
        photo_id, photo_key = photo.id, photo.storage_key
    assert f'name="wallet-{PHOTO_DOC}"' in page and f'<option value="{photo_id}">' in page
    response = upload(citizen_client, aid, {}, **{f"wallet-{PHOTO_DOC}": str(photo_id)})
    assert response.status_code == 302
    assert _stored(app) == files_before
    with app.app_context():
        doc = db.session.scalar(select(ApplicationDocument).where(ApplicationDocument.application_id == aid))
        assert (doc.requirement, doc.storage_key, doc.wallet_document_id) == (PHOTO_DOC, photo_key, photo_id)


def test_another_citizens_wallet_document_cannot_be_used(app, citizen_client, other_client):
    submitted(citizen_client)
    with app.app_context():
        photo_id = db.session.scalar(
            select(WalletDocument.id).where(WalletDocument.doc_type == "近期免冠照片")
        )
    aid = start(other_client)
    response = upload(other_client, aid, {}, **{f"wallet-{PHOTO_DOC}": str(photo_id)})
    assert response.status_code == 422
    assert re.search(rf'id="doc-error-{PHOTO_DOC}"', response.text)
    assert _count(app, ApplicationDocument) == 2  # only A's


def test_deleting_a_wallet_document_in_use_keeps_the_file(app, citizen_client):
    aid = submitted(citizen_client)
    with app.app_context():
        photo = db.session.scalar(select(WalletDocument).where(WalletDocument.doc_type == "近期免冠照片"))
        photo_id, key = photo.id, photo.storage_key
    assert citizen_client.post(f"/me/wallet/{photo_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.get(WalletDocument, photo_id) is None
        doc = db.session.scalar(select(ApplicationDocument).where(ApplicationDocument.storage_key == key))
        assert doc is not None and doc.wallet_document_id is None
    assert key in _stored(app)
    doc_id = doc.id
    assert citizen_client.get(f"/applications/{aid}/files/{doc_id}").status_code == 200


def test_deleting_an_unused_wallet_document_removes_the_file(app, citizen_client, citizen):
    with app.app_context():
        storage = get_storage()
        key = storage.save(corpus.jpeg(), suffix=".jpg")
        row = WalletDocument(
            owner_id=citizen.id,
            doc_type="近期免冠照片",
            trust_level=TrustLevel.C,
            storage_key=key,
            kind="jpg",
            mimetype="image/jpeg",
            size=10,
            sha256="0" * 64,
            display_name="旧照片.jpg",
        )
        db.session.add(row)
        db.session.commit()
        wid = row.id
    assert citizen_client.post(f"/me/wallet/{wid}/delete").status_code == 302
    assert key not in _stored(app)
    with app.app_context():
        assert db.session.get(WalletDocument, wid) is None


def test_a_failed_delete_keeps_the_file(app, citizen, demo, monkeypatch):
    """The file goes only after the commit: a rollback keeps file and row."""
    with app.app_context():
        storage = get_storage()
        key = storage.save(corpus.jpeg(), suffix=".jpg")
        row = WalletDocument(
            owner_id=citizen.id,
            doc_type="x",
            trust_level=TrustLevel.C,
            storage_key=key,
            kind="jpg",
            mimetype="image/jpeg",
            size=10,
            sha256="1" * 64,
            display_name="x.jpg",
        )
        db.session.add(row)
        db.session.commit()
        from auth.models import User

        ops.delete_wallet_document(db.session.get(User, citizen.id), row.id, storage)
        db.session.flush()
        assert key in _stored(app)
        db.session.rollback()
    assert key in _stored(app)


# Download -----------------------------------------------------------------------------------------


def test_download_headers_and_cleaned_bytes(app, citizen_client):
    aid = start(citizen_client)
    original = corpus.jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(corpus.GPS_IFD)
    upload(citizen_client, aid, {PHOTO_DOC: (original, "我的照片.jpg"), ID_DOC: (corpus.pdf(), "身份证.pdf")})
    with app.app_context():
        doc = db.session.scalar(
            select(ApplicationDocument).where(ApplicationDocument.requirement == PHOTO_DOC)
        )
        doc_id, key = doc.id, doc.storage_key
        stored = get_storage().open(key)
    response = citizen_client.get(f"/applications/{aid}/files/{doc_id}")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E6%88%91%E7%9A%84%E7%85%A7%E7%89%87.jpg" in disposition
    assert all(ord(ch) < 128 for ch in disposition)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.mimetype == "image/jpeg"
    assert response.data == stored and response.data != original
    image = Image.open(io.BytesIO(response.data))
    assert not image.getexif().get_ifd(corpus.GPS_IFD)
    assert b"GPS" not in response.data
    assert Path(app.config["UPLOAD_DIR"]).resolve() not in Path(app.static_folder).resolve().parents


def test_download_of_a_missing_file_is_404(app, citizen_client):
    aid = start(citizen_client)
    upload(citizen_client, aid, {PHOTO_DOC: (jpeg(), "a.jpg")})
    with app.app_context():
        doc = db.session.scalar(select(ApplicationDocument))
        get_storage().delete(doc.storage_key)
        doc_id = doc.id
    assert citizen_client.get(f"/applications/{aid}/files/{doc_id}").status_code == 404
    assert citizen_client.get(f"/applications/{aid}/files/999999").status_code == 404
