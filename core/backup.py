"""Backups you can trust: ``flask backup`` writes one archive, ``flask restore`` brings it back.

The archive (``portal-backup-<UTC time>.tar.gz``, mode 0600 — it holds personal data and the secret
key) contains:

- ``database/portal.sqlite3`` — SQLite, copied with SQLite's online backup API, consistent while the
  site runs — or ``database/portal.pgdump`` — PostgreSQL, ``pg_dump --format=custom`` of an exported
  snapshot, the same snapshot the row counts were taken in;
- ``uploads/…`` — every file of the upload store (``UPLOAD_DIR``), copied after the database;
- ``secret_key`` — the instance's generated key (``INSTANCE_DIR/secret_key``). A key given in the
  ``SECRET_KEY`` environment variable is *not* stored: the manifest says so;
- the uploads are copied as stored — encrypted (:mod:`core.filecrypt`) — and the **master key is never
  in the archive**: the manifest names the master key ids it needs (``master_keys``) and a restore says
  whether this instance has them;
- ``manifest.json`` — when, which code (version, alembic revision), which database, the rows per table
  and a sha256 and size for every other file.

It is written under a temporary name in the output folder and renamed into place when complete, so a
half-written archive never carries the final name.

A restore verifies every checksum before it writes anything, refuses a target that already holds
accounts, applications or uploaded files, puts the database, uploads and key in place, checks the row
counts against the manifest, holds every unsent message (:func:`core.outbox.hold_unsent`: the old site
may have sent them after the backup; ``flask notify release-restored`` sends them on purpose) and
writes an audit row. Stop the web and the notify worker of the target instance while restoring.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import tomllib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import click
from flask import Flask, current_app
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Connection

from core import audit, clock
from core.config import BASE_DIR
from core.db import db
from core.outbox import hold_unsent
from core.transaction import commit

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/portal.sqlite3"
PGDUMP_MEMBER = "database/portal.pgdump"
SECRET_MEMBER = "secret_key"  # noqa: S105 - the member name, not a key
UPLOADS_PREFIX = "uploads/"
#: Tables whose rows make a target instance "in use": a restore never overwrites them.
IN_USE_TABLES = ("users", "applications")
_CHUNK = 1024 * 1024
_MANIFEST_LIMIT = 64 * 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is one line for the operator."""


@dataclass
class RestoreReport:
    """What a restore did, for the command's output."""

    manifest: dict[str, Any]
    held_messages: int = 0
    files: int = 0
    notes: list[str] = field(default_factory=list)


# -- small helpers ----------------------------------------------------------------------------------


