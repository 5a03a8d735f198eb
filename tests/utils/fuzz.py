"""Fuzzing the services through their OpenAPI with schemathesis, seeded and bounded.

Each tests/<service>/test_fuzz.py builds the service's OpenAPI document in-process
(`service_openapi`), checks that the running server serves that very document
(`served_by`), and lets schemathesis generate requests for every operation, sent over
HTTP to the real uvicorn process: the schema's examples, its coverage cases (boundaries,
wrong types, missing parameters, undeclared methods) and Hypothesis fuzzing, valid and
invalid input alike. Every answer goes through schemathesis's checks: never a 5xx, a
documented status code and content type, a body that matches the documented schema,
405 with a matching `Allow`, invalid input refused (all on by default; only
`positive_data_acceptance` is off, see `fuzz_config`).

On top of that, `hostile_cases` puts a fixed list of hostile values (`HOSTILE`: unicode
digits, 5,000-digit numbers, empty and oversized strings, separators) in every path and
query parameter of every operation, one at a time, so that the classic crashes are tried
on every run and not only when the generator happens to draw them.

Reproducible in CI: a fixed seed, derandomized Hypothesis, no example database and no
schemathesis cache (nothing is written into the repository), and a bound on the examples
per operation (`FUZZ_EXAMPLES`, 30 by default; raise it for a longer local hunt).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import schemathesis
from schemathesis import Case
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi import from_dict
from schemathesis.schemas import BaseSchema

SEED = 20_261_130
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))

# Values that broke (or could break) a parser somewhere: superscript and Arabic-Indic
# digits that str.isdigit() accepts and int() does not, a 5,000-digit number (int() refuses
# more than 4,300 digits), numbers beyond 32 and 64 bits, signs, spaces, separators, an
# empty string, URL syntax, a NUL, an emoji, a long string.
HOSTILE: tuple[str, ...] = (
    "\u00b2",
    "\u0661\u0662",
    "1\u00b2",
    "9" * 5000,
    "1" * 30,
    "2147483648",
    "9223372036854775808",
    "-1",
    "0",
    "-0",
    "+1",
    " 1",
    "1 ",
    "1.0",
    "1e3",
    "0x10",
    "1_000",
    "",
    ",",
    "1,,2",
    ",".join(["1"] * 501),
    "null",
    "true",
    "all",
    "../",
    "%2F",
    "\x00",
    "\U0001f600",
    "x" * 3000,
)

# Real ids and names, each drawn half of the time for its parameter, so that generated
# requests also reach the code behind a valid id (ml-100k: users 1-943, films 1-1682; the
# pipeline registers models 1-5). `campaign:<recipe>` stands for the stack's campaign ARN
# of that recipe, known only once the stack runs (tests/registry/test_fuzz.py swaps it in).
KNOWN_VALUES: dict[str, dict[str, list[str | int]]] = {
    "catalog": {
        "path.user_id": [1, 943, 944],
        "path.movie_id": [1, 1682, 1683],
        "query.ids": ["1,2,3", "1682,1683", "50"],
        "query.genre": ["action", "film-noir", "all"],
    },
    "registry": {
        "path.model_id": [1, 2, 3, 6],
        "body.campaign_arn": [
            "campaign:aws-user-personalization",
            "campaign:aws-personalized-ranking",
            "campaign:aws-sims",
        ],
    },
    "recommender": {
        "path.user_id": [1, 943, 944],
        "query.models": ["1,2,3,4,5", "2", "5,1", "6"],
        "query.model": [1, 2, 3, 4, 5, 6],
        "query.item": [1, 1682, 1683],
        "query.genre": ["action", "all", "film-noir"],
    },
}


def fuzz_config(
    *, max_examples: int = MAX_EXAMPLES, values: dict[str, list[str | int]] | None = None
) -> schemathesis.Config:
    """A schemathesis configuration: fixed seed, deterministic, nothing stored on disk.

    `values` binds parameters to known-good values (e.g. `{"query.models": ["1,2"]}`),
    drawn half of the time, so the generator also reaches the code behind a valid id.
    """
    dictionaries: dict[str, Any] = {"hostile": {"values": list(HOSTILE)}}
    parameters: dict[str, Any] = {}
    for i, (parameter, known) in enumerate((values or {}).items()):
        dictionaries[f"known{i}"] = {"values": list(known)}
        parameters[parameter] = {"dictionary": f"known{i}", "probability": 0.5}
    data: dict[str, Any] = {
        "seed": SEED,
        "cache": {"enabled": False},
        "request-timeout": 30,
        "dictionaries": dictionaries,
        "generation": {
            "mode": "all",
            "max-examples": max_examples,
            "deterministic": True,
            "database": "none",
            "dictionaries": {"string": {"dictionary": "hostile", "probability": 0.1}},
            # Our APIs ignore query parameters they do not know, as HTTP APIs commonly do.
            "allow-extra-parameters": False,
        },
        # Links between operations are not declared: the stateful phase has nothing to do.
        "phases": {"stateful": {"enabled": False}},
        # Off: it reports every string the OpenAPI leaves unconstrained (`ids=""`,
        # `genre=""`) that the route then refuses with a 422: a request schema that could
        # be tighter, not a fault in the answer.
        "checks": {"positive_data_acceptance": {"enabled": False}},
    }
    if parameters:
        data["parameters"] = parameters
    return schemathesis.Config.from_dict(data)


def service_openapi(service: str) -> dict[str, Any]:
    """The OpenAPI document of `service` ("catalog", "registry", "recommender", "frontend"),
    from its app built in-process with throwaway settings: nothing is started or read."""
    nowhere = "http://127.0.0.1:9"
    if service == "catalog":
        from services.catalog.config import Settings as CatalogSettings
        from services.catalog.main import create_catalog_app

        settings = CatalogSettings(DATABASE_URL="sqlite+aiosqlite://", ENVIRONMENT="test")
        return create_catalog_app(settings).openapi()
    if service == "registry":
        from services.registry.main import create_registry_app
        from tests.registry.support import build_settings

        return create_registry_app(build_settings("sqlite+aiosqlite://")).openapi()
    if service == "recommender":
        from services.recommender.config import Settings as RecommenderSettings
        from services.recommender.main import create_recommender_app
        from tests.utils.credentials import engine_keys_env

        settings = RecommenderSettings(
            ENVIRONMENT="test",
            CATALOG_URL=nowhere,
            REGISTRY_URL=nowhere,
            PERSONALIZE_ENDPOINT_URL=nowhere,
            **engine_keys_env(),  # type: ignore[arg-type]
        )
        return create_recommender_app(settings).openapi()
    if service == "frontend":
        from services.frontend.config import Settings as FrontendSettings
        from services.frontend.main import create_frontend_app

        settings = FrontendSettings(
            ENVIRONMENT="test", CATALOG_URL=nowhere, REGISTRY_URL=nowhere, RECOMMENDER_URL=nowhere
        )
        return create_frontend_app(settings).openapi()
    raise ValueError(f"no OpenAPI for {service!r}")


def openapi_schema(spec: dict[str, Any], **config: Any) -> BaseSchema:
    """A schemathesis schema of `spec`, a service's OpenAPI document (see `served_by`).

    Built when the test module is imported, so that pytest collects one test per operation;
    the tests send the requests to the real server (`case.call_and_validate(base_url=...)`).
    Not `schemathesis.pytest.from_fixture` (load from the server once it runs): its lazy
    loader renames the test through `Function._nodeid`, which pytest 9.2 no longer has.
    """
    return from_dict(spec, config=fuzz_config(**config))


def served_by(url: str, spec: dict[str, Any]) -> str:
    """`url`, once checked that the server there serves `spec` as its /openapi.json."""
    served = httpx.get(f"{url}/openapi.json", timeout=30)
    assert served.status_code == 200, served.text
    assert served.json() == spec, "the running server serves another OpenAPI than the fuzzed one"
    return url


def hostile_cases(schema: BaseSchema) -> Iterator[Case]:
    """Each `HOSTILE` value in each path and query parameter of each operation, one at a time.

    The other path parameters are "1", so that the request reaches the route; the other
    query parameters are left out.
    """
    for result in schema.get_all_operations():
        operation = result.ok()
        path_names = [p.name for p in operation.path_parameters]
        query_names = [p.name for p in operation.query]
        base_path = dict.fromkeys(path_names, "1")
        for value in HOSTILE:
            for name in path_names:
                if value in ("", "../", "%2F"):
                    continue  # a path of another route (`/users/` redirects to /users)
                yield operation.Case(path_parameters={**base_path, name: value})
            for name in query_names:
                yield operation.Case(path_parameters=base_path, query={name: value})


def check_all(cases: Iterable[Case], **call: Any) -> None:
    """`call_and_validate(**call)` for every case; one failure lists them all (one line each)."""
    failures = []
    for case in cases:
        try:
            case.call_and_validate(**call)
        except FailureGroup as group:
            titles = "; ".join(
                sorted({f"{f.title} {getattr(f, 'status_code', '')}" for f in group.exceptions})
            )
            failures.append(f"{titles}: {case.as_curl_command(base_url=call.get('base_url'))}")
    assert not failures, f"{len(failures)} failing requests:\n" + "\n".join(failures)
