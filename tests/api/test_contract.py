"""The API is stable: the served document may add to the released one (tests/api/openapi-released.json,
written by ``flask apidocs release``) but not take away, unless its major version changes."""

from __future__ import annotations

import copy
import json

import pytest

from core.apicompat import breaking_changes
from core.apidocs import RELEASED, build_document


@pytest.fixture(scope="module")
def released() -> dict:
    return json.loads(RELEASED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def current(api_app) -> dict:
    return build_document(api_app)


def test_the_served_document_does_not_break_the_released_one(released, current):
    assert breaking_changes(released, current) == [], (
        "a breaking change to the public API: keep the old shape, or raise the major version in "
        "core.api.API_VERSION (and publish /api/v2)"
    )


def test_the_version_never_goes_back(released, current):
    def parts(v: str) -> tuple[int, ...]:
        return tuple(int(x) for x in v.split("."))

    assert parts(current["info"]["version"]) >= parts(released["info"]["version"])


def test_additions_are_not_breaking(released):
    new = copy.deepcopy(released)
    new["paths"]["/api/v1/new-thing"] = copy.deepcopy(new["paths"]["/api/v1/categories"])
    new["components"]["schemas"]["ItemSummary"]["properties"]["english_name"] = {"type": "string"}
    new["paths"]["/api/v1/items"]["get"]["parameters"].append(
        {"name": "sort", "in": "query", "required": False, "schema": {"type": "string"}}
    )
    params = {p["name"]: p for p in new["paths"]["/api/v1/items"]["get"]["parameters"]}
    params["per_page"]["schema"]["maximum"] = 200  # accepting more is fine
    assert breaking_changes(released, new) == []


def _mutated(released, change) -> list[str]:
    new = copy.deepcopy(released)
    change(new)
    return breaking_changes(released, new)


def _params(doc, path="/api/v1/items"):
    return {p["name"]: p for p in doc["paths"][path]["get"]["parameters"]}


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        (lambda d: d["paths"].pop("/api/v1/categories"), "GET /api/v1/categories: operation removed"),
        (
            lambda d: d["components"]["schemas"]["ItemSummary"]["properties"].pop("fee"),
            "field fee removed",
        ),
        (
            lambda d: d["components"]["schemas"]["ItemSummary"]["required"].remove("fee"),
            "field fee no longer always present",
        ),
        (
            lambda d: d["components"]["schemas"]["ItemSummary"]["properties"]["fee"].update(
                type=["number", "null"]
            ),
            "may now be null",
        ),
        (
            lambda d: d["components"]["schemas"]["ItemSummary"]["properties"]["category"]["enum"].append(
                "traffic"
            ),
            "new values ['traffic']",
        ),
        (lambda d: _params(d)["per_page"]["schema"].update(maximum=50), "maximum lowered to 50"),
        (lambda d: _params(d)["q"]["schema"].update(maxLength=20), "maxLength lowered to 20"),
        (lambda d: _params(d)["page"]["schema"].update(type="string"), "no longer accepts type integer"),
        (lambda d: _params(d)["category"]["schema"]["enum"].remove("huji"), "no longer accepts ['huji']"),
        (lambda d: _params(d)["q"].update(required=True), "parameter q made required"),
        (
            lambda d: d["paths"]["/api/v1/items"]["get"]["parameters"].remove(_params(d)["q"]),
            "parameter q removed",
        ),
        (
            lambda d: d["components"]["schemas"]["SlotOut"]["properties"].pop("remaining"),
            "field remaining removed",
        ),
    ],
)
def test_a_breaking_change_is_caught(released, change, finding):
    findings = _mutated(released, change)
    assert any(finding in f for f in findings), findings


def test_a_new_major_version_may_break(released):
    def remove_and_bump(d):
        d["paths"].pop("/api/v1/categories")
        d["info"]["version"] = "2.0.0"

    assert _mutated(released, remove_and_bump) == []

    def remove_and_bump_minor(d):
        d["paths"].pop("/api/v1/categories")
        d["info"]["version"] = "1.1.0"

    assert _mutated(released, remove_and_bump_minor) == ["GET /api/v1/categories: operation removed"]