def _app_version() -> str:
    try:
        with (BASE_DIR / "pyproject.toml").open("rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def _code_heads() -> list[str]:
    """The alembic head revision(s) of this code's migrations."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(BASE_DIR / "migrations"))
    return sorted(ScriptDirectory.from_config(config).get_heads())


def _revision_is_known(revision: str) -> bool:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(BASE_DIR / "migrations"))
    try:
        return ScriptDirectory.from_config(config).get_revision(revision) is not None
    except CommandError:
        return False


def _database_kind() -> str:
    name = db.engine.dialect.name
    if name not in {"sqlite", "postgresql"}:
        raise BackupError(f"DATABASE_URL: {name} databases cannot be backed up (SQLite or PostgreSQL only)")
    return name


def _sqlite_path() -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"DATABASE_URL: {db.engine.url} is not a SQLite file")
    return Path(database)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment carrying the password."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _pg_tool(config_key: str, default: str) -> str:
    return str(current_app.config.get(config_key) or os.environ.get(config_key) or default)


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL client tool (a path from the configuration, arguments built here: no shell)."""
    return subprocess.run(args, capture_output=True, text=True, env=env, check=False)  # noqa: S603


def pg_tool_major(tool: str, *, setting: str, needed: int) -> str:
    """Return the path of the PostgreSQL client ``tool`` after checking it exists and its major version
    is at least ``needed``; raise :class:`BackupError` with one line naming what to install otherwise."""
    path = shutil.which(tool)
    name = Path(tool).name
    if path is None:
        raise BackupError(
            f"{name} not found ({tool}): install the PostgreSQL {needed} client tools "
            f"(apt-get install postgresql-client-{needed}) or set {setting} to its path"
        )
    try:
        out = _run([path, "--version"])
    except OSError as exc:
        raise BackupError(f"{name} ({path}) cannot be run: {exc}") from exc
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", out.stdout)
    if match is None:
        raise BackupError(f"{name} ({path}) did not say its version: {out.stdout.strip()[:80]!r}")
    major = int(match[1])
    if major < needed:
        raise BackupError(
            f"{name} {major} ({path}) is older than PostgreSQL {needed}, which it has to read: install "
            f"postgresql-client-{needed} or newer, or set {setting} to a newer {name}"
        )
    return path


def _count_rows(conn: Connection, tables: list[str]) -> dict[str, int]:
    quote = conn.dialect.identifier_preparer.quote
    sql = "SELECT count(*) FROM {}"  # table names from the database's own catalogue, quoted
    return {t: int(conn.execute(text(sql.format(quote(t)))).scalar_one()) for t in tables}


def _alembic_revision(conn: Connection, tables: list[str]) -> str | None:
    if "alembic_version" not in tables:
        return None
    revisions = sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return ",".join(revisions) or None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _private_dir(path: Path, setting: str) -> Path:
    if path.exists() and not path.is_dir():
        raise BackupError(f"{setting}: {path} is not a folder")
    try:
        _make_private_dirs(path)
    except OSError as exc:
        raise BackupError(f"{setting}: cannot create the folder {path} ({exc.strerror})") from exc
    return path


def _upload_files(root: Path) -> Iterator[tuple[str, Path]]:
    """``(relative posix path, path)`` of every regular file under ``root``, sorted; temp files of a
    save in progress (``.tmp-*``) and start-up probes (``.probe-*``) are left out."""
    if not root.is_dir():
        return
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.startswith((".tmp-", ".probe-")):
                continue
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            yield path.relative_to(root).as_posix(), path


# -- backup -----------------------------------------------------------------------------------------


class _HashingReader:
    """A file object that hashes what tarfile reads from it."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


def _add_file(tar: tarfile.TarFile, name: str, path: Path, files: dict[str, dict[str, Any]]) -> bool:
    """Add ``path`` as ``name`` and record its sha256; False when the file vanished meanwhile."""
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return False
    with fh:
        stat = os.fstat(fh.fileno())
        info = tarfile.TarInfo(name)
        info.size = stat.st_size
        info.mtime = int(stat.st_mtime)
        info.mode = 0o600
        reader = _HashingReader(fh)
        tar.addfile(info, reader)  # type: ignore[arg-type]
    files[name] = {"sha256": reader.sha.hexdigest(), "size": reader.size}
    return True


def _snapshot_sqlite(work: Path) -> tuple[Path, dict[str, int], str | None]:
    """Copy the live SQLite database with the online backup API; counts and revision from the copy."""
    source_path = _sqlite_path()
    if not source_path.is_file():
        raise BackupError(f"DATABASE_URL: the SQLite file {source_path} does not exist")
    copy = work / "portal.sqlite3"
    source = sqlite3.connect(source_path, timeout=30)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
    except sqlite3.Error as exc:
        raise BackupError(f"DATABASE_URL: SQLite backup of {source_path} failed: {exc}") from exc
    finally:
        target.close()
        source.close()
    check = sqlite3.connect(copy)
    try:
        tables = [
            row[0]
            for row in check.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite~_%' ESCAPE '~'"
                " ORDER BY name"
            )
        ]
        sql = 'SELECT count(*) FROM "{}"'  # names from sqlite_master itself, quoted
        counts = {t: check.execute(sql.format(t.replace('"', '""'))).fetchone()[0] for t in tables}
        revision = None
        if "alembic_version" in tables:
            versions = check.execute("SELECT version_num FROM alembic_version")
            revision = ",".join(sorted(r[0] for r in versions))
    finally:
        check.close()
    return copy, counts, revision or None


def _snapshot_postgres(work: Path) -> tuple[Path, dict[str, int], str | None, dict[str, Any]]:
    """``pg_dump --format=custom`` of an exported snapshot, the row counts read in that same snapshot."""
    dump = work / "portal.pgdump"
    url = db.engine.url
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            server = int(conn.execute(text("SHOW server_version_num")).scalar_one())
            pg_dump = pg_tool_major(_pg_tool("PG_DUMP", "pg_dump"), setting="PG_DUMP", needed=server // 10000)
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            tables = sorted(
                conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
                ).scalars()
            )
            counts = _count_rows(conn, tables)
            revision = _alembic_revision(conn, tables)
            uri, env = _libpq(url)
            result = _run(
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={dump}", f"--dbname={uri}"],
                env,
            )
            if result.returncode != 0:
                last = (result.stderr.strip().splitlines() or ["no message"])[-1]
                raise BackupError(f"pg_dump failed (exit {result.returncode}): {last}")
    version = _run([pg_dump, "--version"]).stdout.strip()
    return dump, counts, revision, {"server_version_num": server, "pg_dump": version}


def create_backup(output: Path | None = None) -> Path:
    """Write the archive into ``output`` (default ``INSTANCE_DIR/backups``, created mode 0700) and
    return its path; needs an app context. Raises :class:`BackupError` with one line for the operator.
    Appends a ``backup.created`` audit row and commits it (the archive is an export of personal data)."""
    config = current_app.config
    folder = _private_dir(Path(output or Path(config["INSTANCE_DIR"]) / "backups"), "--output")
    kind = _database_kind()
    created = clock.now()
    stamp = created.strftime("%Y%m%dT%H%M%SZ")
    files: dict[str, dict[str, Any]] = {}
    fd, part = tempfile.mkstemp(dir=folder, prefix=".portal-backup-", suffix=".part")  # mode 0600
    raw = os.fdopen(fd, "wb")
    try:
        with tempfile.TemporaryDirectory(dir=folder, prefix=".portal-backup-work-") as work_dir:
            work = Path(work_dir)
            database: dict[str, Any] = {"kind": kind}
            if kind == "sqlite":
                db_file, counts, revision = _snapshot_sqlite(work)
                database["file"] = SQLITE_MEMBER
            else:
                db_file, counts, revision, versions = _snapshot_postgres(work)
                database.update(file=PGDUMP_MEMBER, **versions)
            with raw:
                with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                    _add_file(tar, database["file"], db_file, files)
                    upload_root = Path(config["UPLOAD_DIR"])
                    uploads = {"files": 0, "bytes": 0}
                    for rel, path in _upload_files(upload_root):
                        name = UPLOADS_PREFIX + rel
                        if _add_file(tar, name, path, files):
                            uploads["files"] += 1
                            uploads["bytes"] += files[name]["size"]
                    secret = _add_secret(tar, files)
                    master_keys = _master_keys_needed()
                    manifest = {
                        "format": FORMAT,
                        "created_at": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
                        "app": {"name": "lj-police-portal", "version": _app_version()},
                        "alembic_revision": revision,
                        "code_heads": _code_heads(),
                        "database": database,
                        "row_counts": counts,
                        "uploads": uploads,
                        "secret_key": secret,
                        "master_keys": master_keys,
                        "files": files,
                    }
                    body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
                    info = tarfile.TarInfo(MANIFEST)
                    info.size, info.mode, info.mtime = len(body), 0o600, int(created.timestamp())
                    tar.addfile(info, io.BytesIO(body))
                raw.flush()
                os.fsync(raw.fileno())
        final = folder / f"portal-backup-{stamp}.tar.gz"
        n = 1
        while final.exists():
            n += 1
            final = folder / f"portal-backup-{stamp}-{n}.tar.gz"
        os.replace(part, final)
        _fsync_dir(folder)
    except BaseException:
        raw.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
        raise
    audit.record(
        "backup.created",
        object_type="backup",
        object_id=final.name,
        details={"tables": len(counts), "rows": sum(counts.values()), "files": len(files)},
        actor=None,
    )
    commit()
    return final


def _add_secret(tar: tarfile.TarFile, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Store the instance's generated key; a key from the environment is only named in the manifest."""
    if not current_app.config.get("SECRET_KEY_GENERATED"):
        return {
            "source": "environment",
            "stored": False,
            "note": "SECRET_KEY came from the environment and is not in this archive",
        }
    path = Path(current_app.config["INSTANCE_DIR"]) / "secret_key"
    if not _add_file(tar, SECRET_MEMBER, path, files):
        raise BackupError(f"SECRET_KEY: the generated key file {path} is missing")
    return {"source": "instance_file", "stored": True, "file": SECRET_MEMBER}


def _master_keys_needed() -> dict[str, Any]:
    """The ids of the master keys the archive's file and data keys are wrapped by. The master key itself
    is never in the archive (issue 19): a stolen backup must not decrypt itself."""
    needed: set[str] = set()
    with db.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        for table in ("stored_files", "data_keys"):
            if table in tables:
                query = text(f"SELECT DISTINCT master_id FROM {table}")  # noqa: S608 - fixed names
                needed |= set(conn.execute(query).scalars())
        conn.rollback()
    return {
        "stored": False,
        "needed": sorted(needed),
        "note": "the master key is not in this archive: keep it (MASTER_KEY or keys/master.key) apart",
    }


def _master_key_notes(manifest: dict[str, Any]) -> list[str]:
    needed = (manifest.get("master_keys") or {}).get("needed") or []
    if not needed:
        return []
    from core.crypto import KeyringError

    try:
        have = set(current_app.extensions["keyring"].master.keys)
    except KeyringError:
        have = set()
    missing = [m for m in needed if m not in have]
    if missing:
        return [
            f"master key(s) {', '.join(missing)} are not configured here: the restored files and personal "
            "data cannot be decrypted until the backed-up site's master key is put in place (MASTER_KEY "
            "or INSTANCE_DIR/keys/master.key)"
        ]
    return [f"master key(s) {', '.join(needed)} present: the restored files and data can be decrypted"]


# -- verify -----------------------------------------------------------------------------------------


def _member_name_ok(name: str) -> bool:
    """Only the names a backup writes: the manifest, the database, the key, ``uploads/<relative path>``
    (no ``..``, nothing absolute: a restore never writes outside ``UPLOAD_DIR``)."""
    if name in {MANIFEST, SQLITE_MEMBER, PGDUMP_MEMBER, SECRET_MEMBER}:
        return True
    if not name.startswith(UPLOADS_PREFIX) or "\0" in name:
        return False
    parts = name.removeprefix(UPLOADS_PREFIX).split("/")
    return all(p not in {"", ".", ".."} for p in parts)


def _iter_members(archive: Path) -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
    """Each regular file of the archive with a stream of its bytes; refuses anything else, and raises
    (gzip's own check) when the compressed file is damaged anywhere."""
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if not member.isfile() or not _member_name_ok(member.name):
                raise BackupError(
                    f"{archive.name}: unexpected entry {member.name[:80]!r}: not a portal backup"
                )
            stream = tar.extractfile(member)
            if stream is None:  # pragma: no cover - a regular file always has one
                raise BackupError(f"{archive.name}: {member.name!r} cannot be read")
            yield member, stream
        # tarfile stops quietly at a garbled header: read the compressed stream to its end, so gzip
        # checks its CRC and length over the whole file
        while tar.fileobj is not None and tar.fileobj.read(_CHUNK):
            pass


def _damaged(archive: Path, exc: BaseException) -> BackupError:
    detail = str(exc).strip() or type(exc).__name__
    return BackupError(f"{archive.name} is damaged or truncated ({detail}): nothing was restored")


def verify_archive(archive: Path) -> dict[str, Any]:
    """Read the whole archive once, writing nothing, and return its manifest when every file is there
    with its recorded size and sha256 and no other file is; else raise :class:`BackupError`."""
    if not archive.is_file():
        raise BackupError(f"{archive}: no such archive")
    seen: dict[str, tuple[str, int]] = {}
    manifest: dict[str, Any] | None = None
    try:
        for member, stream in _iter_members(archive):
            if member.name == MANIFEST:
                manifest = json.loads(stream.read(_MANIFEST_LIMIT))
                continue
            sha, size = hashlib.sha256(), 0
            while chunk := stream.read(_CHUNK):
                sha.update(chunk)
                size += len(chunk)
            seen[member.name] = (sha.hexdigest(), size)
    except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as exc:
        raise _damaged(archive, exc) from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise BackupError(f"{archive.name}: no manifest.json: not a portal backup, nothing was restored")
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{archive.name}: backup format {manifest.get('format')!r} is not {FORMAT}")
    database = manifest.get("database")
    if (
        not isinstance(database, dict)
        or database.get("kind") not in {"sqlite", "postgresql"}
        or not isinstance(manifest.get("row_counts"), dict)
        or not all(isinstance(e, dict) for e in manifest["files"].values())
    ):
        raise BackupError(f"{archive.name}: manifest.json is not a portal manifest: nothing was restored")
    expected: dict[str, Any] = manifest["files"]
    for name in sorted(set(expected) | set(seen)):
        if name not in seen:
            raise BackupError(f"{archive.name}: {name} is missing from the archive: nothing was restored")
        if name not in expected:
            raise BackupError(f"{archive.name}: {name} is not in the manifest: nothing was restored")
        if (expected[name].get("sha256"), expected[name].get("size")) != seen[name]:
            raise BackupError(
                f"{archive.name}: {name} does not match its sha256 (changed or damaged): nothing was restored"
            )
    if database.get("file") not in seen:
        raise BackupError(f"{archive.name}: the manifest names no database file: nothing was restored")
    return manifest


# -- restore ----------------------------------------------------------------------------------------


def _in_use_rows() -> dict[str, int]:
    """Rows in :data:`IN_USE_TABLES` of the configured database (tables that do not exist count 0)."""
    try:
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            counts = _count_rows(conn, [t for t in IN_USE_TABLES if t in tables])
            conn.rollback()
    except Exception as exc:
        raise BackupError(
            f"DATABASE_URL: the target database does not answer ({type(exc).__name__})"
        ) from exc
    return {t: n for t, n in counts.items() if n}


def check_target_empty() -> None:
    """Refuse a target instance that holds accounts or applications, or any uploaded file."""
    in_use = _in_use_rows()
    if in_use:
        held = ", ".join(f"{n} {t}" for t, n in sorted(in_use.items()))
        raise BackupError(
            f"refused: the target database is in use ({held}); restore into a new, empty instance"
        )
    upload_root = Path(current_app.config["UPLOAD_DIR"])
    if upload_root.exists() and not upload_root.is_dir():
        raise BackupError(f"UPLOAD_DIR: {upload_root} is not a folder")
    if next(_upload_files(upload_root), None) is not None:
        raise BackupError(f"refused: UPLOAD_DIR {upload_root} already holds files; restore into an empty one")


def _make_private_dirs(folder: Path) -> None:
    missing: list[Path] = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700)


