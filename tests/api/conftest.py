"""The public API's fixtures: one app with the demo catalog, shared by a module's read-only tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.catalog.conftest import _shared_app
from tests.catalog.helpers import load_demo


@pytest.fixture(scope="module")
def api_app(database_template, tmp_path_factory) -> Iterator[Flask]:
    with _shared_app(database_template, tmp_path_factory.mktemp("api-app")) as app:
        with app.app_context():
            load_demo()
        yield app


@pytest.fixture
def api(api_app):
    return api_app.test_client()
