"""Where uploaded files live: a small storage interface and its local-disk implementation.

Files are addressed by *keys* that the storage itself invents — ``"ab/cd/<32 hex><suffix>"``, 128 random
bits — so a key is unguessable, never derived from anything the citizen sent, and safe to keep in the
database. The citizen's own file name is kept only as a display name next to the key.

``LocalStorage`` keeps files under one root folder (``UPLOAD_DIR``, outside ``static/``) and writes them
crash-safely: a temporary file in the target folder, ``flush`` + ``fsync``, an atomic ``os.replace`` onto
the final name, then an ``fsync`` of the folder so the rename itself survives a power cut. A reader
therefore sees either the whole file or none, and a crash leaves at worst a ``.tmp-*`` file that
:meth:`LocalStorage.purge_temp` (called by the orphan sweeper) removes later. Every key that comes back
in is validated against the exact key pattern before it touches the file system, so a tampered key
(``../x``, an absolute path, other characters) raises ``ValueError`` and can never leave the root.

A file and the database row that references it are written in that order: save the file, then flush and
commit the row. If the commit fails the file is an orphan; ``flask storage sweep``
(:mod:`applications.documents.sweep`) deletes unreferenced files once they are older than a grace period.

Another backend (an S3-compatible store, say) only has to implement :class:`Storage` (and, to stream,
``open_stream``); put an instance in ``app.extensions["storage"]`` before the first request and
:func:`get_storage` returns it wrapped in :class:`core.filecrypt.EncryptedStorage`: every file is stored
encrypted under its own key (issue 19), whatever the backend.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

#: File suffixes a key may end with (the cleaned upload kinds).
DEFAULT_SUFFIXES: tuple[str, ...] = (".jpg", ".png", ".pdf")

_TEMP_PREFIX = ".tmp-"


@runtime_checkable
class Storage(Protocol):
    """A flat store of immutable blobs addressed by keys it generates itself."""

    def save(self, data: bytes, *, suffix: str) -> str:
        """Store ``data`` durably under a new random key ending in ``suffix`` and return the key."""
        ...

    def open(self, key: str) -> bytes:
        """Return the bytes stored under ``key``; raise ``FileNotFoundError`` if there are none."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; a key that is already gone is not an error."""
        ...

    def keys(self) -> Iterator[tuple[str, float]]:
        """Yield ``(key, mtime)`` for everything stored (mtime in seconds since the epoch)."""
        ...


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage:
    """Files under ``root`` (created mode 0700 on first save), each mode 0600, written atomically."""

    def __init__(self, root: str | os.PathLike[str], *, suffixes: Iterable[str] = DEFAULT_SUFFIXES) -> None:
        self.root = Path(root).absolute()
        self.suffixes = tuple(suffixes)
        for suffix in self.suffixes:
            if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
                raise ValueError(f"invalid storage suffix {suffix!r}")
        alternatives = "|".join(re.escape(s) for s in self.suffixes)
        self._key_re = re.compile(rf"([0-9a-f]{{2}})/([0-9a-f]{{2}})/([0-9a-f]{{32}})({alternatives})")

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    # -- keys ------------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        """The file for ``key``, after checking the key is exactly one this storage could have made."""
        if not isinstance(key, str):
            raise ValueError("storage key must be a string")
        match = self._key_re.fullmatch(key)
        if match is None or match[3][:4] != match[1] + match[2]:
            raise ValueError(f"invalid storage key {key!r}")
        path = self.root / key
        # Belt and braces: the pattern already excludes '..', '/' at the start and any other character.
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise ValueError(f"storage key {key!r} leaves the storage root")
        return path

    def _new_key(self, suffix: str) -> str:
        if suffix not in self.suffixes:
            raise ValueError(f"suffix {suffix!r} is not one of {self.suffixes}")
        name = secrets.token_hex(16)
        return f"{name[:2]}/{name[2:4]}/{name}{suffix}"

    # -- Storage ---------------------------------------------------------------------------------

    def save(self, data: bytes, *, suffix: str) -> str:
        """Write ``data`` to a temp file, fsync it, rename it atomically onto a new key, fsync the folder.

        On any error the temp file is removed and the exception propagates; no key is returned.
        """
        key = self._new_key(suffix)
        path = self._path(key)
        self._make_dirs(path.parent)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX, suffix=".part")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(path.parent)
        return key

    def open(self, key: str) -> bytes:
        path = self._path(key)
        with open(path, "rb") as fh:  # FileNotFoundError propagates
            return fh.read()

    def open_stream(self, key: str, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        """The bytes under ``key`` in pieces; ``FileNotFoundError`` (or ``ValueError`` for a bad key) is
        raised at the first ``next()``."""
        path = self._path(key)
        with open(path, "rb") as fh:
            while piece := fh.read(chunk_size):
                yield piece

    def stage(self, key: str, pieces: Iterable[bytes]) -> str:
        """Write a replacement for the existing ``key`` to a fsynced temp file beside it; return its
        path, for :meth:`replace` (used by the encryption of files written before it)."""
        path = self._path(key)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                for piece in pieces:
                    fh.write(piece)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        return tmp_name

    def replace(self, key: str, staged: str) -> None:
        """Atomically put the file :meth:`stage` wrote in place of ``key``'s (rename, then fsync)."""
        path = self._path(key)
        if Path(staged).parent != path.parent or not Path(staged).name.startswith(_TEMP_PREFIX):
            raise ValueError("not a staged file for this key")
        os.replace(staged, path)
        _fsync_dir(path.parent)

    def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def keys(self) -> Iterator[tuple[str, float]]:
        """Walk the two-level fan-out and yield every well-formed key; anything else is ignored."""
        for first in self._subdirs(self.root):
            for second in self._subdirs(first):
                try:
                    entries = list(os.scandir(second))
                except FileNotFoundError:
                    continue
                for entry in entries:
                    key = f"{first.name}/{second.name}/{entry.name}"
                    if entry.name.startswith(_TEMP_PREFIX) or not self._is_key(key):
                        continue
                    try:
                        if not entry.is_file(follow_symlinks=False):
                            continue
                        mtime = entry.stat(follow_symlinks=False).st_mtime
                    except FileNotFoundError:  # deleted while we were walking
                        continue
                    yield key, mtime

    # -- housekeeping ----------------------------------------------------------------------------

    def purge_temp(self, older_than_seconds: float = 3600, *, now: float | None = None) -> int:
        """Remove ``.tmp-*`` files left by a process killed mid-save; return how many were removed.

        Only files older than ``older_than_seconds`` go, so a save in progress is never disturbed.
        """
        cutoff = (time.time() if now is None else now) - older_than_seconds
        removed = 0
        for first in self._subdirs(self.root):
            for second in self._subdirs(first):
                for tmp in second.glob(_TEMP_PREFIX + "*"):
                    try:
                        if tmp.is_file() and not tmp.is_symlink() and tmp.stat().st_mtime < cutoff:
                            tmp.unlink()
                            removed += 1
                    except FileNotFoundError:
                        continue
        return removed

    def _is_key(self, key: str) -> bool:
        try:
            self._path(key)
        except ValueError:
            return False
        return True

    @staticmethod
    def _subdirs(path: Path) -> Iterator[Path]:
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except FileNotFoundError:
            return
        for entry in entries:
            if re.fullmatch(r"[0-9a-f]{2}", entry.name) and entry.is_dir(follow_symlinks=False):
                yield Path(entry.path)

    def _make_dirs(self, folder: Path) -> None:
        """Create ``folder`` and its parents (mode 0700), fsyncing each parent that gained an entry."""
        missing: list[Path] = []
        current = folder
        while not current.is_dir():
            missing.append(current)
            current = current.parent
        for path in reversed(missing):
            try:
                path.mkdir(mode=0o700)
            except FileExistsError:  # another worker made it first
                continue
            _fsync_dir(path.parent)


def get_storage() -> Storage:
    """The current app's storage: ``app.extensions["storage"]`` (created from ``UPLOAD_DIR`` on first
    use) wrapped in :class:`core.filecrypt.EncryptedStorage`, so everything stored is encrypted.

    A bare Flask app without the portal's keyring and database (the store's own tests) gets the
    backend itself: there is nowhere to keep the file keys.
    """
    from flask import current_app

    extensions = current_app.extensions
    storage = extensions.get("storage")
    if storage is None:
        storage = extensions.setdefault("storage", LocalStorage(current_app.config["UPLOAD_DIR"]))
    keyring = extensions.get("keyring")
    if keyring is None or "sqlalchemy" not in extensions:
        return storage
    wrapped = extensions.get("encrypted_storage")
    if wrapped is None or wrapped.inner is not storage:
        from core.filecrypt import EncryptedStorage

        wrapped = extensions["encrypted_storage"] = EncryptedStorage(storage, keyring)
    return wrapped
