"""Backup and restore of encrypted uploads: the archive holds ciphertext and never the master key; a
restore with the same master key reads every file, one without it says so."""

from __future__ import annotations

import json
import tarfile

from sqlalchemy import select

from applications.models import ApplicationDocument
from core.db import db
from core.filecrypt import MAGIC
from core.storage import get_storage
from tests.core.test_backup import _backup, _restore

OTHER_MASTER = "YW5vdGhlci1tYXN0ZXIta2V5LW9mLTMyLWJ5dGVzISE"


def _documents(app) -> dict[str, bytes]:
    with app.app_context():
        keys = db.session.scalars(select(ApplicationDocument.storage_key))
        return {k: get_storage().open(k) for k in keys}


def test_the_archive_holds_ciphertext_and_names_the_master_key_without_holding_it(source, target, tmp_path):
    documents = _documents(source)
    assert len(documents) == 2
    with source.app_context():
        master_id = source.extensions["keyring"].master.current_id
    archive = _backup(source, tmp_path / "out")
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        names = tar.getnames()
        uploads = {n: tar.extractfile(n).read() for n in names if n.startswith("uploads/")}
    assert manifest["master_keys"]["needed"] == [master_id] and not manifest["master_keys"]["stored"]
    assert len(uploads) == 2
    for body in uploads.values():
        assert body.startswith(MAGIC)
        assert not any(plain[:32] in body for plain in documents.values())  # no stretch of a document
    assert not [n for n in names if "master" in n or n.startswith("keys")]  # no master key file

    restored = target()
    result = _restore(restored, archive)
    assert result.exit_code == 0, result.output
    assert f"master key(s) {master_id} present" in result.output
    assert _documents(restored) == documents


def test_a_restore_without_the_master_key_says_the_files_cannot_be_read(source, target, tmp_path):
    archive = _backup(source, tmp_path / "out")
    restored = target(MASTER_KEY=OTHER_MASTER)
    result = _restore(restored, archive)
    assert result.exit_code == 0, result.output
    assert "are not configured here" in result.output and "cannot be decrypted" in result.output
