"""Personal data encrypted at rest (issue 19): values, blind indexes, tampering, wrong keys, rotation."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from auth.models import Resident, User
from core.crypto import DecryptionError, KeyringError, backfill
from core.crypto.cli import rotate
from core.crypto.keyring import MasterKeys, master_key_path
from core.db import db
from core.preflight import problems
from tests.auth.helpers import make_id_number
from tests.conftest import TEST_CONFIG
from tests.factories import CitizenFactory

ID = make_id_number("330102", "19850203", 517)
MOBILE = "13877776666"


def _raw(table: str, column: str, row_id: int) -> str:
    return db.session.execute(
        text(f"SELECT {column} FROM {table} WHERE id = :id"), {"id": row_id}
    ).scalar_one()


def _citizen(**kw) -> User:
    user = CitizenFactory(real_name="欧阳明", mobile=MOBILE, id_number=ID, **kw)
    db.session.commit()
    return user


def test_values_round_trip_and_the_database_holds_only_ciphertext(app_ctx):
    user_id = _citizen().id
    db.session.expire_all()
    user = db.session.get(User, user_id)
    assert (user.real_name, user.mobile, user.id_number) == ("欧阳明", MOBILE, ID)
    for column, plain in (("real_name", "欧阳明"), ("mobile", MOBILE), ("id_number", ID)):
        raw = _raw("users", column, user_id)
        assert raw.startswith("e1.k") and plain not in raw
    # two encryptions of the same value differ (a fresh nonce each time) ...
    other = CitizenFactory(real_name="欧阳明")
    db.session.commit()
    assert _raw("users", "real_name", other.id) != _raw("users", "real_name", user_id)
    # ... while the blind index of the same number is the same, and is not the number
    assert user.id_number_bidx and ID not in user.id_number_bidx
    assert db.session.scalar(select(User.id).where(User.id_number_is(ID.lower()))) == user_id
    assert db.session.scalar(select(User.id).where(User.mobile_is(f" {MOBILE} "))) == user_id


def test_one_account_per_id_number_is_kept_by_the_blind_index(app_ctx):
    _citizen()
    with pytest.raises(IntegrityError):
        CitizenFactory(id_number=ID)
        db.session.commit()
    db.session.rollback()


def test_comparing_an_encrypted_column_with_a_value_is_refused_not_silently_empty(app_ctx):
    with pytest.raises(TypeError, match="blind index"):
        select(User).where(User.mobile == MOBILE)
    with pytest.raises(TypeError):
        select(User).where(User.real_name.in_(["欧阳明"]))
    # IS NULL still works
    assert db.session.scalar(select(User.id).where(User.id_number.is_(None), User.role == "citizen")) is None


def _flip(token: str) -> str:
    prefix, kid, body = token.split(".", 2)
    blob = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    blob[-1] ^= 0x01
    return f"{prefix}.{kid}.{base64.urlsafe_b64encode(bytes(blob)).rstrip(b'=').decode()}"


def test_a_tampered_ciphertext_is_refused(app_ctx):
    user_id = _citizen().id
    raw = _raw("users", "mobile", user_id)
    db.session.execute(text("UPDATE users SET mobile = :v WHERE id = :id"), {"v": _flip(raw), "id": user_id})
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(DecryptionError):
        db.session.get(User, user_id)


def test_a_value_copied_into_another_purposes_column_does_not_decrypt(app_ctx):
    user_id = _citizen().id
    id_cipher = _raw("users", "id_number", user_id)
    db.session.execute(
        text("UPDATE users SET real_name = :v WHERE id = :id"), {"v": id_cipher, "id": user_id}
    )
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(DecryptionError):
        db.session.get(User, user_id)


def test_the_wrong_master_key_is_refused_at_start_and_on_use(make_app):
    app = make_app()
    with app.app_context():
        _citizen()
    wrong = base64.urlsafe_b64encode(b"w" * 32).decode().rstrip("=")
    other = make_app(MASTER_KEY=wrong)
    found = problems(other)
    assert any(p.startswith("MASTER_KEY:") and "wrong" in p for p in found), found
    with other.app_context(), pytest.raises(KeyringError):
        db.session.scalars(select(User).where(User.role == "citizen")).all()


def test_a_missing_master_key_is_refused_and_never_replaced_by_a_new_one(make_app, tmp_path):
    app = make_app(MASTER_KEY=None, MASTER_KEY_FILE=str(tmp_path / "nowhere" / "master.key"))
    found = problems(app)
    assert any(p.startswith("MASTER_KEY:") and "no master key" in p for p in found), found
    with app.app_context(), pytest.raises(KeyringError):
        app.extensions["keyring"].ensure(db.session.connection())
    assert not (tmp_path / "nowhere" / "master.key").exists()


def test_a_good_key_starts_cleanly(app):
    assert not [p for p in problems(app) if p.startswith("MASTER_KEY")]


def _walk_all(keyring, batch=1000):
    return list(
        backfill.walk(db.session.connection(), keyring, backfill.model_fields(db.metadata), batch=batch)
    )


def test_rotation_interrupted_half_way_resumes_and_everything_stays_readable(app_ctx):
    keyring = app_ctx.extensions["keyring"]
    ids = []
    for n in range(5):
        ids.append(CitizenFactory(real_name=f"用户{n}").id)
    db.session.commit()
    old_kid = keyring.current_kid("name")
    conn = db.session.connection()
    new_kid = keyring.rotate_data_key(conn, "name")
    db.session.commit()
    assert new_kid != old_kid and keyring.current_kid("name") == new_kid
    # the first batch of two only, as if the process were killed after it
    conn = db.session.connection()
    walk = backfill.walk(
        conn, keyring, [backfill.Field("users", "real_name", "name")], batch=2, commit=db.session.commit
    )
    _field, done, total = next(walk)
    assert (done, total) == (2, len(ids) + _other_users())
    walk.close()
    db.session.commit()
    db.session.expire_all()
    kids = {keyring.token_kid(_raw("users", "real_name", i)) for i in ids}
    assert kids == {old_kid, new_kid}  # half moved: both keys in use, all readable
    assert [db.session.get(User, i).real_name for i in ids] == [f"用户{n}" for n in range(5)]
    # resume: no new key, the rest moves over (its own connection, as `flask keys rotate` runs)
    db.session.commit()
    rotate(master=False, resume=True, batch=2, echo=lambda _line: None)
    db.session.expire_all()
    assert {keyring.token_kid(_raw("users", "real_name", i)) for i in ids} == {new_kid}
    assert (
        backfill.pending(db.session.connection(), keyring, backfill.Field("users", "real_name", "name")) == 0
    )
    assert [db.session.get(User, i).real_name for i in ids] == [f"用户{n}" for n in range(5)]


def _other_users() -> int:
    return db.session.scalar(text("SELECT count(*) FROM users")) - 5


def test_a_full_rotation_replaces_every_data_key_but_the_index(app_ctx):
    keyring = app_ctx.extensions["keyring"]
    user_id = _citizen().id
    before = {p: keyring.current_kid(p) for p in ("identity", "contact", "name", "form", "index")}
    lines: list[str] = []
    db.session.commit()
    rotate(master=False, resume=False, batch=100, echo=lines.append)
    after = {p: keyring.current_kid(p) for p in before}
    assert all(after[p] != before[p] for p in ("identity", "contact", "name", "form"))
    assert after["index"] == before["index"]  # blind indexes must not change
    db.session.expire_all()
    assert keyring.token_kid(_raw("users", "id_number", user_id)) == after["identity"]
    assert db.session.scalar(select(User.id).where(User.id_number_is(ID))) == user_id
    assert any(line.startswith("users.real_name:") for line in lines)


def test_master_key_rotation_rewraps_data_keys_and_the_old_key_alone_is_then_refused(make_app, tmp_path):
    key_file = tmp_path / "keys" / "master.key"
    MasterKeys.write_file(key_file, [base64.urlsafe_b64decode(TEST_CONFIG["MASTER_KEY"] + "=")])
    app = make_app(MASTER_KEY=None, MASTER_KEY_FILE=str(key_file))
    with app.app_context():
        user_id = _citizen().id
        db.session.commit()
        rotate(master=True, resume=False, batch=100, echo=lambda _line: None)
        keys = json.loads(key_file.read_text())["keys"]
        assert len(keys) == 2
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        masters = set(db.session.scalars(text("SELECT DISTINCT master_id FROM data_keys")))
        assert masters == {app.extensions["keyring"].master.current_id}
    with make_app(MASTER_KEY=None, MASTER_KEY_FILE=str(key_file)).app_context():
        assert db.session.get(User, user_id).mobile == MOBILE
    # the environment's (old) key alone no longer opens the data keys
    assert any(p.startswith("MASTER_KEY:") for p in problems(make_app()))


def test_master_rotation_is_refused_when_the_key_comes_from_the_environment(app_ctx):
    with pytest.raises(KeyringError, match="environment"):
        rotate(master=True, resume=False, batch=100, echo=lambda _line: None)


def test_the_national_algorithms_coexist_with_aes_during_a_move(make_app):
    app = make_app()
    with app.app_context():
        aes_user = _citizen().id
    sm = make_app(CRYPTO_SUITE="sm")
    with sm.app_context():
        keyring = sm.extensions["keyring"]
        kid = keyring.rotate_data_key(db.session.connection(), "name")
        db.session.commit()
        assert keyring.key(kid).algorithm == "sm4-gcm"
        sm_user = CitizenFactory(real_name="司马光").id
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(User, aes_user).real_name == "欧阳明"  # AES-256-GCM value
        assert db.session.get(User, sm_user).real_name == "司马光"  # SM4-GCM value
        assert keyring.token_kid(_raw("users", "real_name", sm_user)) == kid


def test_the_population_register_is_found_by_blind_index(app_ctx):
    db.session.add(Resident(id_number=ID, name="欧阳明", district="东城区"))
    db.session.commit()
    assert db.session.scalar(select(Resident.name).where(Resident.id_number_is(ID))) == "欧阳明"
    assert db.session.scalar(select(Resident.id).where(Resident.id_number_in([ID, "x"]))) is not None
    raw = db.session.execute(text("SELECT id_number, name FROM residents")).one()
    assert ID not in raw[0] and "欧阳明" not in raw[1]


def test_the_master_key_file_is_created_owner_only(tmp_path):
    config = {"INSTANCE_DIR": str(tmp_path)}
    master = MasterKeys.create(config)
    path = master_key_path(config)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert MasterKeys.load(config).current_id == master.current_id


def test_every_register_match_that_decrypts_a_residents_record_is_audited(app_ctx):
    from auth.population import DatabaseRegister
    from core.audit import AuditLog

    db.session.add(Resident(id_number=ID, name="欧阳明", district="东城区"))
    db.session.commit()
    register = DatabaseRegister()
    assert register.verify("欧阳明", ID) is True
    assert register.verify("欧阳明明", ID) is False  # someone else's claim to the number
    assert register.verify("欧阳明", make_id_number("330102", "19850203", 518)) is False  # nobody's record
    rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "population.match")).all()
    assert [r.details["matched"] for r in rows] == [True, False]


def test_flask_keys_status_shows_the_keys_and_what_a_rotation_left(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "status"])
    assert result.exit_code == 0, result.output
    assert "主密钥" in result.output and "使用中" in result.output
    for purpose in ("identity", "contact", "name", "form", "index"):
        assert purpose in result.output
    with app.app_context():
        CitizenFactory(real_name="轮换前")
        db.session.commit()
        keyring = app.extensions["keyring"]
        keyring.rotate_data_key(db.session.connection(), "name")
        db.session.commit()
    result = runner.invoke(args=["keys", "status"])
    assert "已停用" in result.output and "待重新加密 users.real_name" in result.output
    result = runner.invoke(args=["keys", "rotate", "--resume"])
    assert result.exit_code == 0 and "轮换完成" in result.output, result.output
    assert "待重新加密" not in runner.invoke(args=["keys", "status"]).output
