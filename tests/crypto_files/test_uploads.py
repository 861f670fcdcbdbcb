"""Uploads stored encrypted (issue 19): through the citizen's upload, the clerk's viewer and the
download; nothing recognisable in the upload folder; a damaged file refused with a clear page."""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from applications.models import Application, ApplicationDocument
from applications.submission.operations import pinned_item
from core.db import db
from core.filecrypt import HEADER_BYTES, MAGIC, SEGMENT_SIZE, TAG_BYTES, StoredFile
from core.storage import LocalStorage, get_storage
from tests.applications.helpers import ID_DOC, PHOTO_DOC, item_form, post_form, start, upload
from tests.auth.helpers import login, make_account
from tests.clerk.helpers import insert_submitted, login_staff, user
from tests.uploads import corpus

CLERK = "clerk_ps_dc_01"
SEALED = SEGMENT_SIZE + TAG_BYTES
MAGIC_BYTES = (b"\xff\xd8\xff", b"\x89PNG", b"%PDF")


def noisy_jpeg(side: int = 500) -> bytes:
    """A photo that stays several segments long after the cleaner re-encodes it (noise compresses badly)."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


def _citizen_client(app):
    account = make_account(app, "citizen")
    client = app.test_client()
    assert login(client, account.login).status_code == 302
    return client


def _uploaded(app, aid: int) -> dict[int, tuple[int, str]]:
    with app.app_context():
        docs = db.session.scalars(
            select(ApplicationDocument).where(ApplicationDocument.application_id == aid)
        )
        return {d.requirement: (d.id, d.storage_key) for d in docs}


def _on_disk(app, key: str) -> Path:
    return Path(app.config["UPLOAD_DIR"]) / key


def _for_the_clerk(app, key: str, kind: str = "jpg", mimetype: str = "image/jpeg") -> tuple[int, int]:
    """The stored file attached to an application the clerk holds; (application id, document id)."""
    with app.app_context():
        (aid,) = insert_submitted(1, claimed_by_id=user(CLERK).id)
        requirement = pinned_item(db.session.get(Application, aid)).documents[0]
        doc = ApplicationDocument(
            application_id=aid,
            requirement=requirement.position,
            requirement_name=requirement.name,
            storage_key=key,
            kind=kind,
            mimetype=mimetype,
            size=1,
            sha256="0" * 64,
            display_name="材料." + kind,
        )
        db.session.add(doc)
        db.session.commit()
        return aid, doc.id


@pytest.fixture
def photo_upload(world):
    """A citizen's draft with a multi-segment photo and a PDF uploaded through the form."""
    app = world
    client = _citizen_client(app)
    aid = start(client)
    assert post_form(client, aid, item_form()).status_code == 302
    photo = noisy_jpeg()
    response = upload(client, aid, {PHOTO_DOC: (photo, "照片.jpg"), ID_DOC: (corpus.pdf(), "身份证.pdf")})
    assert response.status_code in (200, 302), response.text
    return app, client, aid, _uploaded(app, aid)


