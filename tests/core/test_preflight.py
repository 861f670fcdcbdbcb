"""Failures that used to look healthy are refused at start-up and reported by /readyz (issue 18, item 1)."""

from __future__ import annotations

import pytest

from core.preflight import problems


def test_a_healthy_instance_has_no_problems(app):
    assert problems(app) == []
    r = app.test_client().get("/readyz")
    assert r.status_code == 200 and r.json["problems"] == []


@pytest.mark.chaos
def test_an_upload_path_that_is_a_file_is_named_and_readyz_answers_503(make_app, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    app = make_app(UPLOAD_DIR=str(blocker / "uploads"))
    (line,) = [p for p in problems(app) if p.startswith("UPLOAD_DIR:")]
    r = app.test_client().get("/readyz")
    assert r.status_code == 503 and line in r.json["problems"]
    assert app.test_client().get("/healthz").status_code == 200  # alive, just not ready


@pytest.mark.chaos
def test_a_dead_database_is_named(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert any(p.startswith("DATABASE_URL:") for p in problems(app))


@pytest.mark.chaos
def test_a_shared_database_needs_a_secret_key_from_the_environment(make_app, app):
    url = str(app.config["SQLALCHEMY_DATABASE_URI"])
    shared = make_app(SECRET_KEY_GENERATED=True, SECRET_KEY="generated-on-this-machine")
    found = [p for p in problems(shared) if p.startswith("SECRET_KEY:")]
    assert bool(found) == url.startswith("postgresql")
