"""The migrations go down as well as up: upgrade head → downgrade (each older revision, then base) →
upgrade head leaves every index and unique constraint the models declare in place. Runs the script
.ci/run runs, migrations/roundtrip.py, as CI does (a process of its own, configured by environment).

On SQLite a batch-mode table copy used to lose the expression index ix_applications_claimable, so the
way down failed with "no such index" (revision e64a443693ab's downgrade).

The shared test database is already migrated, so this test works on a database of its own: a fresh
SQLite file, or, when TEST_DATABASE_URL is PostgreSQL, a freshly created database dropped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, ROOT


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'roundtrip.db'}"
        return
    base = make_url(PG_URL)
    # unique under pytest-xdist; .ci/run's cleanup drops <test db>_roundtrip* if a run dies before the finally
    name = f"{base.database}_roundtrip_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_downgrade_upgrade_keeps_every_index(empty_database_url, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": empty_database_url,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "migrations" / "roundtrip.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, output
    assert "indexes present" in result.stdout, output
