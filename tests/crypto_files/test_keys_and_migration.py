"""File keys under master-key rotation (``flask keys rotate --master``, interrupted and resumed) and the
data migration that encrypts an upload folder written before encryption (stopped midway, run again)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select

from core.crypto.cli import rotate
from core.crypto.keyring import MasterKeys, master_key_path
from core.db import db
from core.filecrypt import MAGIC, StoredFile
from core.storage import LocalStorage, get_storage
from tests.conftest import TEST_CONFIG
from tests.uploads import corpus

REVISION = "ed7ace4d9786"


class Interrupted(Exception):
    pass


@pytest.fixture
def keyfile_app(make_app, tmp_path):
    """An app whose master key is a file in the instance folder (rotation appends to it)."""
    app = make_app(MASTER_KEY="")
    # the test master key, now in a file (the template database's data keys are wrapped by it)
    key = base64.urlsafe_b64decode(TEST_CONFIG["MASTER_KEY"] + "=" * (-len(TEST_CONFIG["MASTER_KEY"]) % 4))
    MasterKeys.write_file(master_key_path(app.config), [key])
    return app


def _files(app, n: int) -> dict[str, bytes]:
    with app.app_context():
        storage = get_storage()
        out = {}
        for i in range(n):
            data = corpus.jpeg(color=("red", "blue", "green", "white", "black")[i % 5], size=(20 + i, 20))
            out[storage.save(data, suffix=".jpg")] = data
        db.session.commit()
    return out


def _masters(app) -> dict[str, str]:
    with app.app_context():
        return dict(db.session.execute(select(StoredFile.storage_key, StoredFile.master_id)).all())


def test_master_rotation_rewraps_every_file_key_and_resumes_after_an_interruption(keyfile_app, make_app):
    app = keyfile_app
    files = _files(app, 5)
    (old,) = set(_masters(app).values())
    lines: list[str] = []

    def stop_after_first_batch(line: str) -> None:
        lines.append(line)
        if line.startswith("stored_files"):
            raise Interrupted  # the operator pressed Ctrl-C after the first committed batch

    with app.app_context(), pytest.raises(Interrupted):
        rotate(master=True, resume=False, batch=2, echo=stop_after_first_batch)
    assert lines[-1] == "stored_files: 2/5"
    masters = _masters(app)
    (new,) = set(masters.values()) - {old}
    assert sorted(masters.values()).count(new) == 2
    with app.app_context():  # half-way: both kinds open
        assert {k: get_storage().open(k) for k in files} == files

    lines.clear()
    with app.app_context():
        rotate(master=True, resume=True, batch=2, echo=lines.append)
    assert "stored_files: 3/3" in lines
    assert set(_masters(app).values()) == {new}
    fresh = make_app(MASTER_KEY="")  # another process, reading the key file from scratch
    with fresh.app_context():
        assert fresh.extensions["keyring"].master.current_id == new
        assert {k: get_storage().open(k) for k in files} == files
    with app.app_context():  # a run with nothing left to do says so
        lines.clear()
        rotate(master=False, resume=True, batch=2, echo=lines.append)
    assert "stored_files: 0/0" in lines


def test_a_file_key_under_an_unknown_master_key_is_refused_not_garbled(keyfile_app, make_app):
    files = _files(keyfile_app, 1)
    stranger = make_app(MASTER_KEY="YW5vdGhlci1tYXN0ZXIta2V5LW9mLTMyLWJ5dGVzISE")
    with stranger.app_context(), pytest.raises(RuntimeError, match="missing or wrong"):
        get_storage().open(next(iter(files)))


def _plaintext_folder(app, n: int) -> dict[str, bytes]:
    inner = LocalStorage(app.config["UPLOAD_DIR"])
    makers = (corpus.jpeg, corpus.png, corpus.pdf)
    out = {}
    for i in range(n):
        data = makers[i % 3]()
        out[inner.save(data, suffix=(".jpg", ".png", ".pdf")[i % 3])] = data
    return out


def test_the_migration_encrypts_the_files_already_there_and_carries_on_after_a_stop(app, monkeypatch):
    with app.app_context():
        downgrade(revision=f"{REVISION}-1")  # the folder as it was before this revision
        db.session.remove()
    files = _plaintext_folder(app, 7)
    real_replace = LocalStorage.replace
    renamed: list[str] = []

    def dies_on_the_fourth(self, key, staged):
        if len(renamed) == 3:
            raise Interrupted("power cut")
        renamed.append(key)
        real_replace(self, key, staged)

    monkeypatch.setattr(LocalStorage, "replace", dies_on_the_fourth)
    with app.app_context(), pytest.raises(Interrupted):
        upgrade()
    monkeypatch.undo()
    root = Path(app.config["UPLOAD_DIR"])
    with app.app_context():
        db.session.remove()
        rows = set(db.session.scalars(select(StoredFile.storage_key)))
        assert rows == set(files)  # the batch's key rows committed before its renames
        assert sum((root / k).read_bytes().startswith(MAGIC) for k in files) == 3
        stuck = next(k for k in files if k not in renamed)
        with pytest.raises(ValueError, match="not an encrypted file"):
            get_storage().open(stuck)  # a row but still plaintext: refused until the run finishes
        db.session.remove()
        upgrade()  # run again: finishes, re-using the keys already in the rows
        db.session.remove()
        assert {k: get_storage().open(k) for k in files} == files
        assert len(set(db.session.scalars(select(StoredFile.storage_key)))) == 7
    for path in root.rglob("*"):
        if path.is_file():
            body = path.read_bytes()
            assert body.startswith(MAGIC), path
            # no file's opening bytes anywhere (a 3-byte magic alone would match ciphertext by chance)
            assert not any(plain[:32] in body for plain in files.values()), path
    with app.app_context():  # and back: the way down decrypts in place
        downgrade(revision=f"{REVISION}-1")
        assert {k: LocalStorage(root).open(k) for k in files} == files
        upgrade()


def test_flask_storage_encrypt_converts_what_an_old_version_wrote_meanwhile(app):
    files = _plaintext_folder(app, 3)
    with app.app_context():
        already = get_storage().save(corpus.jpeg(), suffix=".jpg")
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["storage", "encrypt", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "encrypted 3 file(s)" in result.output and "stored_files: 4/4" in result.output
    root = Path(app.config["UPLOAD_DIR"])
    assert all((root / k).read_bytes().startswith(MAGIC) for k in [*files, already])
    with app.app_context():
        assert {k: get_storage().open(k) for k in files} == files
    again = app.test_cli_runner().invoke(args=["storage", "encrypt"])
    assert "encrypted 0 file(s)" in again.output


def test_start_up_is_refused_when_the_files_master_key_is_missing_or_wrong(app, make_app, tmp_path):
    from core.preflight import problems

    assert problems(app) == []
    _files(app, 1)
    assert problems(app) == []
    wrong = make_app(MASTER_KEY="YW5vdGhlci1tYXN0ZXIta2V5LW9mLTMyLWJ5dGVzISE")
    (line,) = [p for p in problems(wrong) if p.startswith("MASTER_KEY:")]
    assert "missing or wrong" in line
    assert wrong.test_client().get("/readyz").status_code == 503
    none = make_app(MASTER_KEY="", INSTANCE_DIR=str(tmp_path / "elsewhere"))
    assert any("no master key" in p for p in problems(none))