def _write_private(path: Path, stream: IO[bytes]) -> tuple[str, int]:
    """Write ``stream`` to ``path`` (mode 0600, missing parents 0700), fsynced; returns sha256 and size."""
    _make_private_dirs(path.parent)
    sha, size = hashlib.sha256(), 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := stream.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return sha.hexdigest(), size


def _restore_postgres(dump: Path, manifest: dict[str, Any]) -> None:
    """``pg_restore`` the dump into the configured database (dropping what an empty ``flask db upgrade``
    made there first), in one transaction."""
    made_by = re.search(r"\(PostgreSQL\)\s+(\d+)", str(manifest["database"].get("pg_dump", "")))
    needed = int(made_by[1]) if made_by else 0
    pg_restore = pg_tool_major(_pg_tool("PG_RESTORE", "pg_restore"), setting="PG_RESTORE", needed=needed)
    uri, env = _libpq(db.engine.url)
    db.session.remove()
    db.engine.dispose()
    result = _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={uri}",
            str(dump),
        ],
        env,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"pg_restore failed (exit {result.returncode}), nothing was changed: {last}")


def _replace_sqlite(staged: Path, target: Path) -> None:
    """Put the restored SQLite file in place of the target's (its -wal/-shm removed first: a stale WAL
    would otherwise be replayed into the restored file)."""
    db.session.remove()
    db.engine.dispose()
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{target}{suffix}")
    os.replace(staged, target)
    _fsync_dir(target.parent)


