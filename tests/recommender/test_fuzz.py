"""Fuzz the recommender through its OpenAPI, over HTTP, on the shared lab stack.

Requests reach the real catalog, registry and engine behind it; every answer must be a
documented, schema-conforming non-5xx (tests/utils/fuzz.py).
"""

from __future__ import annotations

import pytest
from schemathesis import Case

from tests.utils.fuzz import (
    KNOWN_VALUES,
    check_all,
    hostile_cases,
    openapi_schema,
    served_by,
    service_openapi,
)
from tests.utils.stack import Stack

SPEC = service_openapi("recommender")
schema = openapi_schema(SPEC, values=KNOWN_VALUES["recommender"])


@pytest.fixture(scope="module")
def recommender_url(stack: Stack) -> str:
    return served_by(stack.recommender_url, SPEC)


@schema.parametrize()
def test_generated_requests(case: Case, recommender_url: str) -> None:
    case.call_and_validate(base_url=recommender_url)


def test_hostile_values(recommender_url: str) -> None:
    check_all(hostile_cases(schema), base_url=recommender_url)
