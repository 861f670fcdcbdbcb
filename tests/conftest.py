"""Test fixtures: one app per test on a fresh database (SQLite by default, PostgreSQL through
``TEST_DATABASE_URL``), a live server and Debian's chromium for browser tests.

The schema is built once per run with the real migrations (``flask db upgrade``), so the tests also
prove the migrations. SQLite tests copy a migrated template file; PostgreSQL tests truncate every
table after each test (TRUNCATE does not fire the audit trail's append-only triggers).
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from core.config import normalise_database_url
from core.db import db
from portal import create_app

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
PG_URL = normalise_database_url(os.environ.get("TEST_DATABASE_URL", "")) or None
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _compile_translations() -> None:
    """`make test` compiles the English catalogue at install; a bare `pytest` does it here when the
    .mo is missing or older than the .po (written to a temporary file and renamed: xdist workers race)."""
    po = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    if not po.exists() or (mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime):
        return
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(po, "rb") as f:
        catalog = read_po(f)
    tmp = mo.with_name(f"messages.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        write_mo(f, catalog)
    os.replace(tmp, mo)


_compile_translations()


def _reuse_url_builders() -> None:
    """Every test builds its own app, and Werkzeug compiles two URL builders per rule for each one
    (Python source generated and ``compile()``d: 0.145 s of the 0.16 s ``create_app`` takes, a tenth of
    the suite). A builder is a plain function of the rule's shape, bound to its rule only when called
    (it reads converters through its ``self`` argument), so the test process compiles each shape once.
    The key holds everything the generated code depends on: the rule (converter arguments included),
    its host or subdomain, its parsed trace, its defaults and whether unknown arguments are appended."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    builders: dict[tuple, object] = {}

    def _compile_builder(self, append_unknown: bool = True):
        key = (
            self.rule,
            self.host,
            self.subdomain,
            self.map.host_matching,
            tuple(self._trace),
            tuple((k, type(v).__name__, repr(v)) for k, v in (self.defaults or {}).items()),
            tuple((k, type(c)) for k, c in self._converters.items()),
            append_unknown,
        )
        if key not in builders:
            builders[key] = compile_builder(self, append_unknown)
        return builders[key]

    Rule._compile_builder = _compile_builder


_reuse_url_builders()


#: Compiled templates (core.factory.TemplateCache) shared by every app of the test run: each test's new
#: app has its own Jinja environment, which compiled every template it rendered again (a fifth of a route
#: test's time). One folder per test process (each xdist worker has its own), removed at exit.
TEMPLATE_CACHE = tempfile.mkdtemp(prefix="portal-test-templates-")
atexit.register(shutil.rmtree, TEMPLATE_CACHE, ignore_errors=True)

TEST_CONFIG = {
    "TESTING": True,
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 8,
    "ARGON2_PARALLELISM": 1,
    "SECRET_KEY": "test-secret-key-not-for-production",
    "LOG_LEVEL": "WARNING",
    "SERVER_NAME": None,
    "TEMPLATE_CACHE_DIR": TEMPLATE_CACHE,
    # a fixed test master key (core.crypto): the migrated template's data keys are wrapped with it
    "MASTER_KEY": "dGVzdC1tYXN0ZXIta2V5LW5vdC1mb3ItcHJvZC11c2U",
}


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(instance)})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _worker_database(url: str, worker_id: str) -> str:
    """Under pytest-xdist each worker gets its own PostgreSQL database (``<name>_<worker>``),
    created from scratch, so workers never truncate each other's tables."""
    if worker_id in ("", "master"):
        return url
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker_id}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory, worker_id) -> dict:
    """Migrate once: a template SQLite file, or the PostgreSQL test database itself."""
    base = tmp_path_factory.mktemp("db")
    if PG_URL:
        url = _worker_database(PG_URL, worker_id)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            # a throw-away database: a commit need not wait for the WAL to reach the disk
            conn.execute(text(f'ALTER DATABASE "{engine.url.database}" SET synchronous_commit = off'))
        engine.dispose()
        _migrate(url, base)
        engine = create_engine(url)
        with engine.connect() as conn:  # the data keys the migration made, put back after every test
            keys = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM data_keys"))]
        engine.dispose()
        return {"kind": "postgresql", "url": url, "data_keys": keys}
    template = base / "template.db"
    _migrate(f"sqlite:///{template}", base)
    return {"kind": "sqlite", "template": template}


