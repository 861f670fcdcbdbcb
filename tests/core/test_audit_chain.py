"""The audit trail's hash chain: every row hashed and linked to the row before, ``flask audit verify``
naming the first row that was edited, deleted or moved, a linear chain under concurrent writers
(SQLite and PostgreSQL), and the migration chaining rows that were there before it."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, select, text

from core import audit
from core.audit import AuditLog, verify_chain
from core.db import db
from tests.conftest import TEST_CONFIG
from tests.test_migrations_roundtrip import empty_database_url  # noqa: F401 - fixture


def _seed(app, n: int = 5) -> list[int]:
    with app.app_context():
        rows = [
            audit.record("test.event", object_type="thing", object_id=i, details={"i": i, "note": "原文"})
            for i in range(n)
        ]
        db.session.commit()
        return [r.id for r in rows]


def _verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def _unguarded(app, sql: str, params: dict) -> None:
    """Run ``sql`` past the append-only triggers, as someone with the database owner's rights could."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"))
            conn.execute(text(sql), params)
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
            conn.execute(text(sql), params)


def test_every_row_is_hashed_and_linked_to_the_one_before(app):
    ids = _seed(app, 3)
    with app.app_context():
        rows = list(db.session.scalars(select(AuditLog).where(AuditLog.id.in_(ids)).order_by(AuditLog.id)))
        assert all(r.row_hash and len(r.row_hash) == 64 for r in rows)
        assert rows[1].prev_hash == rows[0].row_hash and rows[2].prev_hash == rows[1].row_hash


def test_an_untouched_trail_verifies(app):
    _seed(app, 5)
    result = _verify(app)
    assert result.exit_code == 0, result.output
    with app.app_context():
        total = db.session.scalar(select(db.func.count()).select_from(AuditLog))
    assert f"OK: {total} audit row(s)" in result.output


def test_an_empty_trail_verifies(app):
    result = _verify(app)
    assert result.exit_code == 0 and "OK: 0 audit row(s)" in result.output


def test_an_edited_row_is_named(app):
    ids = _seed(app, 5)
    _unguarded(app, "UPDATE audit_log SET action = 'forged' WHERE id = :id", {"id": ids[2]})
    result = _verify(app)
    assert result.exit_code == 1
    assert f"BROKEN at audit row id {ids[2]}: content does not match its hash" in result.output


def test_edited_details_are_named(app):
    ids = _seed(app, 4)
    _unguarded(app, "UPDATE audit_log SET details = '{\"i\": 99}' WHERE id = :id", {"id": ids[1]})
    result = _verify(app)
    assert result.exit_code == 1 and f"row id {ids[1]}:" in result.output


def test_a_deleted_row_is_named_at_the_row_after_it(app):
    ids = _seed(app, 5)
    _unguarded(app, "DELETE FROM audit_log WHERE id = :id", {"id": ids[2]})
    result = _verify(app)
    assert result.exit_code == 1
    assert f"BROKEN at audit row id {ids[3]}: does not follow the previous row" in result.output


def test_rows_swapped_whole_are_named(app):
    """Two rows exchanging everything (their hashes too) — a reordering — break at the first."""
    ids = _seed(app, 4)
    a, b = ids[1], ids[2]
    _unguarded(app, "UPDATE audit_log SET id = -1 WHERE id = :a", {"a": a})
    _unguarded(app, "UPDATE audit_log SET id = :a WHERE id = :b", {"a": a, "b": b})
    _unguarded(app, "UPDATE audit_log SET id = :b WHERE id = -1", {"b": b})
    result = _verify(app)
    assert result.exit_code == 1 and f"BROKEN at audit row id {a}:" in result.output


def test_a_row_inserted_past_the_orm_is_named(app):
    ids = _seed(app, 2)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO audit_log (at, action, details) VALUES (:at, 'forged', '{}')"),
            {"at": "2026-12-06 00:00:00.000000"},
        )
        forged = conn.scalar(text("SELECT max(id) FROM audit_log"))
    assert forged > ids[-1]
    result = _verify(app)
    assert result.exit_code == 1 and f"BROKEN at audit row id {forged}: no hash" in result.output


def test_verify_reads_in_chunks(app):
    _seed(app, 7)
    with app.app_context(), db.engine.connect() as conn:
        whole = verify_chain(conn)
        chunked = verify_chain(conn, chunk=2)
    assert whole.ok and chunked == whole


def test_concurrent_writers_make_one_linear_chain(make_app):
    """Eight threads, each its own app (a worker) and transactions, write audit rows at once; a
    barrier makes them collide. Every row must follow exactly one other: without the serialisation
    (advisory lock on PostgreSQL) two rows read the same previous hash and the chain forks."""
    app = make_app()
    threads, per_thread, errors = 8, 6, []
    barrier = threading.Barrier(threads)

    # the apps are built first: building eight at once in threads can outlast the barrier's wait on a
    # loaded machine, and the collision is what the test is about
    workers = [make_app() for _ in range(threads)]

    def work(n: int) -> None:
        worker = workers[n]
        try:
            with worker.app_context():
                barrier.wait(30)
                for i in range(per_thread):
                    audit.record("test.concurrent", object_id=f"{n}-{i}", details={"n": n, "i": i})
                    # a second statement between hash and commit widens the window a fork needs
                    db.session.flush()
                    db.session.execute(select(db.func.count()).select_from(AuditLog))
                    db.session.commit()
        except Exception as exc:  # noqa: BLE001 - any failure is reported below
            errors.append(repr(exc))

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert errors == []
    with app.app_context():
        prevs = list(db.session.scalars(select(AuditLog.prev_hash)))
        assert len(prevs) == threads * per_thread
        assert len(set(prevs)) == len(prevs)  # no two rows share a predecessor: no fork
        db.session.rollback()
        with db.engine.connect() as conn:
            report = verify_chain(conn)
    assert report.ok and report.count == threads * per_thread


def test_the_migration_chains_rows_already_there_and_keeps_the_triggers(empty_database_url, tmp_path):  # noqa: F811
    from flask_migrate import downgrade, upgrade

    from portal import create_app

    app = create_app(
        {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database_url, "INSTANCE_DIR": str(tmp_path)}
    )
    engine = create_engine(empty_database_url)
    try:
        with app.app_context():
            upgrade(revision="3da37f132bcc")
            with engine.begin() as conn:  # rows written before the chain existed, one with details
                for i in range(5):
                    conn.execute(
                        text(
                            "INSERT INTO audit_log (at, actor_id, action, object_type, object_id, details) "
                            "VALUES (:at, :actor, 'old.event', 'thing', :obj, :details)"
                        ),
                        {
                            "at": f"2026-11-2{i} 08:00:0{i}.12345{i}",
                            "actor": i or None,
                            "obj": str(i),
                            "details": f'{{"k": "值", "n": {i}}}',
                        },
                    )
            upgrade()
            with engine.connect() as conn:
                report = verify_chain(conn)
            assert report.ok and report.count == 5
            audit.record("new.event", details={"after": True})  # the chain goes on from the old rows
            db.session.commit()
            with engine.connect() as conn:
                assert verify_chain(conn).count == 6
            with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
                conn.execute(text("UPDATE audit_log SET action = 'x'"))
            with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
                conn.execute(text("DELETE FROM audit_log"))
            db.session.remove()
            downgrade(revision="3da37f132bcc")
            with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
                conn.execute(text("DELETE FROM audit_log"))
            db.engine.dispose()
    finally:
        engine.dispose()
