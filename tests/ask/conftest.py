"""智能咨询 fixtures: the demo snapshot (shared with the catalog tests) and its ask engine."""

from __future__ import annotations

import pytest

from catalog.ask.engine import AskEngine, engine_for
from tests.catalog.conftest import demo_app, demo_snapshot  # noqa: F401 - fixtures used here


@pytest.fixture(scope="session")
def engine(demo_snapshot) -> AskEngine:  # noqa: F811
    return engine_for(demo_snapshot)
