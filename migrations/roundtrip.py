"""Migration round trip: ``upgrade head`` → ``downgrade base`` → ``upgrade head``, then every index and
unique constraint the models declare must exist in the database, by name.

    INSTANCE_DIR=$(mktemp -d) .venv/bin/python migrations/roundtrip.py
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/empty_db .venv/bin/python migrations/roundtrip.py

Before the way down to base it also goes down to each older revision in turn and back up to head,
checking after each: a downgrade that silently loses an index on a table it keeps only shows when the
upgrade back does not build that index again, which a trip through base never exercises.

Run it on an empty database (it drops every table on the way down). The database comes from the
environment exactly as for the flask CLI (DATABASE_URL, else INSTANCE_DIR/portal.db). Prints one line
per missing index and exits 1, or a one-line summary and exits 0; a migration that fails raises.

``flask db check`` cannot stand in for this: SQLite reflection skips expression indexes, so autogenerate
never notices one lost by a batch-mode table copy (ix_applications_claimable was, see revision
e64a443693ab's downgrade); here SQLite's own catalogue (sqlite_master) is read as well.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

# `python migrations/roundtrip.py` puts migrations/ on sys.path, not the project root.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402


def expected_indexes(metadata: sa.MetaData) -> set[tuple[str, str]]:
    """(table, name) of every index and unique constraint in the models' metadata."""
    expected = set()
    for table in metadata.sorted_tables:
        items = [*table.indexes, *(c for c in table.constraints if isinstance(c, sa.UniqueConstraint))]
        for item in items:
            # names come from the naming convention; an unnamed one could not be found again
            expected.add((table.name, str(item.name) if item.name else f"<unnamed {type(item).__name__}>"))
    return expected


def present_indexes(engine: sa.Engine) -> set[tuple[str, str]]:
    """(table, name) of every index and unique constraint in the database: reflection, plus the
    catalogue itself (SQLAlchemy's SQLite reflection skips expression indexes)."""
    inspector = sa.inspect(engine)
    present = set()
    with warnings.catch_warnings():
        # known and handled: the catalogue query below finds them
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        for table in inspector.get_table_names():
            for item in [*inspector.get_indexes(table), *inspector.get_unique_constraints(table)]:
                if item.get("name"):
                    present.add((table, item["name"]))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(sa.text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'"))
        elif engine.dialect.name == "postgresql":
            rows = conn.execute(
                sa.text("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema()")
            )
        else:
            rows = []
        present.update((table, name) for table, name in rows)
    return present


def run(app: Flask) -> list[str]:
    """Upgrade to head; down to each older revision and back up; down to base and back up. The
    indexes missing after each trip, one line each (none: an empty list)."""
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    migrate = app.extensions["migrate"]
    db = migrate.db
    problems: list[str] = []

    def check(trip: str) -> None:
        missing = expected_indexes(db.metadata) - present_indexes(db.engine)
        problems.extend(f"missing index {name} on {table} after {trip}" for table, name in sorted(missing))

    with app.app_context():
        try:
            script = ScriptDirectory.from_config(migrate.migrate.get_config())
            older = [rev.revision for rev in script.walk_revisions()][1:]  # newest first, head left out
            upgrade()
            for revision in older:
                downgrade(revision=revision)
                upgrade()
                check(f"downgrade {revision} → upgrade head")
            downgrade(revision="base")
            upgrade()
            check("downgrade base → upgrade head")
        finally:
            db.session.remove()
            db.engine.dispose()
    return problems


def main() -> int:
    from wsgi import app  # the app the flask CLI finds, configured from the environment

    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
    problems = run(app)
    for line in problems:
        print(line)
    if problems:
        print(f"migration round trip on {url}: {len(problems)} index(es) missing", file=sys.stderr)
        return 1
    count = len(expected_indexes(app.extensions["migrate"].db.metadata))
    print(
        f"migration round trip on {url}: upgrade → downgrade (each revision, then base) → upgrade, "
        f"all {count} indexes present"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
