"""Keys: master keys outside the database, data keys inside it (wrapped), and the operations on values.

Envelope encryption, as KMSs do it:

- **Master keys** (key-encryption keys) live outside the database and the repository: ``MASTER_KEY``
  (environment, base64url keys separated by commas, the last one current — how a KMS or HSM adapter hands
  them over) or the file ``MASTER_KEY_FILE`` (default ``<instance>/keys/master.key``, JSON, mode 0600 in a
  0700 folder), created at first start only while the database holds no data key. A master key's id is
  derived from the key itself, so a wrong key is recognised by its id before anything is decrypted.
- **Data keys** (one active per purpose, :data:`PURPOSES`) are random keys stored in ``data_keys`` wrapped
  by the current master key. Every value carries the id of the data key it was encrypted under.
- **Values** are stored as ``e1.<key id>.<base64url(nonce || ciphertext || tag)>`` with the purpose as
  associated data, so a value moved into a column of another purpose does not decrypt either.
- **Blind indexes** (:meth:`Keyring.blind_index`) are HMACs of the normalised value under the ``index``
  key: equal values give equal indexes, so a unique index and a lookup work without any plaintext.

A database with data keys but no (or the wrong) master key is refused at start (``core.preflight``)
and on first use with :class:`KeyringError` — never "decrypt to garbage".
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError

from core.clock import now as utcnow
from core.crypto import ciphers
from core.crypto.ciphers import DecryptionError

#: identity: ID and passport numbers · contact: mobiles · name: real names · form: application answers
#: · index: the blind-index MAC key
PURPOSES = ("identity", "contact", "name", "form", "index")
TOKEN_PREFIX = "e1."  # noqa: S105 - a format marker, not a secret
#: how long a process trusts its idea of the active keys before looking again (another process rotated)
REFRESH_SECONDS = 60.0


class KeyringError(RuntimeError):
    """The keys cannot be used: the master key is missing or wrong, or a data key is missing."""


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64d(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise DecryptionError("malformed ciphertext") from exc


def master_id(key: bytes) -> str:
    """A master key's id: a fingerprint of the key, so a wrong key is seen for what it is."""
    return "m" + hashlib.sha256(b"portal master key id\0" + key).hexdigest()[:10]


def master_key_path(config: Mapping[str, Any]) -> Path:
    return Path(config.get("MASTER_KEY_FILE") or Path(config["INSTANCE_DIR"]) / "keys" / "master.key")


