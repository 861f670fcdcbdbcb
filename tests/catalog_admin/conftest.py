"""Admin catalog tests: an app with the admin blueprints registered (wired in the factory or not)
and a small catalog (the demo's units and a handful of items) loaded into the test's database."""

from __future__ import annotations

import pytest

from auth.staff_views import init_staff_admin
from catalog.admin import init_catalog_admin
from catalog.loader import apply, validate
from core.db import db
from tests.catalog.helpers import demo_files

SMALL_ITEMS = ("LJ-HJ-001", "LJ-HJ-002", "LJ-HJ-006")


def wire(app):
    init_catalog_admin(app)
    init_staff_admin(app)
    return app


def small_catalog() -> None:
    """Units, three 户籍 items and the 出生一件事 bundle (with its flow and departments), committed."""
    files = demo_files()
    units = files["units.yaml"]["units"]
    items = [i for d in files.values() for i in d.get("items") or [] if i["code"] in SMALL_ITEMS]
    bundles = [b for b in files["bundles.yaml"]["bundles"] if set(b["items"]) <= set(SMALL_ITEMS)]
    departments = files["departments.yaml"]["departments"]
    small = {"units": units, "items": items, "bundles": bundles, "departments": departments}
    apply(validate([("small.yaml", small)]))
    db.session.commit()


@pytest.fixture
def app(make_app):
    return wire(make_app())


@pytest.fixture
def small(app):
    with app.app_context():
        small_catalog()
    return app
