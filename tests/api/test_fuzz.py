"""schemathesis against the served OpenAPI document: every operation, generated valid (positive) and
invalid (negative) inputs, through WSGI on the run's database (SQLite, or PostgreSQL in CI's second
run). Checks, all of schemathesis's defaults: no 5xx, every answer matches its schema and content
type, only documented status codes, documented headers, invalid input rejected with a 4xx.

Bounded (:data:`MAX_EXAMPLES` per operation and mode) and derandomised so that the suite stays fast
and repeatable; ``API_FUZZ_EXAMPLES=200`` explores further (it ran clean at 150).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.api import CROSS_PARAMETER_CODES
from core.apidocs import build_document
from portal import create_app
from tests.conftest import TEST_CONFIG

MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "12"))


def _operations() -> list[tuple[str, str, GenerationMode]]:
    """(method, path, mode) of every documented operation, read from the document at collection
    time; invalid input only where there is a parameter to get wrong."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    paths = build_document(app)["paths"]
    return [
        (method.upper(), path, mode)
        for path, item in paths.items()
        for method, op in item.items()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if mode is GenerationMode.POSITIVE or op["parameters"]
    ]


@pytest.fixture(scope="module")
def api_schema(api_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)


@pytest.mark.parametrize(("method", "path", "mode"), _operations())
def test_every_operation_keeps_its_contract(api_schema, method, path, mode):
    operation = api_schema[path][method]
    strategy = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE:  # the documented examples too: they reach the 200 answers
        strategy = st.one_of(strategy, *api_schema.get_strategies_from_examples(operation))

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def run(case):
        response = case.call()
        excluded = []
        if response.status_code == 400 and response.json().get("code") in CROSS_PARAMETER_CODES:
            # a rule across parameters, which JSON Schema cannot state (see CROSS_PARAMETER_CODES):
            # only then may a schema-valid request be refused
            excluded = [positive_data_acceptance]
        case.validate_response(response, excluded_checks=excluded)

    run()
