"""LocalStorage: atomic, private, unguessable, and impossible to steer outside its root."""

from __future__ import annotations

import os
import re
import stat

import pytest
from flask import Flask

from core import storage as storage_module
from core.storage import LocalStorage, Storage, get_storage

KEY_RE = re.compile(r"([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{32})\.(jpg|png|pdf)")


@pytest.fixture
def store(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "uploads")


def _files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_save_open_round_trip(store):
    key = store.save(b"%PDF-1.7 hello", suffix=".pdf")
    match = KEY_RE.fullmatch(key)
    assert match, key
    assert match[3].startswith(match[1] + match[2])
    assert store.open(key) == b"%PDF-1.7 hello"
    assert isinstance(store, Storage)


def test_files_and_folders_are_private(store):
    key = store.save(b"x", suffix=".jpg")
    path = store.root / key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (store.root, path.parent, path.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0


def test_keys_are_random_and_unguessable(store):
    keys = {store.save(b"same bytes", suffix=".png") for _ in range(64)}
    assert len(keys) == 64
    names = [KEY_RE.fullmatch(k)[3] for k in keys]
    assert all(len(n) == 32 for n in names)
    # 128 random bits: no two share even a 12-hex prefix across 64 draws (p ≈ 7e-12)
    assert len({n[:12] for n in names}) == 64


@pytest.mark.parametrize(
    "key",
    [
        "../x",
        "../../etc/passwd",
        "/etc/passwd",
        "ab/cd/../../../x.jpg",
        "ab/cd/" + "a" * 32 + ".jpg",  # fan-out does not match the name
        "AB/CD/" + "ABCD" + "0" * 28 + ".jpg",
        "ab/cd/abcd" + "0" * 28,  # no suffix
        "ab/cd/abcd" + "0" * 28 + ".exe",
        "ab/cd/abcd" + "0" * 28 + ".jpg\x00",
        "ab/cd/abcd" + "0" * 28 + ".jpg/",
        "ab\\cd\\abcd" + "0" * 28 + ".jpg",
        "",
    ],
)
def test_tampered_keys_are_refused(store, key):
    for method in (store.open, store.delete):
        with pytest.raises(ValueError):
            method(key)


def test_symlinked_fan_out_cannot_escape(store, tmp_path):
    outside = tmp_path / "outside"
    (outside / "cd").mkdir(parents=True)
    name = "abcd" + "0" * 28
    (outside / "cd" / f"{name}.jpg").write_bytes(b"secret")
    store.root.mkdir()
    (store.root / "ab").symlink_to(outside)
    with pytest.raises(ValueError):
        store.open(f"ab/cd/{name}.jpg")
    assert list(store.keys()) == []


def test_bad_suffix_is_refused(store):
    for suffix in (".exe", "/../x.jpg", "", "jpg"):
        with pytest.raises(ValueError):
            store.save(b"x", suffix=suffix)
    assert _files(store.root) == []


def test_missing_files(store):
    key = store.save(b"x", suffix=".jpg")
    store.delete(key)
    store.delete(key)  # already gone: fine
    with pytest.raises(FileNotFoundError):
        store.open(key)


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_crash_between_write_and_rename_leaves_nothing(store, monkeypatch, failing):
    store.save(b"warm up the folders", suffix=".jpg")
    before = _files(store.root)

    def crash(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(storage_module.os, failing, crash)
    with pytest.raises(OSError, match="disk on fire"):
        store.save(b"half written", suffix=".jpg")
    monkeypatch.undo()
    assert _files(store.root) == before  # neither the final file nor a temp file


def test_keys_lists_stored_files_only(store):
    saved = {store.save(bytes([i]), suffix=".png") for i in range(3)}
    some_dir = (store.root / next(iter(saved))).parent
    (some_dir / ".tmp-abandoned.part").write_bytes(b"x")
    (some_dir / "notes.txt").write_bytes(b"x")
    (store.root / "README").write_bytes(b"x")
    listed = dict(store.keys())
    assert set(listed) == saved
    assert all(isinstance(m, float) for m in listed.values())
    assert list(LocalStorage(store.root / "missing").keys()) == []


def test_purge_temp_removes_only_old_temp_files(store):
    key = store.save(b"x", suffix=".jpg")
    folder = (store.root / key).parent
    old, fresh = folder / ".tmp-old.part", folder / ".tmp-fresh.part"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(old, (0, 0))
    assert store.purge_temp(3600) == 1
    assert not old.exists() and fresh.exists()
    assert store.open(key) == b"x"


def test_get_storage_is_cached_per_app(tmp_path):
    app = Flask(__name__)
    app.config["UPLOAD_DIR"] = str(tmp_path / "u")
    with app.app_context():
        first = get_storage()
        assert first is get_storage()
        assert isinstance(first, LocalStorage)
        assert first.root == tmp_path / "u"
    other = Flask(__name__)
    other.config["UPLOAD_DIR"] = str(tmp_path / "v")
    custom = LocalStorage(tmp_path / "w")
    other.extensions["storage"] = custom
    with other.app_context():
        assert get_storage() is custom