def _cleanup_sql(url: str) -> str:
    """One script that empties every table and restarts every sequence.

    DELETE with ``session_replication_role = replica`` (no foreign-key or audit triggers fire) costs
    about 17 ms on the 59 nearly-empty tables of a test; TRUNCATE made a new file per table and cost
    about 230 ms, which over 3,500 tests was a quarter of the PostgreSQL run."""
    engine = create_engine(url)
    with engine.connect() as conn:
        tables = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"
                )
            )
        ]
        sequences = [
            r[0]
            for r in conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname='public'"))
        ]
    engine.dispose()
    return (
        "SET LOCAL session_replication_role = replica;"
        + "".join(f'DELETE FROM "{t}";' for t in tables)
        + "".join(f'ALTER SEQUENCE "{s}" RESTART;' for s in sequences)
    )


_CLEANUP_SQL: dict[str, str] = {}


def _truncate_all(url: str, data_keys: list[dict]) -> None:
    """Empty every table, then put the migration's data keys back (a test may have rotated them)."""
    if url not in _CLEANUP_SQL:
        _CLEANUP_SQL[url] = _cleanup_sql(url)
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql(_CLEANUP_SQL[url])
        if data_keys:
            columns = list(data_keys[0])
            conn.execute(
                text(
                    f"INSERT INTO data_keys ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
                ),
                data_keys,
            )
    engine.dispose()


@pytest.fixture
def database_url(database_template, tmp_path) -> Iterator[str]:
    if database_template["kind"] == "postgresql":
        yield database_template["url"]
        _truncate_all(database_template["url"], database_template["data_keys"])
    else:
        path = tmp_path / "test.db"
        shutil.copy(database_template["template"], path)
        yield f"sqlite:///{path}"


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build another app instance on the same database (e.g. two 'workers')."""
    apps = []

    def _make(**overrides):
        config = {
            **TEST_CONFIG,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_DIR": str(tmp_path / "instance"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            **overrides,
        }
        app = create_app(config)
        apps.append(app)
        return app

    yield _make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def is_postgres(database_template) -> bool:
    return database_template["kind"] == "postgresql"


# Live server and browser ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(make_app):
    """Serve a real app (CSRF on) from a thread; yields its base URL."""
    from werkzeug.serving import make_server

    app = make_app(WTF_CSRF_ENABLED=True)
    port = _free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.app = app  # type: ignore[attr-defined]
    yield type("Live", (), {"url": f"http://127.0.0.1:{port}", "app": app})()
    server.shutdown()
    thread.join(5)


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_instance():
    """Debian's chromium through Playwright. Missing chromium fails in CI and skips elsewhere."""
    if not Path(CHROMIUM).exists():
        message = f"chromium not found at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser_instance):
    context = browser_instance.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


@pytest.fixture
def phone_page(browser_instance):
    context = browser_instance.new_context(
        locale="zh-CN", viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
    )
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


@pytest.fixture
def screenshot(request):
    """``screenshot(page, "step")`` saves test-artifacts/<test>/<nn>-<step>.png."""
    folder = ARTIFACTS / request.node.name.replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    counter = {"n": 0}

    def _shot(pg, name: str) -> Path:
        counter["n"] += 1
        path = folder / f"{counter['n']:02d}-{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        return path

    return _shot


def run_axe(pg) -> list[dict]:
    """Load axe-core (vendored from npm) and return serious/critical violations.

    The source is evaluated over the DevTools protocol: ``add_script_tag`` would add an inline
    script, which the portal's CSP (nonces, no 'unsafe-inline') rightly blocks."""
    if not pg.evaluate("typeof window.axe !== 'undefined'"):
        pg.evaluate((ROOT / "tests" / "vendor" / "axe.min.js").read_text(encoding="utf-8") + "\n;undefined")
    result = pg.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in {"serious", "critical"}]


#: The longest files, started first: under xdist's ``--dist loadfile`` a file runs on one worker, and
#: these (collected last, being at the top of tests/) kept one worker busy for minutes while the other
#: had nothing left to do.
_LONGEST_FIRST = ("tests/test_route_matrix.py", "tests/test_migrations_roundtrip.py")


def pytest_collection_modifyitems(config, items) -> None:
    rank = {path: n for n, path in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
