"""Encrypted uploads: the demo catalog and accounts (a clerk of 东城派出所 to view documents)."""

from __future__ import annotations

from tests.clerk.conftest import world  # noqa: F401 - the fixture
from tests.core.test_backup import source, target  # noqa: F401 - backup fixtures
