"""gunicorn's own logs are the portal's JSON lines (``logconfig_dict`` in gunicorn.conf.py): masked,
with the request id; its access log only when GUNICORN_ACCESS_LOG=1 (issue 18 item 8)."""

from __future__ import annotations

import json
import logging
import logging.config
import runpy

import pytest

from core.request_id import _current
from tests.conftest import ROOT


@pytest.fixture
def restore_logging():
    """dictConfig rewires the root and gunicorn loggers: put them back for the other tests."""
    names = ("", "gunicorn.error", "gunicorn.access")
    saved = {
        n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level, logging.getLogger(n).propagate)
        for n in names
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def _config(monkeypatch, access: bool) -> dict:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp/unused-by-this-test")  # noqa: S108 - not created
    if access:
        monkeypatch.setenv("GUNICORN_ACCESS_LOG", "1")
    else:
        monkeypatch.delenv("GUNICORN_ACCESS_LOG", raising=False)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["graceful_timeout"] > 0  # SIGTERM drains (see test_graceful_shutdown)
    return settings


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_the_error_log_is_json_masked_and_carries_the_request_id(monkeypatch, capsys, restore_logging):
    logging.config.dictConfig(_config(monkeypatch, access=False)["logconfig_dict"])
    token = _current.set("req-12345678")
    try:
        logging.getLogger("gunicorn.error").error("worker failed for 330102199003071230 on 13912345678")
    finally:
        _current.reset(token)
    logging.getLogger("gunicorn.error").info("Handling signal: term")
    first, second = _lines(capsys.readouterr().err)
    assert first["name"] == "gunicorn.error" and first["levelname"] == "ERROR"
    assert first["request_id"] == "req-12345678"
    assert "330102199003071230" not in first["message"] and "3301**********1230" in first["message"]
    assert "13912345678" not in first["message"]
    assert second["message"] == "Handling signal: term" and second["request_id"] is None


def test_the_access_log_is_off_unless_asked_for(monkeypatch, capsys, restore_logging):
    logging.config.dictConfig(_config(monkeypatch, access=False)["logconfig_dict"])
    logging.getLogger("gunicorn.access").info("%(h)s", {"h": "127.0.0.1"})
    assert capsys.readouterr().out == ""


def test_the_access_log_as_json_fields(monkeypatch, capsys, restore_logging):
    settings = _config(monkeypatch, access=True)
    logging.config.dictConfig(settings["logconfig_dict"])
    atoms = {
        "h": "10.0.0.5",
        "r": "GET /search?q=330102199003071230 HTTP/1.1",
        "s": "200",
        "B": "5120",
        "M": "37",
        "m": "GET",
        "U": "/search",
        "{x-request-id}o": "abcdef0123456789",
    }
    logging.getLogger("gunicorn.access").info(settings["access_log_format"], atoms)
    (line,) = _lines(capsys.readouterr().out)
    assert line["request_id"] == "abcdef0123456789"
    assert (line["method"], line["path"], line["status"], line["ms"], line["remote"]) == (
        "GET",
        "/search",
        "200",
        "37",
        "10.0.0.5",
    )
    assert "330102199003071230" not in line["message"]  # a query string is masked like any log text


def test_plain_logs_leave_gunicorns_own_access_logfile_alone(monkeypatch):
    """GUNICORN_PLAIN_LOGS=1 (the clerk-load benchmark) sets no logconfig_dict, so an
    ``--access-logfile FILE --access-logformat …`` on the command line is written as given."""
    monkeypatch.setenv("GUNICORN_PLAIN_LOGS", "1")
    assert "logconfig_dict" not in _config(monkeypatch, access=False)
    monkeypatch.delenv("GUNICORN_PLAIN_LOGS")
    assert "gunicorn.error" in _config(monkeypatch, access=False)["logconfig_dict"]["loggers"]
