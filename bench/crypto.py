"""What encryption at rest costs (issue 19): login, a whole submission and the clerk's queue page,
with personal data encrypted (the portal as it runs) and with encryption off, in the same run.

"Off" is the same portal on a copy of the same database whose values were decrypted back to plaintext,
with a keyring that stores plaintext (a value without the ``e1.`` prefix is read as it is) and the
uploads written as they are (no file key, no segments); the blind indexes stay (an HMAC each). Both
run in-process through Flask's test client, alternating every round, so the machine's noise falls on
both alike; the figures are medians and p95 of CPU milliseconds and the ratio on/off. Argon2 runs
with cheap parameters here so that login measures the portal, not the hash.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.__main__ import prepare_demo

ITEM = "LJ-ZA-007"  # 保安员证核发: two required documents (ID as PDF, a photo)
CITIZEN = ("13800000001", "Demo-2026")
CLERK = ("clerk_za", "Demo-2026")


class _PlainKeyring:
    """Mixin for the 'off' app: values go in as plaintext (blind indexes unchanged)."""

    def encrypt(self, purpose: str, plaintext: str) -> str:
        return plaintext


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (320, 240), os.urandom(320 * 240 * 3)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _app(instance: Path, *, encrypted: bool):
    from core.crypto.keyring import Keyring
    from portal import create_app

    app = create_app(
        {
            "INSTANCE_DIR": str(instance),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'portal.db'}",
            "UPLOAD_DIR": str(instance / "uploads"),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "PAGE_MICROCACHE": False,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 8,
            "ARGON2_PARALLELISM": 1,
            "LOG_LEVEL": "WARNING",
        }
    )
    if not encrypted:
        from core.storage import LocalStorage

        app.extensions["keyring"] = type("PlainKeyring", (_PlainKeyring, Keyring), {})(app.config)
        # files stored as they are: the storage itself, behind a pass-through in the wrapper's place
        storage = app.extensions["storage"] = LocalStorage(app.config["UPLOAD_DIR"])
        app.extensions["encrypted_storage"] = _PlainFiles(storage)
    return app


class _PlainFiles:
    """Stands where :class:`core.filecrypt.EncryptedStorage` would: every call goes to the plain store."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def _decrypt_everything(app) -> int:
    """Turn the copy's ciphertext back into plaintext (the 'off' database)."""
    from sqlalchemy import column, select, table, update

    from core.crypto import backfill
    from core.crypto.keyring import TOKEN_PREFIX
    from core.db import db

    changed = 0
    with app.app_context():
        keyring = app.extensions["keyring"]
        for field in backfill.model_fields(db.metadata):
            t = table(field.table, column(field.pk), column(field.column))
            rows = db.session.execute(select(t.c[field.pk], t.c[field.column])).all()
            for pk, raw in rows:
                if isinstance(raw, str) and raw.startswith(TOKEN_PREFIX):
                    plain = keyring.decrypt(field.purpose, raw)
                    if field.json:
                        plain = json.dumps(json.loads(plain), ensure_ascii=False)
                    db.session.execute(update(t).where(t.c[field.pk] == pk).values({field.column: plain}))
                    changed += 1
        db.session.commit()
    return changed


def _login(client, who: tuple[str, str]) -> None:
    response = client.post("/login", data={"identifier": who[0], "password": who[1]})
    assert response.status_code == 302, response.status_code


def _submit(client, files: dict) -> None:
    token = secrets.token_urlsafe(24)
    response = client.post(f"/apply/{ITEM}", data={"token": token, "channel": "self_study"})
    aid = int(re.search(r"/applications/(\d+)/form", response.headers["Location"]).group(1))
    form = {
        "district": "东城区",
        "contact_mobile": "13912345678",
        "delivery_method": "mail",
        "recipient": "王小明",
        "recipient_mobile": "13912340000",
        "mail_district": "西城区",
        "mail_address": "解放路100号1幢201室",
        "f_exam_date": "2026-11-01",
        "f_live_address": "江南区滨江路8号3单元",
        "next": "1",
    }
    assert client.post(f"/applications/{aid}/form", data=form).status_code == 302
    data = {
        "doc-0": (io.BytesIO(files["pdf"]), "身份证.pdf"),
        "doc-1": (io.BytesIO(files["jpg"]), "照片.jpg"),
    }
    response = client.post(
        f"/applications/{aid}/documents", data={**data, "next": "1"}, content_type="multipart/form-data"
    )
    assert response.status_code == 302, response.status_code
    assert client.get(f"/applications/{aid}/review").status_code == 200
    response = client.post(f"/applications/{aid}/submit")
    assert response.status_code == 302 and response.headers["Location"].endswith("/done")


def _timed(fn: Callable[[], None]) -> float:
    """CPU milliseconds of this process: on a shared, loaded machine wall time mostly measures the
    neighbours; the test client runs everything in this process, so its CPU time is the request's."""
    started = time.process_time()
    fn()
    return (time.process_time() - started) * 1000


def run(rounds: int = 30, log: Callable[[str], None] = print) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench-crypto-"))
    try:
        on_dir, off_dir = work / "on", work / "off"
        env = {**os.environ, "INSTANCE_DIR": str(on_dir), "LOG_LEVEL": "WARNING", "FLASK_APP": "wsgi.py"}
        env.pop("DATABASE_URL", None)
        env.pop("MASTER_KEY", None)
        prepare_demo(env)
        shutil.copytree(on_dir, off_dir)
        apps = {"on": _app(on_dir, encrypted=True), "off": _app(off_dir, encrypted=False)}
        log(f"crypto: 'off' database decrypted back to plaintext ({_decrypt_everything(apps['off'])} values)")
        files = {"pdf": _pdf(), "jpg": _jpeg()}
        clients = {}
        for name, app in apps.items():
            citizen, clerk = app.test_client(), app.test_client()
            _login(citizen, CITIZEN)
            _login(clerk, CLERK)
            _submit(citizen, files)  # warm both (first-request imports, template compilation)
            clerk.get("/clerk/")
            clients[name] = (citizen, clerk)
        samples: dict[str, dict[str, list[float]]] = {
            k: {"login": [], "submit": [], "queue": []} for k in apps
        }
        for _ in range(rounds):
            for name in ("on", "off"):
                citizen, clerk = clients[name]
                samples[name]["login"].append(_timed(lambda a=apps[name]: _login(a.test_client(), CITIZEN)))
                samples[name]["submit"].append(_timed(lambda c=citizen: _submit(c, files)))
                samples[name]["queue"].append(_timed(lambda c=clerk: c.get("/clerk/")))
        result = {}
        for op in ("login", "submit", "queue"):
            on, off = samples["on"][op], samples["off"][op]
            row = {
                "on_median_ms": round(statistics.median(on), 2),
                "off_median_ms": round(statistics.median(off), 2),
                "on_p95_ms": round(statistics.quantiles(on, n=20)[-1], 2),
                "off_p95_ms": round(statistics.quantiles(off, n=20)[-1], 2),
            }
            row["ratio"] = round(row["on_median_ms"] / row["off_median_ms"], 3)
            result[op] = row
            log(
                f"crypto {op:<6}: encrypted median {row['on_median_ms']} CPU ms (p95 {row['on_p95_ms']}), "
                f"plain {row['off_median_ms']} (p95 {row['off_p95_ms']}), ratio {row['ratio']}"
            )
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)
