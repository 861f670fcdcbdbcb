"""What encrypting uploads costs (issue 19): a 2 MB file saved and read back through the plain
``LocalStorage`` and through ``EncryptedStorage`` (AES-256-GCM and SM4-GCM), in one process, same run.

    .venv/bin/python -m bench.filecrypt_cost

Builds a throw-away instance (SQLite, migrated) in a temp folder; prints median milliseconds per
operation. Saving includes the fsyncs and, encrypted, the key row's insert (not the commit, which the
upload's transaction pays anyway); reading includes the key row's look-up.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SIZE = 2 * 1024 * 1024
ROUNDS = 15


def _ms(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _measure(work: Path, suite: str, data: bytes) -> dict[str, float]:
    from flask_migrate import upgrade

    from core.crypto.keyring import MasterKeys
    from core.db import db
    from core.filecrypt import EncryptedStorage
    from core.storage import LocalStorage
    from portal import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / suite}.db",
            "INSTANCE_DIR": str(work / suite),
            "UPLOAD_DIR": str(work / suite / "uploads"),
            "CRYPTO_SUITE": suite,
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "bench",
        }
    )
    with app.app_context():
        upgrade()
        if MasterKeys.load(app.config) is None:
            MasterKeys.create(app.config)
        plain = LocalStorage(work / suite / "plain")
        enc = EncryptedStorage(LocalStorage(work / suite / "uploads"), app.extensions["keyring"])
        plain_key = plain.save(data, suffix=".jpg")
        enc_key = enc.save(data, suffix=".jpg")
        db.session.commit()
        figures = {
            "save plain": _ms(lambda: plain.save(data, suffix=".jpg")),
            "save encrypted": _ms(lambda: enc.save(data, suffix=".jpg")),
            "open plain": _ms(lambda: plain.open(plain_key)),
            "open encrypted": _ms(lambda: enc.open(enc_key)),
            "stream plain": _ms(lambda: b"".join(plain.open_stream(plain_key))),
            "stream encrypted (verify + stream)": _ms(lambda: b"".join(enc.open_stream(enc_key))),
        }
        db.session.rollback()
        assert enc.open(enc_key) == data
        db.engine.dispose()
    return figures


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-filecrypt-"))
    data = os.urandom(SIZE)
    try:
        for suite in ("aes", "sm"):
            figures = _measure(work, suite, data)
            print(f"{suite} ({'AES-256-GCM' if suite == 'aes' else 'SM4-GCM'}), 2 MB, median of {ROUNDS}:")
            for name, ms in figures.items():
                print(f"  {name:<36} {ms:7.2f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