class MasterKeys:
    """The master keys this process was given; the last is the one new data keys are wrapped with."""

    def __init__(self, keys: list[bytes], source: str) -> None:
        if not keys:
            raise KeyringError("no master key")
        for key in keys:
            if len(key) != 32:
                raise KeyringError(f"{source}: a master key must be 32 bytes (256 bits)")
        self.keys = {master_id(k): k for k in keys}
        self.current_id = master_id(keys[-1])
        self.source = source

    # -- loading and creating ---------------------------------------------------------------------

    @classmethod
    def load(cls, config: Mapping[str, Any]) -> MasterKeys | None:
        """The configured master keys, or None when none is configured and the file does not exist."""
        configured = (config.get("MASTER_KEY") or "").strip()
        if configured:
            try:
                keys = [
                    base64.urlsafe_b64decode(p.strip() + "=" * (-len(p.strip()) % 4))
                    for p in configured.split(",")
                ]
            except ValueError as exc:
                raise KeyringError("MASTER_KEY is not base64url") from exc
            return cls(keys, "MASTER_KEY")
        path = master_key_path(config)
        if not path.exists():
            return None
        try:
            document = json.loads(path.read_text("utf-8"))
            keys = [b64d(k) for k in document["keys"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyringError(f"MASTER_KEY_FILE: {path} cannot be read as a master key file") from exc
        return cls(keys, str(path))

    @staticmethod
    def write_file(path: Path, keys: list[bytes]) -> None:
        """Write the key file crash-safely, mode 0600 in a 0700 folder."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"keys": [b64e(k) for k in keys]}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def create(cls, config: Mapping[str, Any]) -> MasterKeys:
        path = master_key_path(config)
        key = os.urandom(32)
        cls.write_file(path, [key])
        return cls([key], str(path))

    def add_key(self, config: Mapping[str, Any]) -> str:
        """A new current master key, appended to the key file (rotation); returns its id."""
        if self.source == "MASTER_KEY":
            raise KeyringError(
                "MASTER_KEY comes from the environment: add the new key there (comma-separated, last)"
            )
        key = os.urandom(32)
        keys = [*self.keys.values(), key]
        self.write_file(Path(self.source), keys)
        self.keys[master_id(key)] = key
        self.current_id = master_id(key)
        return self.current_id

    # -- wrapping ---------------------------------------------------------------------------------

    def _kek(self, mid: str, algorithm: str) -> bytes:
        try:
            key = self.keys[mid]
        except KeyError:
            raise KeyringError(
                f"master key {mid} is not among the configured master keys ({self.source}): the key is "
                "missing or wrong; refusing to go on rather than decrypting to garbage"
            ) from None
        if algorithm == ciphers.SM4_GCM:
            return HKDF(algorithm=hashes.SM3(), length=16, salt=None, info=b"portal sm4 key wrap").derive(key)
        return key

    def wrap(self, data_key: bytes, aad: bytes, algorithm: str) -> str:
        kek = self._kek(self.current_id, algorithm)
        return f"{self.current_id}.{algorithm}.{b64e(ciphers.encrypt(algorithm, kek, data_key, aad))}"

    def unwrap(self, wrapped: str, aad: bytes) -> bytes:
        try:
            mid, algorithm, body = wrapped.split(".", 2)
        except ValueError:
            raise DecryptionError("malformed wrapped key") from None
        return ciphers.decrypt(algorithm, self._kek(mid, algorithm), b64d(body), aad)

    @staticmethod
    def wrapped_by(wrapped: str) -> str:
        return wrapped.split(".", 1)[0]


@dataclass(frozen=True)
class DataKeyMaterial:
    kid: str
    purpose: str
    algorithm: str
    key: bytes
    active: bool


class Keyring:
    """One per app (``app.extensions["keyring"]``): caches unwrapped data keys for the process."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.aead, self.mac_algorithm = ciphers.suite(str(config.get("CRYPTO_SUITE") or "aes"))
        self._master: MasterKeys | None = None
        self._keys: dict[str, DataKeyMaterial] = {}
        self._current: dict[str, str] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()
        self._conn: Connection | None = None

    # -- master key -------------------------------------------------------------------------------

    @property
    def master(self) -> MasterKeys:
        if self._master is None:
            master = MasterKeys.load(self.config)
            if master is None:
                raise KeyringError(
                    f"no master key: set MASTER_KEY or put the key file at {master_key_path(self.config)} "
                    "(the database holds encrypted data that cannot be read without it)"
                )
            self._master = master
        return self._master

    # -- data keys --------------------------------------------------------------------------------

    @staticmethod
    def _table():
        from core.crypto.models import DataKey

        return DataKey.__table__

    @staticmethod
    def _session_connection() -> Connection:
        """The request's own connection: a second one would wait on SQLite's writer lock, and on
        PostgreSQL it is one connection fewer."""
        from core.db import db

        return db.session.connection()

    @contextlib.contextmanager
    def using(self, conn: Connection) -> Iterator[Keyring]:
        """Read keys through ``conn`` meanwhile (a migration: its keys are not committed yet)."""
        previous, self._conn = self._conn, conn
        try:
            self.refresh(conn)
            yield self
        finally:
            self._conn = previous

    def refresh(self, conn: Connection | None = None) -> None:
        """Load and unwrap every data key (a handful of rows)."""
        table = self._table()
        conn = conn or self._conn or self._session_connection()
        rows = conn.execute(select(table)).all()
        keys: dict[str, DataKeyMaterial] = {}
        current: dict[str, str] = {}
        for row in rows:
            try:
                key = self.master.unwrap(row.wrapped, self._aad(row.id, row.purpose))
            except DecryptionError:
                raise KeyringError(
                    f"data key {row.id} does not unwrap under master key {self.master.current_id}: the "
                    "master key is wrong; refusing to go on rather than decrypting to garbage"
                ) from None
            keys[row.id] = DataKeyMaterial(row.id, row.purpose, row.algorithm, key, bool(row.active))
            if row.active:
                current[row.purpose] = row.id
        with self._lock:
            self._keys, self._current, self._loaded_at = keys, current, time.monotonic()

    @staticmethod
    def _aad(kid: str, purpose: str) -> bytes:
        return f"data key {kid} {purpose}".encode()

    def has_keys(self, conn: Connection) -> bool:
        if not inspect(conn).has_table("data_keys"):
            return False
        return conn.execute(select(self._table().c.id).limit(1)).first() is not None

    def ensure(self, conn: Connection) -> list[str]:
        """Create the master key (only while there are no data keys) and an active data key for every
        purpose that lacks one; return the purposes that got a new key. Runs on ``conn`` (the caller
        commits), so it also works inside a migration."""
        if self._master is None and MasterKeys.load(self.config) is None:
            if self.has_keys(conn):
                _ = self.master  # raises the clear "no master key" error
            self._master = MasterKeys.create(self.config)
        self.refresh(conn)
        created = []
        for purpose in PURPOSES:
            if purpose not in self._current:
                self._create(conn, purpose)
                created.append(purpose)
        if created:
            self.refresh(conn)
        return created

    def _create(self, conn: Connection, purpose: str, *, retire: str | None = None) -> str:
        algorithm = self.mac_algorithm if purpose == "index" else self.aead
        kid = "k" + secrets.token_hex(5)
        key = ciphers.new_key(algorithm)
        table = self._table()
        if retire:
            conn.execute(update(table).where(table.c.id == retire).values(active=False, retired_at=utcnow()))
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(table).values(
                        id=kid,
                        purpose=purpose,
                        algorithm=algorithm,
                        wrapped=self.master.wrap(key, self._aad(kid, purpose), self.aead),
                        master_id=self.master.current_id,
                        active=True,
                        created_at=utcnow(),
                    )
                )
        except IntegrityError:  # another process made it first: use theirs
            return ""
        return kid

    def rotate_data_key(self, conn: Connection, purpose: str) -> str:
        """Retire the active key of ``purpose`` and make a new one (values move over in batches)."""
        if purpose == "index":
            raise KeyringError("the blind-index key is re-wrapped, not replaced (every index would change)")
        self.refresh(conn)
        kid = self._create(conn, purpose, retire=self._current.get(purpose))
        self.refresh(conn)
        return kid

    def rewrap_data_keys(self, conn: Connection) -> int:
        """Wrap every data key under the current master key; returns how many changed."""
        table = self._table()
        changed = 0
        for row in conn.execute(select(table)).all():
            if row.master_id == self.master.current_id:
                continue
            key = self.master.unwrap(row.wrapped, self._aad(row.id, row.purpose))
            conn.execute(
                update(table)
                .where(table.c.id == row.id)
                .values(
                    wrapped=self.master.wrap(key, self._aad(row.id, row.purpose), self.aead),
                    master_id=self.master.current_id,
                )
            )
            changed += 1
        return changed

    def current(self, purpose: str) -> DataKeyMaterial:
        if not self._current or time.monotonic() - self._loaded_at > REFRESH_SECONDS:
            self.refresh()
        kid = self._current.get(purpose)
        if kid is None:
            raise KeyringError(
                f"no active data key for {purpose!r}: run `flask db upgrade` or `flask keys init`"
            )
        return self._keys[kid]

    def current_kid(self, purpose: str) -> str:
        return self.current(purpose).kid

    def key(self, kid: str) -> DataKeyMaterial:
        material = self._keys.get(kid)
        if material is None:
            self.refresh()
            material = self._keys.get(kid)
        if material is None:
            raise DecryptionError(f"unknown data key {kid!r}")
        return material

    # -- values -----------------------------------------------------------------------------------

    def encrypt(self, purpose: str, plaintext: str) -> str:
        material = self.current(purpose)
        blob = ciphers.encrypt(material.algorithm, material.key, plaintext.encode("utf-8"), purpose.encode())
        return f"{TOKEN_PREFIX}{material.kid}.{b64e(blob)}"

    def decrypt(self, purpose: str, token: str) -> str:
        if not token.startswith(TOKEN_PREFIX):
            raise DecryptionError("not a ciphertext")
        try:
            kid, body = token[len(TOKEN_PREFIX) :].split(".", 1)
        except ValueError:
            raise DecryptionError("malformed ciphertext") from None
        material = self.key(kid)
        if material.purpose != purpose:
            raise DecryptionError(f"data key {kid} is for {material.purpose!r}, not {purpose!r}")
        return ciphers.decrypt(material.algorithm, material.key, b64d(body), purpose.encode()).decode("utf-8")

    @staticmethod
    def token_kid(token: str) -> str | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        return token[len(TOKEN_PREFIX) :].split(".", 1)[0]

    def blind_index(self, scope: str, value: str) -> str:
        """The keyed, deterministic index of a normalised value (``scope`` keeps kinds apart)."""
        material = self.current("index")
        return b64e(ciphers.mac(material.algorithm, material.key, f"{scope}\0{value}".encode()))

    def derive_secret(self, label: str) -> bytes:
        """A 32-byte secret for ``label`` (e.g. ``exchange:<department>:<generation>``), derived from the
        ``index`` key, which is never rotated: the same on every machine and stable across data-key
        rotation, never stored, and changed by changing the label. Domain-separated from blind
        indexes."""
        material = self.current("index")
        return ciphers.mac(material.algorithm, material.key, f"derived-secret\0{label}".encode())

    # -- files (envelope: each file its own key, wrapped by the master key) -----------------------

    def new_file_key(self) -> tuple[bytes, str, str]:
        """``(key, wrapped, algorithm)`` for one new file."""
        key = ciphers.new_key(self.aead)
        return key, self.master.wrap(key, b"file key", self.aead), self.aead

    def unwrap_file_key(self, wrapped: str) -> bytes:
        return self.master.unwrap(wrapped, b"file key")

    def rewrap_file_key(self, wrapped: str) -> str | None:
        """The file key wrapped under the current master key, or None when it already is."""
        if MasterKeys.wrapped_by(wrapped) == self.master.current_id:
            return None
        return self.master.wrap(self.unwrap_file_key(wrapped), b"file key", self.aead)


def get_keyring():
    from flask import current_app

    return current_app.extensions["keyring"]
