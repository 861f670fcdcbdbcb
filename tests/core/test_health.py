"""/healthz is liveness: 200 whenever the process answers, even with the database down (restarting the
web processes would not bring it back); /readyz is the probe that says 503 then."""

from __future__ import annotations

import pytest


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.mimetype == "application/json"


@pytest.mark.chaos
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
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert any(p.startswith("DATABASE_URL:") for p in response.get_json()["problems"])
    # It stays usable: a second probe answers the same instead of crashing.
    assert client.get("/readyz").status_code == 503