def _restore_secret(stream: IO[bytes]) -> None:
    folder = Path(current_app.config["INSTANCE_DIR"])
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".secret_key-")
    os.close(fd)
    try:
        _write_private(Path(tmp), stream)
        os.replace(tmp, folder / "secret_key")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def restore_backup(archive: Path) -> RestoreReport:
    """Restore ``archive`` into this (empty) instance; needs an app context. Raises :class:`BackupError`.

    Verifies every checksum first and refuses an instance in use, writing nothing in either case. Then
    the database (the archive's first member) is put in place — SQLite: file renamed over the target's;
    PostgreSQL: ``pg_restore`` in one transaction — then the uploads and the key. Every unsent message is
    held and a ``backup.restored`` audit row appended (committed); last, the row counts are compared with
    the manifest. A restore that stops after the database went in leaves a partly restored instance:
    start again from a new empty one."""
    manifest = verify_archive(archive)
    kind = _database_kind()
    backed_up = manifest["database"]["kind"]
    if backed_up != kind:
        raise BackupError(
            f"refused: {archive.name} holds a {backed_up} database but DATABASE_URL is {kind}: "
            "nothing was restored"
        )
    check_target_empty()
    report = RestoreReport(manifest)
    expected: dict[str, Any] = manifest["files"]
    upload_root = Path(current_app.config["UPLOAD_DIR"])
    db_member = manifest["database"]["file"]
    target = _sqlite_path() if kind == "sqlite" else None
    staging_dir = target.parent if target is not None else Path(current_app.config["INSTANCE_DIR"])
    staging_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, staged_name = tempfile.mkstemp(dir=staging_dir, prefix=".restore-", suffix=".part")
    os.close(fd)
    staged = Path(staged_name)
    try:
        try:
            for member, stream in _iter_members(archive):
                entry = expected.get(member.name)
                if member.name == MANIFEST or entry is None:
                    continue
                if member.name == SECRET_MEMBER:
                    _restore_secret(_Checked(stream, entry, archive))
                    continue
                is_database = member.name == db_member
                path = staged if is_database else upload_root / member.name.removeprefix(UPLOADS_PREFIX)
                if _write_private(path, stream) != (entry["sha256"], entry["size"]):
                    raise BackupError(f"{archive.name}: {member.name} changed while it was being restored")
                if not is_database:
                    report.files += 1
                elif target is not None:
                    _replace_sqlite(staged, target)
                else:
                    _restore_postgres(staged, manifest)
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise _damaged(archive, exc) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            staged.unlink()
    with db.engine.connect() as conn:
        tables = sorted(inspect(conn).get_table_names())
        counts = _count_rows(conn, tables)
        revision = _alembic_revision(conn, tables)
        conn.rollback()
    backed_up_counts: dict[str, int] = manifest["row_counts"]
    differ = sorted(
        t for t in set(counts) | set(backed_up_counts) if counts.get(t) != backed_up_counts.get(t)
    )
    report.held_messages = hold_unsent() if "outbox" in tables else 0
    audit.record(
        "backup.restored",
        object_type="backup",
        object_id=archive.name[:64],
        details={
            "backup_created_at": manifest.get("created_at"),
            "revision": revision,
            "rows": sum(counts.values()),
            "files": report.files,
            "held_messages": report.held_messages,
            "row_counts_differ": differ,
        },
        actor=None,
    )
    commit()
    if differ:
        raise BackupError(f"restored row counts differ from the manifest in: {', '.join(differ)}")
    report.notes.extend(_revision_notes(revision))
    report.notes.extend(_secret_notes(manifest))
    report.notes.extend(_master_key_notes(manifest))
    return report


