"""The orphan sweeper deletes unreferenced files once they are older than the grace period."""

from __future__ import annotations

import os
import time

import pytest
from flask import Flask, has_app_context

from applications.documents.sweep import register_cli, sweep_orphans
from core.storage import LocalStorage, get_storage


def _age(storage: LocalStorage, key: str, seconds: float) -> None:
    stamp = time.time() - seconds
    os.utime(storage.root / key, (stamp, stamp))


def _stored(storage: LocalStorage) -> set[str]:
    return {key for key, _mtime in list(storage.keys())}


@pytest.fixture
def store(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "uploads")


def test_sweep_deletes_only_unreferenced_files_past_the_grace_period(store):
    referenced_old = store.save(b"a", suffix=".jpg")
    orphan_old = store.save(b"b", suffix=".png")
    orphan_new = store.save(b"c", suffix=".pdf")  # an upload whose row is still being committed
    _age(store, referenced_old, 7200)
    _age(store, orphan_old, 7200)

    deleted = sweep_orphans(store, {referenced_old}, older_than_seconds=3600)

    assert deleted == [orphan_old]
    assert _stored(store) == {referenced_old, orphan_new}
    assert sweep_orphans(store, {referenced_old}) == []  # nothing more to do


def test_zero_grace_removes_every_orphan(store):
    keep = store.save(b"a", suffix=".jpg")
    orphan = store.save(b"b", suffix=".jpg")
    assert sweep_orphans(store, {keep}, 0, now=time.time() + 1) == [orphan]


def test_sweep_purges_abandoned_temp_files(store):
    key = store.save(b"a", suffix=".jpg")
    tmp = (store.root / key).parent / ".tmp-killed.part"
    tmp.write_bytes(b"half")
    os.utime(tmp, (0, 0))
    sweep_orphans(store, {key})
    assert not tmp.exists()


def test_negative_grace_is_refused(store):
    with pytest.raises(ValueError):
        sweep_orphans(store, set(), -1)


def test_cli_sweep(tmp_path):
    app = Flask(__name__)
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    with app.app_context():
        storage = get_storage()
        kept = storage.save(b"kept", suffix=".jpg")
        orphan = storage.save(b"orphan", suffix=".jpg")
        fresh = storage.save(b"fresh", suffix=".jpg")
    _age(storage, kept, 100)
    _age(storage, orphan, 100)
    calls = []

    def referenced():
        calls.append(has_app_context())
        return [kept]

    register_cli(app, referenced)
    result = app.test_cli_runner().invoke(args=["storage", "sweep", "--grace-seconds", "50"])
    assert result.exit_code == 0, result.output
    assert "removed 1 " in result.output
    assert calls == [True]
    assert _stored(storage) == {kept, fresh}

    result = app.test_cli_runner().invoke(args=["storage", "sweep", "--grace-seconds", "-5"])
    assert result.exit_code != 0
