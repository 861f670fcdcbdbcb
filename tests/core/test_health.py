"""/healthz answers for the load balancer: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

import pytest


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.mimetype == "application/json"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://nobody@127.0.0.1:1/x?connect_timeout=2",
        "sqlite:////nonexistent-directory/for/sure/portal.db",
    ],
    ids=["postgres-down", "sqlite-unopenable"],
)
def test_unreachable_database(make_app, url):
    app = make_app(SQLALCHEMY_DATABASE_URI=url)
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "error"}
    # It stays usable: a second probe answers the same instead of crashing.
    assert client.get("/healthz").status_code == 503
