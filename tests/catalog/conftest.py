"""Catalog fixtures.

- ``demo``: the demo catalog loaded into the test's own fresh database (tests that write or count).
- ``demo_app``: one app with the demo loaded, shared by the read-only page and API tests of a module
  (they override ``app``/``client`` with it) — loading 79 items for each of them would double the
  run on PostgreSQL.
- ``demo_snapshot``: the in-memory snapshot of the demo, built from a real database once per run, for
  the pure tests (search table, guide).

All of them use the run's database kind (SQLite, or PostgreSQL with TEST_DATABASE_URL). PostgreSQL
has a single test database: the shared fixtures empty it again when done, and a module using
``demo_app`` must not ask for ``demo_snapshot`` for the first time (it would empty the database
under the module's feet).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask

from catalog.loader import LoadResult
from catalog.queries import CatalogSnapshot, build_snapshot
from core.db import db
from portal import create_app
from tests.catalog.helpers import catalog_revision, load_demo
from tests.conftest import TEST_CONFIG, _truncate_all


@pytest.fixture
def demo(app) -> LoadResult:
    """The demo catalog (17 units, 79 items, 5 bundles) loaded and committed in ``app``'s database."""
    with app.app_context():
        return load_demo()


@contextmanager
def _shared_app(database_template: dict, folder: Path) -> Iterator[Flask]:
    """An app on a database of its own (a copy of the SQLite template), or on the PostgreSQL test
    database, emptied again afterwards."""
    postgres = database_template["kind"] == "postgresql"
    if postgres:
        url = database_template["url"]
    else:
        shutil.copy(database_template["template"], folder / "demo.db")
        url = f"sqlite:///{folder / 'demo.db'}"
    app = create_app(
        {
            **TEST_CONFIG,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_DIR": str(folder / "instance"),
            "UPLOAD_DIR": str(folder / "uploads"),
        }
    )
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if postgres:
            _truncate_all(url, database_template["data_keys"])


@pytest.fixture(scope="module")
def demo_app(database_template, tmp_path_factory) -> Iterator[Flask]:
    """One app with the demo catalog loaded, for a module's read-only tests."""
    with _shared_app(database_template, tmp_path_factory.mktemp("demo-app")) as app:
        with app.app_context():
            load_demo()
        yield app


@pytest.fixture(scope="session")
def demo_snapshot(database_template, tmp_path_factory) -> CatalogSnapshot:
    """The published demo catalog as a worker holds it in memory, built from a real database."""
    folder = tmp_path_factory.mktemp("demo-snapshot")
    with _shared_app(database_template, folder) as app, app.app_context():
        load_demo()
        return build_snapshot(catalog_revision())
