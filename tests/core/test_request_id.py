"""Every answer carries X-Request-ID and every log line written for it the same id (issue 18 item 8).
A sane id from the proxy in front is kept; anything else is replaced, so nobody forges log fields."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from core.logging import configure_logging

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def logs():
    stream = io.StringIO()
    handler = configure_logging("INFO", stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.getLogger().removeHandler(handler)


def test_each_answer_gets_its_own_id_and_the_access_line_carries_it(client, logs):
    first = client.get("/healthz")
    second = client.get("/no/such/page")  # error pages too
    assert GENERATED.fullmatch(first.headers["X-Request-ID"])
    assert GENERATED.fullmatch(second.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    access = [r for r in logs() if r["name"] == "portal.access"]
    assert [r["request_id"] for r in access] == [
        first.headers["X-Request-ID"],
        second.headers["X-Request-ID"],
    ]


def test_a_sane_incoming_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "nginx-7f3a9c01:42"})
    assert response.headers["X-Request-ID"] == "nginx-7f3a9c01:42"
    assert response.headers.getlist("X-Request-ID") == ["nginx-7f3a9c01:42"]


@pytest.mark.parametrize(
    "incoming",
    ['abc", "levelname": "DEBUG', "x" * 200, "short", "id with spaces 1234", "ünïcode-123456"],
    ids=["json-injection", "too-long", "too-short", "spaces", "non-ascii"],
)
def test_an_odd_incoming_id_is_replaced(client, logs, incoming):
    response = client.get("/healthz", headers={"X-Request-ID": incoming})
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])
    assert all(
        r["request_id"] == response.headers["X-Request-ID"] for r in logs() if r["name"] == "portal.access"
    )


def test_log_lines_outside_a_request_have_a_null_id(logs):
    logging.getLogger("portal.test").warning("no request here")
    (line,) = [r for r in logs() if r["name"] == "portal.test"]
    assert line["request_id"] is None