class _Checked:
    """A stream that raises :class:`BackupError` at its end unless it matched its manifest entry."""

    def __init__(self, stream: IO[bytes], entry: dict[str, Any], archive: Path) -> None:
        self.stream, self.entry, self.archive = stream, entry, archive
        self.sha, self.size = hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.stream.read(n)
        self.sha.update(data)
        self.size += len(data)
        if not data and (self.sha.hexdigest(), self.size) != (self.entry["sha256"], self.entry["size"]):
            raise BackupError(f"{self.archive.name}: {SECRET_MEMBER} changed while it was being restored")
        return data


def _revision_notes(revision: str | None) -> list[str]:
    heads = _code_heads()
    if revision is None:
        return ["the restored database has no alembic revision: run `flask db upgrade`"]
    if sorted(revision.split(",")) == heads:
        return [f"database schema {revision} matches this code"]
    if all(_revision_is_known(r) for r in revision.split(",")):
        return [
            f"the restored schema ({revision}) is older than this code ({', '.join(heads)}): "
            "run `flask db upgrade` before starting the site"
        ]
    return [
        f"the restored schema ({revision}) is unknown to this code ({', '.join(heads)}): it was made by a "
        "newer version; deploy that version before starting the site"
    ]


def _secret_notes(manifest: dict[str, Any]) -> list[str]:
    secret = manifest.get("secret_key") or {}
    if not secret.get("stored"):
        return ["the archive holds no secret key: set SECRET_KEY to the value the backed-up site used"]
    if not current_app.config.get("SECRET_KEY_GENERATED"):
        return [
            "secret key restored to INSTANCE_DIR/secret_key, but SECRET_KEY is set in the environment and "
            "wins: unset it to use the restored key"
        ]
    return ["secret key restored to INSTANCE_DIR/secret_key"]


# -- commands ---------------------------------------------------------------------------------------


def register_cli(app: Flask) -> None:
    """Add ``flask backup`` and ``flask restore`` to ``app``."""

    @app.cli.command("backup")
    @click.option(
        "--output",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="备份文件写入的目录（默认 INSTANCE_DIR/backups）",
    )
    def backup_command(output: Path | None) -> None:
        """Write one archive: database, uploads, secret key and manifest.json (mode 0600)."""
        try:
            path = create_backup(output)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(str(path))

    @app.cli.command("restore")
    @click.argument("archive", type=click.Path(path_type=Path, dir_okay=False))
    def restore_command(archive: Path) -> None:
        """Verify ARCHIVE and restore it into this empty instance (stop the site first)."""
        try:
            report = restore_backup(archive)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        manifest = report.manifest
        click.echo(
            f"restored {archive.name} (made {manifest['created_at']}): "
            f"{sum(manifest['row_counts'].values())} rows in {len(manifest['row_counts'])} tables, "
            f"{report.files} uploaded files"
        )
        click.echo(
            f"{report.held_messages} unsent message(s) held: list them with "
            "`flask notify release-restored --list`, send them with `flask notify release-restored`"
        )
        for note in report.notes:
            click.echo(note)
