"""``flask backup`` and ``flask restore`` (issue 18 item 7): one verified archive, restored into a second
fresh instance with the same rows, files and key, and no unsent SMS going out twice.

On PostgreSQL (``TEST_DATABASE_URL``) the restore target is a scratch database made for the test and
dropped afterwards, so pg_dump and pg_restore are exercised too."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import stat
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from core import clock
from core.audit import AuditLog
from core.backup import _revision_notes, pg_tool_major
from core.db import db
from core.outbox import CLAIM_LEASE, HELD_UNTIL, OutboxMessage, deliver_pending
from portal import create_app
from tests.applications.helpers import submitted
from tests.auth.helpers import login, make_account
from tests.catalog.helpers import load_demo
from tests.conftest import TEST_CONFIG, _migrate
from tests.notify.conftest import RecordingGateway

SOURCE_KEY = "source-instance-key-" + "k" * 40
AT = datetime(2026, 12, 6, 14, 24, tzinfo=UTC)


def _counts(app) -> dict[str, int]:
    with app.app_context():
        with db.engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
            conn.rollback()
        return counts


def _files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def source(make_app, tmp_path):
    """A live instance with a generated key file: the demo catalog, a citizen with a submitted
    application (two uploaded files) and outbox rows that are pending, leased, retrying, given up and
    sent."""
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o700)
    (instance / "secret_key").write_text(SOURCE_KEY)
    app = make_app(SECRET_KEY=SOURCE_KEY, SECRET_KEY_GENERATED=True)
    with app.app_context():
        load_demo()
        db.session.remove()
    citizen = make_account(app, "citizen")
    client = app.test_client()
    assert login(client, citizen.login).status_code == 302
    submitted(client)
    now = clock.now()
    with app.app_context():
        rows = {
            "pending": OutboxMessage(user_id=citizen.id, kind="test", title="t", body="b", sms_text="待发1"),
            "leased": OutboxMessage(
                user_id=citizen.id,
                kind="test",
                title="t",
                body="b",
                sms_text="在途2",
                attempts=1,
                next_attempt_at=now + CLAIM_LEASE,
                leased_by="web-1",
            ),
            "retrying": OutboxMessage(
                user_id=citizen.id,
                kind="test",
                title="t",
                body="b",
                sms_text="重试3",
                attempts=2,
                next_attempt_at=now + timedelta(minutes=1),
                last_error="ConnectionError: gateway down",
            ),
            "gave_up": OutboxMessage(
                user_id=citizen.id, kind="test", title="t", body="b", sms_text="放弃4", attempts=8
            ),
            "sent": OutboxMessage(
                user_id=citizen.id, kind="test", title="t", body="b", sms_text="已发5", sent_at=now
            ),
            "code": OutboxMessage(
                to_mobile="13900000009", kind="code_register", title="t", body="b", sms_text="验证码6"
            ),
        }
        db.session.add_all(rows.values())
        db.session.commit()
        app.unsent = db.session.scalar(  # type: ignore[attr-defined]
            select(func.count()).where(OutboxMessage.sent_at.is_(None))
        )
        db.session.remove()
    assert app.unsent >= 5  # ours, and what the submission queued  # type: ignore[attr-defined]
    return app


@pytest.fixture
def target(database_template, tmp_path) -> Iterator:
    """Make a second, fresh instance: its own folder and its own database, migrated (what `flask db
    upgrade` leaves) or not even created (a new SQLite file / an empty PostgreSQL database)."""
    made: list = []
    scratch: list[str] = []

    def _make(name: str = "target", *, migrated: bool = True, **overrides):
        folder = tmp_path / name
        folder.mkdir(mode=0o700, exist_ok=True)
        if database_template["kind"] == "postgresql":
            base = make_url(database_template["url"])
            dbname = f"restore_{uuid.uuid4().hex[:12]}"
            admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{dbname}"'))
            admin.dispose()
            scratch.append(dbname)
            url = base.set(database=dbname).render_as_string(hide_password=False)
            if migrated:
                _migrate(url, folder)
        else:
            if migrated:
                shutil.copy(database_template["template"], folder / "portal.db")
            url = f"sqlite:///{folder / 'portal.db'}"
        (folder / "secret_key").write_text("target-own-key")
        app = create_app(
            {
                **TEST_CONFIG,
                "SQLALCHEMY_DATABASE_URI": url,
                "INSTANCE_DIR": str(folder),
                "UPLOAD_DIR": str(folder / "uploads"),
                "SECRET_KEY": "target-own-key",
                "SECRET_KEY_GENERATED": True,
                **overrides,
            }
        )
        made.append(app)
        return app

    yield _make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if scratch:
        admin = create_engine(
            make_url(database_template["url"]).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            for dbname in scratch:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


def _backup(app, out: Path) -> Path:
    with clock.travel(AT):
        result = app.test_cli_runner().invoke(args=["backup", "--output", str(out)])
    assert result.exit_code == 0, result.output
    return Path(result.output.strip())


def _restore(app, archive: Path):
    return app.test_cli_runner().invoke(args=["restore", str(archive)])


def test_backup_restores_into_a_fresh_instance_with_the_same_rows_files_and_key(source, target, tmp_path):
    before = _counts(source)
    uploads = _files(tmp_path / "uploads")
    assert len(uploads) == 2  # the two documents of the submitted application
    archive = _backup(source, tmp_path / "out")

    assert archive.name == "portal-backup-20261206T142400Z.tar.gz"
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert [p.name for p in archive.parent.iterdir()] == [archive.name]  # no temp file left behind
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        names = set(tar.getnames())
    assert manifest["created_at"] == "2026-12-06T14:24:00Z"
    assert manifest["alembic_revision"] in manifest["code_heads"]
    assert manifest["row_counts"] == before
    assert manifest["secret_key"]["source"] == "instance_file"
    assert names == set(manifest["files"]) | {"manifest.json"}
    assert {f"uploads/{k}" for k in uploads} <= names and "secret_key" in names
    with source.app_context():  # the backup itself is in the source's audit trail
        assert db.session.scalar(select(func.count()).where(AuditLog.action == "backup.created")) == 1

    restored = target()
    result = _restore(restored, archive)
    assert result.exit_code == 0, result.output
    assert f"{source.unsent} unsent message(s) held" in result.output

    after = _counts(restored)
    assert after == {**before, "audit_log": before["audit_log"] + 1}  # + the restore's own audit row
    assert _files(tmp_path / "target" / "uploads") == uploads
    assert (tmp_path / "target" / "secret_key").read_text() == SOURCE_KEY
    with restored.app_context():
        row = db.session.scalars(select(AuditLog).where(AuditLog.action == "backup.restored")).one()
        assert row.details["held_messages"] == source.unsent and row.details["files"] == 2


def test_unsent_messages_are_not_sent_again_after_a_restore_until_released(source, target, tmp_path):
    archive = _backup(source, tmp_path / "out")
    restored = target(migrated=False)
    assert _restore(restored, archive).exit_code == 0
    gateway = RecordingGateway()
    with restored.app_context():
        # a day later every lease and retry time of the old site has passed: still nothing goes out
        later = clock.now() + timedelta(days=1)
        assert deliver_pending(gateway, now=later)["sent"] == 0
        # the worker that held the lease restarts under its name: it takes back nothing
        from core.outbox import reclaim_leases

        assert reclaim_leases("web-1") == 0
        assert deliver_pending(gateway, now=later)["sent"] == 0
        db.session.remove()
    assert gateway.calls == []

    runner = restored.test_cli_runner()
    listed = runner.invoke(args=["notify", "release-restored", "--list"])
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == source.unsent
    released = runner.invoke(args=["notify", "release-restored"])
    assert f"released {source.unsent - 1} held message(s)" in released.output
    assert "1 SMS verification code(s) left held" in released.output
    with restored.app_context():
        deliver_pending(gateway, now=clock.now() + timedelta(days=1))
        audit_row = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "outbox.released_after_restore")
        ).one()
        assert audit_row.details["count"] == source.unsent - 1
        gave_up = db.session.scalars(select(OutboxMessage).where(OutboxMessage.sms_text == "放弃4")).one()
        assert gave_up.sent_at is None and gave_up.next_attempt_at is None  # still given up: requeue it
        db.session.remove()
    mine = {"待发1", "在途2", "重试3", "放弃4", "已发5", "验证码6"}
    ours = sorted(text for _mobile, text in gateway.calls if text in mine)
    # once each; the given-up one waits for `flask notify requeue`, the stale code stays held
    assert ours == ["在途2", "待发1", "重试3"]


def test_release_of_chosen_messages_leaves_the_others_held(source, target, tmp_path):
    archive = _backup(source, tmp_path / "out")
    restored = target(migrated=False)
    assert _restore(restored, archive).exit_code == 0
    with restored.app_context():
        pending = db.session.scalars(select(OutboxMessage).where(OutboxMessage.sms_text == "待发1")).one()
        pending_id = pending.id
        db.session.remove()
    result = restored.test_cli_runner().invoke(args=["notify", "release-restored", "--id", str(pending_id)])
    assert "released 1 held message(s)" in result.output
    gateway = RecordingGateway()
    with restored.app_context():
        assert deliver_pending(gateway, now=clock.now() + timedelta(days=1))["sent"] == 1
        held = db.session.scalar(select(func.count()).where(OutboxMessage.next_attempt_at >= HELD_UNTIL))
        assert held == source.unsent - 1
        db.session.remove()
    assert [t for _m, t in gateway.calls] == ["待发1"]


def test_restore_refuses_an_instance_that_has_accounts(source, target, tmp_path):
    archive = _backup(source, tmp_path / "out")
    restored = target()
    make_account(restored, "citizen")
    before = _counts(restored)
    result = _restore(restored, archive)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: refused: the target database is in use (1 users); restore into a new, empty instance"
    )
    assert _counts(restored) == before
    assert not (tmp_path / "target" / "uploads").exists()
    assert (tmp_path / "target" / "secret_key").read_text() == "target-own-key"


def test_restore_refuses_an_upload_folder_that_holds_files(source, target, tmp_path):
    archive = _backup(source, tmp_path / "out")
    restored = target(migrated=False)
    stray = tmp_path / "target" / "uploads" / "ab" / "cd" / "old.pdf"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"%PDF-1.4 left over")
    before = _counts(restored)
    result = _restore(restored, archive)
    assert result.exit_code == 1
    assert "refused: UPLOAD_DIR" in result.output and "already holds files" in result.output
    assert _counts(restored) == before
    assert _files(tmp_path / "target" / "uploads") == {
        "ab/cd/old.pdf": hashlib.sha256(stray.read_bytes()).hexdigest()
    }


def _assert_untouched(tmp_path: Path, restored, before: dict[str, int]) -> None:
    assert _counts(restored) == before
    assert not (tmp_path / "target" / "uploads").exists()
    assert (tmp_path / "target" / "secret_key").read_text() == "target-own-key"
    assert [p.name for p in (tmp_path / "target").iterdir() if p.name.startswith(".restore-")] == []


def test_restore_refuses_an_archive_with_a_flipped_byte_and_writes_nothing(source, target, tmp_path):
    archive = _backup(source, tmp_path / "out")
    good = archive.read_bytes()
    restored = target(migrated=False)
    before = _counts(restored)
    # early, middle, in gzip's CRC and length trailer
    for position in (len(good) // 10, len(good) // 2, len(good) - 6, len(good) - 1):
        data = bytearray(good)
        data[position] ^= 0x01
        archive.write_bytes(bytes(data))
        result = _restore(restored, archive)
        assert result.exit_code == 1, position
        lines = result.output.strip().splitlines()
        # gzip's CRC or the file's sha256, whichever notices first
        assert len(lines) == 1 and "damaged" in lines[0] and lines[0].endswith("nothing was restored")
        _assert_untouched(tmp_path, restored, before)


def test_restore_refuses_a_truncated_archive(source, target, tmp_path):
    archive = _backup(source, tmp_path / "out")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    restored = target(migrated=False)
    before = _counts(restored)
    result = _restore(restored, archive)
    assert result.exit_code == 1 and "is damaged or truncated" in result.output
    _assert_untouched(tmp_path, restored, before)


def test_restore_refuses_a_file_changed_inside_a_well_formed_archive(source, target, tmp_path):
    """Someone repacks the archive with one upload replaced and the original manifest: the gzip and tar
    layers are fine, the sha256 is not."""
    archive = _backup(source, tmp_path / "out")
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as old, tarfile.open(tampered, "w:gz") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read()
            if member.name.startswith("uploads/") and member.name.endswith(".jpg"):
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
                victim = member.name
            new.addfile(member, io.BytesIO(data))
    restored = target(migrated=False)
    before = _counts(restored)
    result = _restore(restored, tampered)
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: tampered.tar.gz: {victim} does not match its sha256 (changed or damaged): "
        "nothing was restored"
    )
    _assert_untouched(tmp_path, restored, before)


def test_backup_into_a_file_instead_of_a_folder_fails_with_one_line(source, tmp_path):
    not_a_folder = tmp_path / "backups"
    not_a_folder.write_text("a file where a folder is expected")
    result = source.test_cli_runner().invoke(args=["backup", "--output", str(not_a_folder)])
    assert result.exit_code != 0
    assert "is not a folder" in result.output or "is a file" in result.output
    assert not_a_folder.read_text() == "a file where a folder is expected"


def test_a_key_from_the_environment_is_named_not_stored(app, target, tmp_path):
    archive = _backup(app, tmp_path / "out")  # the app fixture's key is given by the caller
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        assert "secret_key" not in tar.getnames()
    assert manifest["secret_key"] == {
        "source": "environment",
        "stored": False,
        "note": "SECRET_KEY came from the environment and is not in this archive",
    }
    result = _restore(target(migrated=False), archive)
    assert result.exit_code == 0, result.output
    assert "set SECRET_KEY to the value the backed-up site used" in result.output
    assert (tmp_path / "target" / "secret_key").read_text() == "target-own-key"


def test_an_older_schema_tells_the_operator_to_upgrade(app_ctx):
    (note,) = _revision_notes("1c6650fa1412")
    assert "older than this code" in note and "flask db upgrade" in note
    (note,) = _revision_notes("ffffffffffff")
    assert "newer version" in note


def _fake_tool(folder: Path, version_line: str) -> str:
    path = folder / "pg_dump"
    path.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    path.chmod(0o755)
    return str(path)


def test_pg_dump_missing_or_too_old_is_one_clear_line(tmp_path):
    from core.backup import BackupError

    with pytest.raises(BackupError, match=r"pg_dump not found .*postgresql-client-15.*PG_DUMP"):
        pg_tool_major(str(tmp_path / "nowhere" / "pg_dump"), setting="PG_DUMP", needed=15)
    old = _fake_tool(tmp_path, "pg_dump (PostgreSQL) 13.4 (Debian 13.4-1)")
    with pytest.raises(BackupError, match=r"pg_dump 13 .* is older than PostgreSQL 15"):
        pg_tool_major(old, setting="PG_DUMP", needed=15)
    assert pg_tool_major(old, setting="PG_DUMP", needed=13) == old


def test_an_old_pg_dump_stops_a_postgresql_backup_and_does_not_matter_to_sqlite(
    source, tmp_path, is_postgres
):
    source.config["PG_DUMP"] = _fake_tool(tmp_path, "pg_dump (PostgreSQL) 9.6.24")
    result = source.test_cli_runner().invoke(args=["backup", "--output", str(tmp_path / "out")])
    if is_postgres:
        assert result.exit_code == 1
        assert "Error: pg_dump 9 " in result.output and "is older than PostgreSQL" in result.output
        assert list((tmp_path / "out").iterdir()) == []  # no archive, no temp file
    else:
        assert result.exit_code == 0, result.output
        assert Path(result.output.strip()).is_file()


def test_a_backup_taken_while_the_site_writes_restores_to_its_own_row_counts(source, target, tmp_path):
    """Rows keep arriving while the backup runs: the copy and the counts in the manifest are one moment
    (SQLite's online backup; on PostgreSQL one exported snapshot for the counts and pg_dump), so the
    restore's own check of the row counts passes."""
    stop, written = threading.Event(), []

    def write() -> None:
        with source.app_context():
            while not stop.is_set():
                db.session.add(OutboxMessage(to_mobile="13900000000", kind="t", title="t", body="b"))
                db.session.commit()
                written.append(1)
            db.session.remove()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 5:  # the writer is going
            time.sleep(0.01)
        archive = _backup(source, tmp_path / "out")
    finally:
        stop.set()
        writer.join(30)
    final = _counts(source)["outbox"]
    with tarfile.open(archive) as tar:
        backed_up = json.loads(tar.extractfile("manifest.json").read())["row_counts"]["outbox"]
    assert backed_up < final  # rows arrived after the snapshot too
    restored = target(migrated=False)
    result = _restore(restored, archive)
    assert result.exit_code == 0, result.output
    assert _counts(restored)["outbox"] == backed_up


def test_restore_refuses_an_entry_that_would_leave_the_upload_folder(source, target, tmp_path):
    """A hand-made archive whose manifest lists ``uploads/../../x`` with the right checksum."""
    archive = _backup(source, tmp_path / "out")
    evil = tmp_path / "evil.tar.gz"
    payload = b"#!/bin/sh\n"
    with tarfile.open(archive) as old, tarfile.open(evil, "w:gz") as new:
        manifest = json.loads(old.extractfile("manifest.json").read())
        manifest["files"]["uploads/../../escaped.sh"] = {
            "sha256": hashlib.sha256(payload).hexdigest(),
            "size": len(payload),
        }
        for member in old.getmembers():
            if member.name != "manifest.json":
                new.addfile(member, old.extractfile(member))
        info = tarfile.TarInfo("uploads/../../escaped.sh")
        info.size = len(payload)
        new.addfile(info, io.BytesIO(payload))
        body = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        new.addfile(info, io.BytesIO(body))
    restored = target(migrated=False)
    before = _counts(restored)
    result = _restore(restored, evil)
    assert result.exit_code == 1
    assert "unexpected entry 'uploads/../../escaped.sh'" in result.output
    _assert_untouched(tmp_path, restored, before)
    assert not list(tmp_path.rglob("escaped.sh"))