def test_upload_clerk_viewer_and_download_round_trip(photo_upload):
    app, client, aid, docs = photo_upload
    photo_id, photo_key = docs[PHOTO_DOC]
    pdf_id, _pdf_key = docs[ID_DOC]
    raw = _on_disk(app, photo_key).read_bytes()
    assert raw.startswith(MAGIC)
    with app.app_context():
        row = db.session.get(StoredFile, photo_key)
        assert row.algorithm == "aes-256-gcm" and row.master_id == row.wrapped_key.split(".")[0]
        plain = get_storage().open(photo_key)
    assert plain.startswith(b"\xff\xd8\xff") and row.size == len(plain) > 2 * SEGMENT_SIZE
    # no stretch of the photo on disk (a 3-byte marker would match ciphertext by chance once per 16 MB)
    assert plain[:32] not in raw and plain[len(plain) // 2 : len(plain) // 2 + 32] not in raw
    assert len(raw) == HEADER_BYTES + len(plain) + -(-len(plain) // SEGMENT_SIZE) * TAG_BYTES

    download = client.get(f"/applications/{aid}/files/{photo_id}")
    assert download.status_code == 200 and download.data == plain
    assert download.headers["Content-Length"] == str(len(plain))
    assert Image.open(io.BytesIO(download.data)).size == (500, 500)
    assert client.get(f"/applications/{aid}/files/{pdf_id}").data.startswith(b"%PDF")

    clerk = app.test_client()
    login_staff(clerk, CLERK)
    held, doc_id = _for_the_clerk(app, photo_key)
    viewed = clerk.get(f"/clerk/applications/{held}/files/{doc_id}")
    assert viewed.status_code == 200 and viewed.data == plain
    assert viewed.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_a_download_streams_segment_by_segment(photo_upload):
    app, client, aid, docs = photo_upload
    photo_id, photo_key = docs[PHOTO_DOC]
    response = client.get(f"/applications/{aid}/files/{photo_id}", buffered=False)
    assert response.is_streamed
    pieces = list(response.response)
    response.close()
    assert len(pieces) >= 3 and all(len(p) == SEGMENT_SIZE for p in pieces[:-1])
    with app.app_context():
        assert b"".join(pieces) == get_storage().open(photo_key)


def test_the_upload_folder_holds_no_recognisable_file(photo_upload):
    app, client, aid, _docs = photo_upload
    upload(client, aid, {PHOTO_DOC: (corpus.png(), "照片.png")})  # a PNG too (replaces the photo)
    with app.app_context():
        assert (
            db.session.scalar(
                select(ApplicationDocument.kind).where(
                    ApplicationDocument.application_id == aid, ApplicationDocument.requirement == PHOTO_DOC
                )
            )
            == "png"
        )
    files = [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]
    assert len(files) >= 2
    for path in files:
        body = path.read_bytes()
        assert body.startswith(MAGIC), path
        # what a file-type sniffer or a carving tool looks for: a known header at the start, or a
        # marker long enough never to occur by chance in ciphertext (three random bytes would match
        # once in every 16 MB, so \xff\xd8\xff is only looked for where a JPEG starts)
        for magic in MAGIC_BYTES:
            assert not body.startswith(magic), (path, magic)
        for marker in (b"JFIF", b"Exif\x00\x00", b"\x89PNG\r\n\x1a\n", b"IHDR", b"%PDF-", b"%%EOF"):
            assert marker not in body, (path, marker)


def _tamper(app, key: str, how: str) -> None:
    path = _on_disk(app, key)
    blob = bytearray(path.read_bytes())
    if how == "flipped":
        blob[HEADER_BYTES + SEALED + 10] ^= 0x40  # in the second segment: only a full check sees it
    elif how == "truncated":
        blob = blob[: HEADER_BYTES + 2 * SEALED]  # at a segment boundary
    elif how == "swapped":
        s0, s1 = (
            slice(HEADER_BYTES, HEADER_BYTES + SEALED),
            slice(HEADER_BYTES + SEALED, HEADER_BYTES + 2 * SEALED),
        )
        blob[s0], blob[s1] = blob[s1], blob[s0]
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("how", ["flipped", "truncated", "swapped"])
def test_a_tampered_file_is_refused_with_a_clear_page(photo_upload, how, caplog):
    app, client, aid, docs = photo_upload
    photo_id, photo_key = docs[PHOTO_DOC]
    _tamper(app, photo_key, how)
    response = client.get(f"/applications/{aid}/files/{photo_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "未通过完整性校验" in page and "Traceback" not in page
    assert b"\xff\xd8\xff" not in response.data
    assert any("refused to decrypt" in r.getMessage() for r in caplog.records)

    clerk = app.test_client()
    login_staff(clerk, CLERK)
    held, doc_id = _for_the_clerk(app, photo_key)
    viewed = clerk.get(f"/clerk/applications/{held}/files/{doc_id}")
    assert viewed.status_code == 409 and "未通过完整性校验" in viewed.get_data(as_text=True)
    with app.app_context():  # the view was refused, so it was not audited as seen
        from core.audit import AuditLog

        seen = db.session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "application.document_view", AuditLog.object_id == str(held))
        )
        assert not seen


def test_a_file_from_before_encryption_is_served_as_it_is(world):
    app = world
    plain = corpus.jpeg(color="green")
    key = LocalStorage(app.config["UPLOAD_DIR"]).save(plain, suffix=".jpg")  # no key row: written before
    clerk = app.test_client()
    login_staff(clerk, CLERK)
    held, doc_id = _for_the_clerk(app, key)
    response = clerk.get(f"/clerk/applications/{held}/files/{doc_id}")
    assert response.status_code == 200 and response.data == plain


def test_an_encrypted_file_without_its_key_row_or_a_plaintext_file_with_one_is_refused(world):
    app = world
    with app.app_context():
        storage = get_storage()
        key = storage.save(corpus.jpeg(), suffix=".jpg")
        db.session.commit()
        db.session.execute(StoredFile.__table__.delete().where(StoredFile.storage_key == key))
        db.session.commit()
        with pytest.raises(ValueError, match="key is missing"):
            storage.open(key)
        other = storage.save(corpus.jpeg(), suffix=".jpg")
        db.session.commit()
    _on_disk(app, other).write_bytes(corpus.jpeg(color="black"))  # plaintext slipped under its key
    with app.app_context(), pytest.raises(ValueError, match="not an encrypted file"):
        get_storage().open(other)


def test_a_rolled_back_upload_leaves_neither_file_nor_key_row(world):
    app = world
    with app.app_context():
        key = get_storage().save(corpus.jpeg(), suffix=".jpg")
        assert db.session.get(StoredFile, key) is not None  # in the same transaction
        db.session.rollback()
        assert db.session.get(StoredFile, key) is None


def _age(app, key: str, seconds: int) -> None:
    path = _on_disk(app, key)
    if path.exists():
        stamp = path.stat().st_mtime - seconds
        os.utime(path, (stamp, stamp))
    with app.app_context():
        row = db.session.get(StoredFile, key)
        row.created_at = row.created_at - timedelta(seconds=seconds)
        db.session.commit()


def test_deleting_a_file_deletes_its_key_row_and_the_sweeper_takes_leftovers(world):
    app = world
    with app.app_context():
        storage = get_storage()
        gone = storage.save(corpus.jpeg(), suffix=".jpg")
        orphan, leftover, fresh = (storage.save(corpus.jpeg(), suffix=".jpg") for _ in range(3))
        db.session.commit()
        storage.delete(gone)  # no transaction under way: the row goes in a short one of its own
        assert db.session.get(StoredFile, gone) is None and not _on_disk(app, gone).exists()
        storage.inner.delete(leftover)  # the process died between deleting the file and its row
    with app.app_context():
        referenced_key = get_storage().save(corpus.jpeg(), suffix=".jpg")
        db.session.commit()
    _held, _doc = _for_the_clerk(app, referenced_key)
    for key in (orphan, leftover, referenced_key):
        _age(app, key, 7200)
    result = app.test_cli_runner().invoke(args=["storage", "sweep"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        left = set(db.session.scalars(select(StoredFile.storage_key)))
    assert left == {fresh, referenced_key}  # the old orphan's row and the leftover row are gone
    assert not _on_disk(app, orphan).exists() and _on_disk(app, referenced_key).exists()


def test_the_rights_export_decrypts_and_names_a_damaged_file(world):
    app = world
    client = _citizen_client(app)
    aid = start(client)
    upload(client, aid, {PHOTO_DOC: (corpus.jpeg(), "照片.jpg")})
    response = client.get("/me/data/download")
    assert response.status_code == 200
    import zipfile

    names = [n for n in zipfile.ZipFile(io.BytesIO(response.data)).namelist() if re.search(r"\.jpg$", n)]
    assert names and zipfile.ZipFile(io.BytesIO(response.data)).read(names[0]).startswith(b"\xff\xd8\xff")


def test_the_national_suite_encrypts_with_sm4_and_both_suites_read_each_other(make_app, world):
    aes_app = world
    with aes_app.app_context():
        aes_key = get_storage().save(corpus.jpeg(color="red"), suffix=".jpg")
        db.session.commit()
    sm_app = make_app(CRYPTO_SUITE="sm")
    with sm_app.app_context():
        storage = get_storage()
        sm_key = storage.save(corpus.jpeg(color="blue"), suffix=".jpg")
        db.session.commit()
        assert db.session.get(StoredFile, sm_key).algorithm == "sm4-gcm"
        assert storage.open(aes_key) == corpus.jpeg(color="red")  # a file from before the switch
    with aes_app.app_context():
        assert get_storage().open(sm_key) == corpus.jpeg(color="blue")
    assert _on_disk(aes_app, sm_key).read_bytes().startswith(MAGIC)
