"""The data migration (revision 5e1c0a9d2b7f) encrypts what an existing portal stored in the clear,
fills the blind indexes, can be run again, and its downgrade gives the plaintext back — on the test's
own kind of database (SQLite, or a fresh PostgreSQL database when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from auth.models import Resident, User
from core.crypto import backfill
from core.db import db
from portal import create_app
from tests.auth.helpers import make_id_number
from tests.conftest import PG_URL, TEST_CONFIG

BEFORE = "a1180509a94d"
ENCRYPTED = "5e1c0a9d2b7f"
PEOPLE = [(f"13700000{n:03d}", make_id_number("330102", "19800101", 100 + n), f"张{n}") for n in range(7)]


@pytest.fixture
def fresh_url(tmp_path) -> Iterator[str]:
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    base = make_url(PG_URL)
    name = f"{base.database}_enc_{secrets.token_hex(4)}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _insert_plaintext() -> None:
    for n, (mobile, id_number, name) in enumerate(PEOPLE):
        db.session.execute(
            text(
                "INSERT INTO users (role, real_name, mobile, id_number, password_hash, active, "
                "must_change_password, session_token, created_at, assurance) VALUES "
                "('citizen', :name, :mobile, :id, 'x', TRUE, FALSE, :tok, CURRENT_TIMESTAMP, 0)"
            ),
            {"name": name, "mobile": mobile, "id": id_number, "tok": f"t{n}"},
        )
        db.session.execute(
            text(
                "INSERT INTO residents (id_number, name, status, updated_at) "
                "VALUES (:id, :name, 'normal', CURRENT_TIMESTAMP)"
            ),
            {"id": id_number, "name": name},
        )
    db.session.commit()


def test_existing_plaintext_is_encrypted_indexed_restartable_and_reversible(fresh_url, tmp_path, monkeypatch):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": fresh_url, "INSTANCE_DIR": str(tmp_path)})
    with app.app_context():
        upgrade(revision=BEFORE)
        _insert_plaintext()
        # the first run dies after its first batch (a killed process, a full disk) ...
        real_walk = backfill.walk

        def dying_walk(*args, **kwargs):
            kwargs["batch"] = 2
            for step in real_walk(*args, **kwargs):
                yield step
                raise RuntimeError("killed mid-way")

        monkeypatch.setattr(backfill, "walk", dying_walk)
        with pytest.raises(SystemExit):  # Flask-Migrate reports the error and exits 1
            upgrade(revision=ENCRYPTED)
        db.session.rollback()
        db.engine.dispose()
        # ... and leaves the database as it was: still at the old revision, nothing half-encrypted
        assert db.session.scalar(text("SELECT version_num FROM alembic_version")) == BEFORE
        assert sorted(db.session.execute(text("SELECT mobile FROM users")).scalars()) == sorted(
            p[0] for p in PEOPLE
        )
        db.session.commit()
        monkeypatch.setattr(backfill, "walk", real_walk)
        # so it is simply run again
        upgrade(revision=ENCRYPTED)
        raw = db.session.execute(text("SELECT real_name, mobile, id_number, mobile_bidx FROM users")).all()
        assert len(raw) == len(PEOPLE)
        for name, mobile, id_number, bidx in raw:
            assert name.startswith("e1.") and mobile.startswith("e1.") and id_number.startswith("e1.")
            assert bidx
        raw_residents = db.session.execute(
            text("SELECT id_number, name, id_number_bidx FROM residents")
        ).all()
        assert all(r[0].startswith("e1.") and r[1].startswith("e1.") and r[2] for r in raw_residents)
        # the model reads them, and finds people by number through the indexes (at head: the model
        # has columns later revisions add)
        db.session.commit()
        upgrade()
        mobile, id_number, name = PEOPLE[3]
        user = db.session.scalar(select(User).where(User.mobile_is(mobile)))
        assert (user.real_name, user.id_number) == (name, id_number)
        assert db.session.scalar(select(Resident.name).where(Resident.id_number_is(id_number))) == name
        # run again (a migration that died half-way is simply run again): nothing left to do
        keyring = app.extensions["keyring"]
        fields = backfill.model_fields(db.metadata)
        assert sum(backfill.pending(db.session.connection(), keyring, f) for f in fields) == 0
        db.session.commit()

        downgrade(revision=BEFORE)
        back = db.session.execute(
            text("SELECT mobile, id_number, real_name FROM users ORDER BY mobile")
        ).all()
        assert [tuple(r) for r in back] == sorted(PEOPLE)
        db.session.commit()
        db.engine.dispose()
