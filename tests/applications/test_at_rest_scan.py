"""A stolen database reveals no ID number, mobile, name or address (issue 19): after real journeys
(register a resident, apply for someone else with a contact number and an address, SMS queued), the
raw SQLite file (and its WAL) or the ``pg_dump`` of PostgreSQL holds none of them, nor any 18-digit
ID number with a valid check digit or any 11-digit mobile number."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from auth.identity import id_check_char
from auth.models import Resident
from core.db import db
from tests.applications.helpers import PRINCIPAL_ID, PROXY_ANSWERS, PROXY_ITEM, proxy_form, start

ID_RE = re.compile(rb"(?<![0-9A-Za-z])(\d{17})([\dXx])(?![0-9A-Za-z])")
MOBILE_RE = re.compile(rb"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")


def _dump(app, database_url: str) -> bytes:
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        data = path.read_bytes()
        wal = path.with_name(path.name + "-wal")
        return data + (wal.read_bytes() if wal.exists() else b"")
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:  # pragma: no cover - .ci/run installs PostgreSQL with its client
        pytest.fail("pg_dump is needed to scan the PostgreSQL database")
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    return subprocess.run([pg_dump, "--data-only", url], check=True, capture_output=True).stdout


def _valid_ids(data: bytes) -> set[bytes]:
    return {m[0] for m in ID_RE.finditer(data) if id_check_char(m[1].decode()) == m[2].decode().upper()}


def test_the_raw_database_holds_no_personal_data(app, database_url, citizen, citizen_client):
    with app.app_context():
        db.session.add(Resident(id_number=PRINCIPAL_ID, name="李大山", district="江南区"))
        db.session.commit()
    aid = start(citizen_client, PROXY_ITEM, PROXY_ANSWERS)
    form = proxy_form(contact_mobile="13655554444", f_keep_address="江南区滨江路88号3单元")
    response = citizen_client.post(f"/applications/{aid}/form", data={**form, "save": "1"})
    assert response.status_code in (200, 302)
    with app.app_context():  # what a journey leaves: the answers are stored (encrypted)
        from applications.models import Application

        stored = db.session.get(Application, aid)
        assert stored.principal_id_number == PRINCIPAL_ID
        assert stored.form_data.get("keep_address") == "江南区滨江路88号3单元" or any(
            "滨江路88号" in str(v) for v in stored.form_data.values()
        )
    # forgot-password SMS to the citizen's number (an outbox row with to_mobile)
    citizen_client.post("/logout")
    citizen_client.post("/forgot/code", data={"mobile": citizen.mobile})
    with app.app_context():
        from core.outbox import OutboxMessage

        assert citizen.mobile in [m.to_mobile for m in db.session.query(OutboxMessage)]

    data = _dump(app, database_url)
    plain = [citizen.mobile, citizen.id_number, PRINCIPAL_ID, "13655554444", "李大山", "滨江路88号"]
    for value in plain:
        assert value.encode() not in data, f"{value!r} found in the raw database"
    assert _valid_ids(data) == set()
    assert set(MOBILE_RE.findall(data)) == set()
