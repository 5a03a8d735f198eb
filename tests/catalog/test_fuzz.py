"""Fuzz the catalog through its OpenAPI, over HTTP, on the shared lab stack (PostgreSQL).

Every operation gets schemathesis's generated requests (tests/utils/fuzz.py) and the fixed
sweep of hostile values; every answer must be a documented, schema-conforming non-5xx.
"""

from __future__ import annotations

from collections.abc import Iterator

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
from tests.utils.servers import run_server
from tests.utils.stack import Stack

SPEC = service_openapi("catalog")
schema = openapi_schema(SPEC, values=KNOWN_VALUES["catalog"])


@pytest.fixture(scope="module")
def catalog_url(lab_stack: Stack) -> str:
    return served_by(lab_stack.catalog_url, SPEC)


@schema.parametrize()
def test_generated_requests(case: Case, catalog_url: str) -> None:
    case.call_and_validate(base_url=catalog_url)


def test_hostile_values(catalog_url: str) -> None:
    check_all(hostile_cases(schema), base_url=catalog_url)


@pytest.fixture(scope="module")
def empty_catalog_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A catalog whose database has no tables yet (before `videorecs load-catalog`)."""
    folder = tmp_path_factory.mktemp("fuzz-empty-catalog")
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'catalog.db'}",
        "ENVIRONMENT": "test",
        "ACCESS_LOG": "false",
    }
    with run_server("services.catalog.main:app", env=env, log_dir=folder) as server:
        yield server.url


@schema.parametrize()
def test_before_tables_exist(case: Case, empty_catalog_url: str) -> None:
    """Not loaded yet: 503 (the database is not ready) or a 4xx, each with its message."""
    answer = case.call(base_url=empty_catalog_url)
    request = case.as_curl_command(base_url=empty_catalog_url)
    assert answer.status_code < 500 or answer.status_code == 503, f"{request}\n{answer.text}"
    if answer.status_code >= 400 and case.path != "/readyz":  # the probe answers its checks
        assert isinstance(answer.json().get("detail"), str | list), f"{request}\n{answer.text}"
