"""Fuzz the frontend over HTTP on the shared lab stack: its own OpenAPI, and the catalog,
registry and recommender APIs through its proxy (`/api/<service>/...`).

Through the proxy each API must answer exactly as documented, as the browser sees it; no
request, `//` and other odd paths after the prefix included, may get a 5xx
(tests/utils/fuzz.py). The registry's writes go without credentials here (401): the
stack's models are shared with other tests.
"""

from __future__ import annotations

import re

import httpx
import pytest
from schemathesis import Case

from services.cli.topology import PUBLIC_APIS
from tests.utils.fuzz import (
    KNOWN_VALUES,
    check_all,
    hostile_cases,
    openapi_schema,
    served_by,
    service_openapi,
)
from tests.utils.stack import Stack

SPEC = service_openapi("frontend")
schema = openapi_schema(SPEC)
# Prometheus scrapes each service directly: the proxy never serves a downstream's /metrics.
PROXIED = {
    name: openapi_schema(service_openapi(name), values=KNOWN_VALUES[name]).exclude(
        path="/metrics"
    )
    for name in PUBLIC_APIS
}


@pytest.fixture(scope="module")
def frontend_url(stack: Stack) -> str:
    assert stack.frontend_url
    return served_by(stack.frontend_url, SPEC)


@schema.parametrize()
def test_generated_requests(case: Case, frontend_url: str) -> None:
    case.call_and_validate(base_url=frontend_url)


@PROXIED["catalog"].parametrize()
def test_catalog_through_proxy(case: Case, frontend_url: str) -> None:
    case.call_and_validate(base_url=f"{frontend_url}/api/catalog")


@PROXIED["registry"].parametrize()
def test_registry_through_proxy(case: Case, frontend_url: str) -> None:
    case.call_and_validate(base_url=f"{frontend_url}/api/registry")


@PROXIED["recommender"].parametrize()
def test_recommender_through_proxy(case: Case, frontend_url: str) -> None:
    case.call_and_validate(base_url=f"{frontend_url}/api/recommender")


@pytest.mark.parametrize("service", PUBLIC_APIS)
def test_hostile_values_through_proxy(service: str, frontend_url: str) -> None:
    check_all(hostile_cases(PROXIED[service]), base_url=f"{frontend_url}/api/{service}")


@pytest.mark.parametrize("service", PUBLIC_APIS)
def test_odd_paths_through_proxy(service: str, frontend_url: str) -> None:
    """Doubled, trailing and dot segments after the prefix: a 4xx (or the page), never a 5xx."""
    paths = [
        re.sub(r"\{[^}]+\}", "1", operation.ok().path)
        for operation in PROXIED[service].get_all_operations()
    ]
    prefix = f"{frontend_url}/api/{service}"
    odd = ["/", "//", "///", "/.", "/..", "/%2F", "/%2e%2e/", "//healthz"]
    for path in paths:
        odd += [f"/{path}", f"{path}/", f"{path}//", path.replace("/", "//"), f"{path}/.."]
    with httpx.Client(timeout=30) as client:
        for tail in odd:
            for method in ("GET", "POST", "OPTIONS"):
                answer = client.request(method, prefix + tail)
                assert answer.status_code < 500, (
                    f"{method} {prefix + tail} -> {answer.status_code}: {answer.text[:300]}"
                )
