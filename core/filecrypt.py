"""Every stored file encrypted at rest (issue 19): envelope encryption around any storage backend.

**Keys.** Each file gets its own random data key (:meth:`core.crypto.keyring.Keyring.new_file_key`),
wrapped by the master key and kept in ``stored_files`` next to the file's storage key — written in the
same transaction as the row that references the file (the upload's, the wallet's). A stolen upload
folder is useless without the database *and* the master key; a stolen database without the master key
too. ``flask keys rotate --master`` re-wraps the file keys in batches (:func:`rewrap_file_keys`); the
file bodies never need re-encrypting for that.

**Format** (a segmented AEAD, after Hoang, Reyhanitabar, Rogaway and Vizár's STREAM construction, as
Tink's streaming AEAD and age do it), so a download or the clerk's viewer decrypts in a stream::

    header   = b"PFE1" || segment size (uint32 BE) || nonce prefix (8 random bytes)      16 bytes
    segment  = AEAD(key, nonce = prefix || counter (uint32 BE),
                    plaintext <= segment size, aad = header || last-segment flag)        + 16-byte tag

AES-256-GCM or SM4-GCM, whichever the file's key was made for (recorded in the row). The header is
authenticated by every segment; the counter in the nonce makes a swapped or repeated segment fail; the
last-segment flag makes a file cut at a segment boundary (or extended) fail. Any of these raises
:class:`~core.crypto.DecryptionError` — never garbage.

**Before encryption.** A file without a ``stored_files`` row was written before this module existed
and is served as it is, until the data migration (or ``flask storage encrypt``) converts it. A file
*with* a row must be in the format above, and a file in the format above must have a row: anything else
is refused (a plaintext file slipped under an encrypted file's key is not served).
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import BigInteger, Connection, String, Text, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from core.crypto import ciphers
from core.crypto.ciphers import DecryptionError
from core.db import UTCDateTime, db, utcnow

if TYPE_CHECKING:
    from flask import Flask

    from core.crypto.keyring import Keyring
    from core.storage import Storage

log = logging.getLogger(__name__)

MAGIC = b"PFE1"
SEGMENT_SIZE = 64 * 1024
HEADER_BYTES = 16
PREFIX_BYTES = 8
TAG_BYTES = ciphers.TAG_BYTES
_HEADER = struct.Struct(">4sI8s")
#: plaintext segments larger than this are refused when reading a header (a tampered size field)
MAX_SEGMENT_SIZE = 16 * 1024 * 1024


class StoredFile(db.Model):
    """The key of one stored file: its data key wrapped by master key ``master_id`` (never in the clear).

    Keyed by the storage key, so application and wallet documents that share a file share its row. The
    row goes when the file goes (:meth:`EncryptedStorage.delete`, and the orphan sweeper for leftovers).
    """

    __tablename__ = "stored_files"

    storage_key: Mapped[str] = mapped_column(String(120), primary_key=True)
    wrapped_key: Mapped[str] = mapped_column(Text)
    master_id: Mapped[str] = mapped_column(String(16))
    algorithm: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# The format ---------------------------------------------------------------------------------------


class _Segments:
    """One file's AEAD: seal or open segment ``index`` under ``key`` with the header as associated data."""

    def __init__(self, algorithm: str, key: bytes, header: bytes) -> None:
        if algorithm not in ciphers.AEADS:
            raise DecryptionError(f"not a file cipher: {algorithm!r}")
        self.algorithm = algorithm
        self.key = key
        self.header = header
        self.prefix = header[8:16]
        self._aes = AESGCM(key) if algorithm == ciphers.AES_GCM else None

    def _nonce(self, index: int) -> bytes:
        if index >= 2**32:
            raise ValueError("file too large for its segment counter")
        return self.prefix + struct.pack(">I", index)

    def _aad(self, last: bool) -> bytes:
        return self.header + (b"\x01" if last else b"\x00")

    def seal(self, index: int, plaintext: bytes, last: bool) -> bytes:
        nonce, aad = self._nonce(index), self._aad(last)
        if self._aes is not None:
            return self._aes.encrypt(nonce, plaintext, aad)
        enc = Cipher(algorithms.SM4(self.key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        return enc.update(plaintext) + enc.finalize() + enc.tag

    def open(self, index: int, sealed: bytes, last: bool) -> bytes:
        if len(sealed) < TAG_BYTES:
            raise DecryptionError("the file is truncated (a segment is incomplete)")
        nonce, aad = self._nonce(index), self._aad(last)
        try:
            if self._aes is not None:
                return self._aes.decrypt(nonce, sealed, aad)
            dec = Cipher(algorithms.SM4(self.key), modes.GCM(nonce, sealed[-TAG_BYTES:])).decryptor()
            dec.authenticate_additional_data(aad)
            return dec.update(sealed[:-TAG_BYTES]) + dec.finalize()
        except InvalidTag:
            raise DecryptionError(
                f"segment {index} of the file does not authenticate (damaged, tampered, truncated, "
                "reordered, or under another key)"
            ) from None


def _rechunk(chunks: Iterable[bytes], size: int) -> Iterator[tuple[bytes, bool]]:
    """``(piece, is_last)`` with every piece exactly ``size`` bytes but the last (which may be empty)."""
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        while len(buf) > size:  # more than one piece's worth: this one is not the last
            yield bytes(buf[:size]), False
            del buf[:size]
    yield bytes(buf), True


def encrypt_chunks(algorithm: str, key: bytes, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The encrypted file, as a stream of pieces: the header, then one sealed segment per piece."""
    header = _HEADER.pack(MAGIC, SEGMENT_SIZE, os.urandom(PREFIX_BYTES))
    seg = _Segments(algorithm, key, header)
    yield header
    for index, (piece, last) in enumerate(_rechunk(chunks, SEGMENT_SIZE)):
        yield seg.seal(index, piece, last)


def encrypt_bytes(algorithm: str, key: bytes, data: bytes) -> bytes:
    return b"".join(encrypt_chunks(algorithm, key, (data,)))


def decrypt_chunks(
    algorithm: str, key: bytes, chunks: Iterable[bytes], *, size: int | None = None
) -> Iterator[bytes]:
    """The plaintext of :func:`encrypt_chunks`' output, one authenticated segment at a time.

    Raises :class:`DecryptionError` at the first segment that does not authenticate, before yielding
    any of it; ``size`` (the plaintext size recorded at encryption) is checked at the end.
    """
    it = iter(chunks)
    buf = bytearray()
    for chunk in it:
        buf += chunk
        if len(buf) >= HEADER_BYTES:
            break
    if len(buf) < HEADER_BYTES:
        raise DecryptionError("not an encrypted file (no header)")
    header = bytes(buf[:HEADER_BYTES])
    magic, segment_size, _prefix = _HEADER.unpack(header)
    if magic != MAGIC:
        raise DecryptionError("not an encrypted file (unknown header)")
    if not 0 < segment_size <= MAX_SEGMENT_SIZE:
        raise DecryptionError("the file's header is damaged")
    del buf[:HEADER_BYTES]
    seg = _Segments(algorithm, key, header)
    total = 0

    def rest() -> Iterator[bytes]:
        if buf:
            yield bytes(buf)
        yield from it

    for index, (sealed, last) in enumerate(_rechunk(rest(), segment_size + TAG_BYTES)):
        plain = seg.open(index, sealed, last)
        total += len(plain)
        yield plain
    if size is not None and total != size:
        raise DecryptionError(f"the file decrypts to {total} bytes, {size} were stored")


def is_encrypted(head: bytes) -> bool:
    return head[:4] == MAGIC


# The storage wrapper -------------------------------------------------------------------------------


class FileStream:
    """An authenticated file being read: iterate for the plaintext pieces; ``size`` for Content-Length."""

    def __init__(self, pieces: Iterable[bytes], size: int | None) -> None:
        self._pieces = pieces
        self.size = size

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._pieces)


def _inner_stream(inner: Storage, key: str) -> Iterator[bytes]:
    opener = getattr(inner, "open_stream", None)
    if callable(opener):
        return opener(key)
    return iter((inner.open(key),))


class EncryptedStorage:
    """A :class:`~core.storage.Storage` that encrypts what it saves into ``inner`` and decrypts what it
    opens; the key rows live in ``stored_files`` on the current ``db.session`` (the caller commits)."""

    def __init__(self, inner: Storage, keyring: Keyring) -> None:
        self.inner = inner
        self.keyring = keyring

    def __repr__(self) -> str:
        return f"EncryptedStorage({self.inner!r})"

    def __getattr__(self, name: str) -> Any:  # root, purge_temp, _path … of the inner store
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    # -- writing ----------------------------------------------------------------------------------

    def save(self, data: bytes, *, suffix: str) -> str:
        """Encrypt ``data`` under a new file key, store it, and add its key row to the session's
        transaction (so the row commits — or rolls back — with the row that references the file)."""
        key, wrapped, algorithm = self.keyring.new_file_key()
        storage_key = self.inner.save(encrypt_bytes(algorithm, key, data), suffix=suffix)
        try:
            db.session.execute(
                insert(StoredFile.__table__).values(
                    storage_key=storage_key,
                    wrapped_key=wrapped,
                    master_id=wrapped.split(".", 1)[0],
                    algorithm=algorithm,
                    size=len(data),
                    created_at=utcnow(),
                )
            )
        except BaseException:
            self.inner.delete(storage_key)
            raise
        return storage_key

    def delete(self, key: str) -> None:
        """Remove the file, then its key row: in the session's transaction when one is under way (the
        sweeper's, a job's — the caller commits), else in a short transaction of its own (deletions
        scheduled after a commit, or after a rollback). A row left behind by a failure is harmless — it
        opens nothing — and the orphan sweeper removes it (:meth:`purge_rows`)."""
        self.inner.delete(key)
        statement = delete(StoredFile.__table__).where(StoredFile.storage_key == key)
        try:
            session = db.session()
            tx = session.get_transaction()
            if tx is not None and tx.is_active:
                session.execute(statement)
            else:
                with db.engine.begin() as conn:
                    conn.execute(statement)
        except SQLAlchemyError as exc:
            log.warning("stored file %s deleted but its key row was not (%s); the sweeper will", key, exc)

    # -- reading ----------------------------------------------------------------------------------

    def _row(self, key: str) -> Any:
        table = StoredFile.__table__
        return db.session.execute(
            select(table.c.wrapped_key, table.c.algorithm, table.c.size).where(table.c.storage_key == key)
        ).first()

    def _decrypting(self, key: str) -> tuple[Callable[[], Iterator[bytes]], int | None]:
        """A factory of plaintext streams for ``key`` and its size (None for a file from before
        encryption). Raises FileNotFoundError, ValueError for a bad key, DecryptionError."""
        row = self._row(key)
        if row is None:
            head = next(_inner_stream(self.inner, key), b"")
            if is_encrypted(head):
                raise DecryptionError(f"stored file {key} is encrypted but its key is missing")

            def plain() -> Iterator[bytes]:
                return _inner_stream(self.inner, key)

            return plain, None
        file_key = self.keyring.unwrap_file_key(row.wrapped_key)

        def decrypted() -> Iterator[bytes]:
            return decrypt_chunks(row.algorithm, file_key, _inner_stream(self.inner, key), size=row.size)

        return decrypted, int(row.size)

    def open(self, key: str) -> bytes:
        """The whole plaintext (for small uses); :class:`DecryptionError` if it does not authenticate."""
        stream, _size = self._decrypting(key)
        return b"".join(stream())

    def open_stream(self, key: str, *, verify: bool = True) -> FileStream:
        """The plaintext as a stream of authenticated segments, for a download.

        With ``verify`` (the default) the whole file is authenticated first, segment by segment and
        without keeping it, so a damaged or tampered file raises :class:`DecryptionError` *here*, before
        a response has started — not halfway through a download. (Files are immutable; were one replaced
        between the two passes, the stream still stops at the first bad segment, never yields garbage.)
        """
        stream, size = self._decrypting(key)
        if verify and size is not None:
            for _piece in stream():
                pass

        def pieces() -> Iterator[bytes]:
            try:
                yield from stream()
            except DecryptionError:
                log.error("stored file %s failed authentication while streaming; download cut short", key)
                raise

        return FileStream(pieces(), size)

    def keys(self) -> Iterator[tuple[str, float]]:
        return self.inner.keys()

    # -- housekeeping ---------------------------------------------------------------------------

    def purge_rows(
        self, referenced: set[str], older_than_seconds: float, *, now: datetime | None = None
    ) -> int:
        """Delete key rows of files nothing references any more, older than the grace period (left
        behind by a crash between deleting a file and its row); return how many."""
        cutoff = (now or utcnow()).timestamp() - older_than_seconds
        table = StoredFile.__table__
        gone = [
            r.storage_key
            for r in db.session.execute(select(table.c.storage_key, table.c.created_at))
            if r.storage_key not in referenced and r.created_at.timestamp() < cutoff
        ]
        for start in range(0, len(gone), 500):
            db.session.execute(delete(table).where(table.c.storage_key.in_(gone[start : start + 500])))
        return len(gone)


# Rotation and the data migration ------------------------------------------------------------------


def rewrap_file_keys(
    conn: Connection, keyring: Keyring, batch: int, commit: Callable[[], None]
) -> Iterator[tuple[str, int, int]]:
    """``flask keys rotate --master``: every file key wrapped under the current master key, ``batch``
    rows per committed transaction; yields ``("stored_files", done, total)``. Resumable: only rows under
    another master key are touched, so an interrupted run carries on where it stopped."""
    table = StoredFile.__table__
    current = keyring.master.current_id
    pending = table.c.master_id != current
    total = conn.execute(select(func.count()).select_from(table).where(pending)).scalar_one()
    done = 0
    last = ""
    while True:
        rows = conn.execute(
            select(table.c.storage_key, table.c.wrapped_key)
            .where(pending, table.c.storage_key > last)
            .order_by(table.c.storage_key)
            .limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            wrapped = keyring.rewrap_file_key(row.wrapped_key)
            if wrapped is not None:
                conn.execute(
                    update(table)
                    .where(table.c.storage_key == row.storage_key)
                    .values(wrapped_key=wrapped, master_id=current)
                )
        commit()
        done += len(rows)
        last = rows[-1].storage_key
        yield "stored_files", done, total
    if total == 0:
        yield "stored_files", 0, 0


def encrypt_existing(
    conn: Connection,
    inner: Any,
    keyring: Keyring,
    *,
    batch: int = 200,
    commit: Callable[[], None] | None = None,
    echo: Callable[[str], None] | None = None,
) -> int:
    """Encrypt every file of ``inner`` (a :class:`~core.storage.LocalStorage`) written before
    encryption, ``batch`` files at a time; return how many were converted.

    Per file: the encrypted version is written to a temporary file beside it, the key row is inserted
    (and committed with its batch), then the temporary file is renamed over the plaintext. Restartable
    at any point: a file whose row exists and that is encrypted is done; one whose row exists but is
    still plaintext (stopped between the commit and the rename) is encrypted again under the key in
    its row; an encrypted file without a row is an upload whose transaction never committed — an
    orphan the sweeper removes — and is left alone.
    """
    table = StoredFile.__table__
    converted = 0
    keys = [key for key, _mtime in inner.keys()]  # noqa: SIM118 - a Storage, not a dict
    for start in range(0, len(keys), batch):
        chunk = keys[start : start + batch]
        rows = {
            r.storage_key: r
            for r in conn.execute(
                select(table.c.storage_key, table.c.wrapped_key, table.c.algorithm).where(
                    table.c.storage_key.in_(chunk)
                )
            )
        }
        staged: list[tuple[str, Any]] = []
        new_rows: list[dict[str, Any]] = []
        for key in chunk:
            try:
                data = inner.open(key)
            except FileNotFoundError:
                continue
            if is_encrypted(data):
                continue
            row = rows.get(key)
            if row is not None:
                file_key, algorithm = keyring.unwrap_file_key(row.wrapped_key), row.algorithm
            else:
                file_key, wrapped, algorithm = keyring.new_file_key()
                new_rows.append(
                    {
                        "storage_key": key,
                        "wrapped_key": wrapped,
                        "master_id": wrapped.split(".", 1)[0],
                        "algorithm": algorithm,
                        "size": len(data),
                        "created_at": utcnow(),
                    }
                )
            staged.append((key, inner.stage(key, encrypt_chunks(algorithm, file_key, (data,)))))
        try:
            if new_rows:
                conn.execute(insert(table), new_rows)
            if commit is not None:
                commit()
        except BaseException:
            for _key, tmp in staged:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            raise
        for key, tmp in staged:
            inner.replace(key, tmp)
            converted += 1
        if echo is not None:
            echo(f"stored_files: {min(start + batch, len(keys))}/{len(keys)}")
    return converted


def decrypt_all(conn: Connection, inner: Any, keyring: Keyring, *, batch: int = 200) -> int:
    """The way back (the migration's downgrade): every file with a key row decrypted in place, then the
    row deleted, ``batch`` at a time; return how many. Stopped anywhere, a file still encrypted keeps
    its row, and one already decrypted whose row remains is encrypted again by a later upgrade."""
    table = StoredFile.__table__
    done = 0
    while True:
        rows = conn.execute(
            select(table.c.storage_key, table.c.wrapped_key, table.c.algorithm, table.c.size)
            .order_by(table.c.storage_key)
            .limit(batch)
        ).all()
        if not rows:
            return done
        for row in rows:
            try:
                head = next(_inner_stream(inner, row.storage_key), b"")
            except FileNotFoundError:
                head = b""
            if is_encrypted(head):
                file_key = keyring.unwrap_file_key(row.wrapped_key)
                plain = decrypt_chunks(
                    row.algorithm, file_key, _inner_stream(inner, row.storage_key), size=row.size
                )
                inner.replace(row.storage_key, inner.stage(row.storage_key, plain))
                done += 1
        conn.execute(delete(table).where(table.c.storage_key.in_([r.storage_key for r in rows])))


def key_problems(conn: Connection, keyring: Keyring) -> list[str]:
    """Why the stored files could not be opened with this instance's master keys (for the start-up
    check, :mod:`core.preflight`): none configured, or one a file key is wrapped by is missing."""
    from sqlalchemy import inspect

    from core.crypto.keyring import KeyringError

    if not inspect(conn).has_table("stored_files"):
        return []
    table = StoredFile.__table__
    needed = set(conn.execute(select(table.c.master_id).distinct()).scalars())
    if not needed:
        return []
    try:
        have = set(keyring.master.keys)
    except KeyringError as exc:
        return [f"MASTER_KEY: {exc}"]
    missing = sorted(needed - have)
    if missing:
        return [
            f"MASTER_KEY: stored files are encrypted under master key(s) {', '.join(missing)}, which are "
            "not configured: the key is missing or wrong (no upload could be opened)"
        ]
    return []


def init_app(app: Flask) -> None:
    """Register ``stored_files`` and the rotation step that re-wraps file keys."""
    from core.crypto.cli import register_rotation_step

    register_rotation_step(rewrap_file_keys)
