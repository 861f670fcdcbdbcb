"""我的数据 fixtures: the application fixtures (demo catalog, logged-in citizens) and the clerk world."""

from tests.applications.conftest import citizen, citizen_client, demo, other_client  # noqa: F401
