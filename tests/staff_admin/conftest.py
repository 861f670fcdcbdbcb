"""Staff administration tests use the admin catalog tests' fixtures: an app with the admin blueprints
and a small catalog (the demo's units and a handful of items)."""

from tests.catalog_admin.conftest import app, small  # noqa: F401 - fixtures
