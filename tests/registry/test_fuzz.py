"""Fuzz the registry through its OpenAPI, over HTTP, with the API token and without.

Without credentials against the lab stack's registry (reads answer, writes must be 401);
with the API token against a registry of its own, so that generated writes never touch
the models the other tests use, checking campaigns against the stack's engine. Every
answer must be a documented, schema-conforming non-5xx (tests/utils/fuzz.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case

from tests.registry.support import csrf_of
from tests.utils.fuzz import (
    HOSTILE,
    KNOWN_VALUES,
    MAX_EXAMPLES,
    check_all,
    hostile_cases,
    openapi_schema,
    served_by,
    service_openapi,
)
from tests.utils.servers import run_server
from tests.utils.stack import Stack

SPEC = service_openapi("registry")
schema = openapi_schema(SPEC, values=KNOWN_VALUES["registry"])
STAND_IN = "campaign:"
# One model per type in the writable registry (ids 1-3), to read, edit and delete.
MODELS = {
    "recommendations": "aws-user-personalization",
    "ranking": "aws-personalized-ranking",
    "similar-items": "aws-sims",
}


def bearer(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.api_token}"}


def with_campaign(case: Case, stack: Stack) -> Case:
    """The case with a `campaign:<recipe>` stand-in replaced by the stack's campaign ARN."""
    body = case.body
    if isinstance(body, dict) and str(body.get("campaign_arn")).startswith(STAND_IN):
        body["campaign_arn"] = stack.campaign_arns[body["campaign_arn"][len(STAND_IN) :]]
    return case


@pytest.fixture(scope="module")
def registry_url(lab_stack: Stack) -> str:
    return served_by(lab_stack.registry_url, SPEC)


@pytest.fixture(scope="module")
def writable_registry(lab_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A registry set up like the stack's (same engine and token) on a database of its own."""
    folder = tmp_path_factory.mktemp("fuzz-registry")
    env = {
        **lab_stack.topology.env("registry"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'registry.db'}",
        "ACCESS_LOG": "false",
        "ROOT_PATH": "",  # not behind the proxy: the admin cookie's path is /
    }
    with run_server("services.registry.main:app", env=env, log_dir=folder) as server:
        served_by(server.url, SPEC)
        for order, (kind, recipe) in enumerate(MODELS.items()):
            created = httpx.post(
                f"{server.url}/models",
                json={
                    "name": f"fuzz {kind}",
                    "campaign_arn": lab_stack.campaign_arns[recipe],
                    "type": kind,
                    "sort_order": order,
                },
                headers=bearer(lab_stack),
                timeout=30,
            )
            assert created.status_code == 201, created.text
        yield server.url


@schema.parametrize()
def test_generated_requests(case: Case, registry_url: str, lab_stack: Stack) -> None:
    with_campaign(case, lab_stack).call_and_validate(base_url=registry_url)


@schema.parametrize()
def test_generated_requests_with_token(
    case: Case, writable_registry: str, lab_stack: Stack
) -> None:
    with_campaign(case, lab_stack).call_and_validate(
        base_url=writable_registry, headers=bearer(lab_stack)
    )


def test_hostile_values(registry_url: str) -> None:
    check_all(hostile_cases(schema), base_url=registry_url)


def test_hostile_values_with_token(writable_registry: str, lab_stack: Stack) -> None:
    check_all(hostile_cases(schema), base_url=writable_registry, headers=bearer(lab_stack))


@pytest.fixture(scope="module")
def admin(writable_registry: str, lab_stack: Stack) -> Iterator[tuple[httpx.Client, str]]:
    """A client signed in to the writable registry's admin pages, and its CSRF token."""
    with httpx.Client(base_url=writable_registry, timeout=30) as client:
        page = client.get("/admin/login")
        signed_in = client.post(
            "/admin/login",
            data={
                "csrf_token": csrf_of(page.text),
                "username": lab_stack.secrets.admin_username,
                "password": lab_stack.secrets.admin_password,
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        form = client.get("/admin/models/new")
        assert form.status_code == 200, form.text
        yield client, csrf_of(form.text)


FORM_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(HOSTILE),
    st.sampled_from([*MODELS, *KNOWN_VALUES["registry"]["body.campaign_arn"]]),
)
ADMIN_PAGES = ["/admin/models/new"] + [
    f"/admin/models/{model_id}/{action}"
    for model_id in ("1", "2", "4", "0", "\u00b2", "9" * 30)
    for action in ("edit", "delete")
]


@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    page=st.sampled_from(ADMIN_PAGES),
    form=st.fixed_dictionaries(
        {},
        optional={f: FORM_VALUES for f in ("name", "campaign_arn", "type", "sort_order")},
    ),
    csrf=st.sampled_from(["valid", "valid", "valid", "", "forged"]),
)
def test_admin_forms(
    page: str,
    form: dict[str, str],
    csrf: str,
    admin: tuple[httpx.Client, str],
    lab_stack: Stack,
) -> None:
    """The signed-in admin pages take any form: a page, a redirect or a 4xx, never a 5xx."""
    client, token = admin
    fields = dict(form)
    if str(fields.get("campaign_arn")).startswith(STAND_IN):
        fields["campaign_arn"] = lab_stack.campaign_arns[fields["campaign_arn"][len(STAND_IN) :]]
    fields["csrf_token"] = {"valid": token, "forged": "x" * 43}.get(csrf, "")
    for method in ("GET", "POST"):
        answer = client.request(method, page, data=fields if method == "POST" else None)
        assert answer.status_code < 500, f"{method} {page} {fields!r:.300} -> {answer.text[:300]}"
