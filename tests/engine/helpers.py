"""Helpers for the engine tests: clients, polling, synthetic data (never ml-100k copies)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
from botocore.config import Config

from services.common.aws import sigv4_headers
from tests.utils.credentials import (
    ENGINE_ACCESS_KEY_ID,
    ENGINE_SECRET_ACCESS_KEY,
    boto_credentials,
)

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/PersonalizeRole"
NO_RETRIES = Config(retries={"max_attempts": 1}, read_timeout=60)
FINAL = ("ACTIVE", "CREATE FAILED", "CREATE STOPPED")

INTERACTIONS_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Interactions",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "USER_ID", "type": "string"},
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TIMESTAMP", "type": "long"},
        ],
        "version": "1.0",
    }
)
ITEMS_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Items",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "ITEM_ID", "type": "string"},
            {"name": "GENRES", "type": ["null", "string"], "categorical": True},
            {"name": "YEAR", "type": ["null", "int"]},
        ],
        "version": "1.0",
    }
)
USERS_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Users",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "USER_ID", "type": "string"},
            {"name": "AGE", "type": "int"},
            {"name": "GENDER", "type": "string", "categorical": True},
            {"name": "OCCUPATION", "type": "string", "categorical": True},
        ],
        "version": "1.0",
    }
)
GENRES = ("Action", "Comedy", "Drama", "Horror")


@dataclass(frozen=True)
class Clients:
    personalize: Any
    runtime: Any
    events: Any


def client_kwargs(url: str) -> dict[str, Any]:
    return {
        "endpoint_url": url,
        "region_name": REGION,
        **boto_credentials(),
        "config": NO_RETRIES,
    }


def boto_clients(url: str) -> Clients:
    kw = client_kwargs(url)
    return Clients(
        boto3.client("personalize", **kw),
        boto3.client("personalize-runtime", **kw),
        boto3.client("personalize-events", **kw),
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(
    describe: Callable[..., dict[str, Any]], key: str, timeout: float = 120, **kwargs: Any
) -> dict[str, Any]:
    """Poll a Describe* call until the resource reaches a final status."""
    deadline = time.monotonic() + timeout
    while True:
        resource = describe(**kwargs)[key]
        if resource["status"] in FINAL:
            return resource
        if time.monotonic() > deadline:
            raise AssertionError(f"{key} still {resource['status']} after {timeout}s")
        time.sleep(0.05)


def wait_gone(
    describe: Callable[..., Any], not_found: type[Exception], timeout: float = 30, **kwargs: Any
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            describe(**kwargs)
        except not_found:
            return
        time.sleep(0.05)
    raise AssertionError(f"resource {kwargs} was not deleted after {timeout}s")


def new_dataset(
    p: Any, kind: str = "INTERACTIONS", schema: str = INTERACTIONS_SCHEMA
) -> tuple[str, str]:
    """A new ACTIVE dataset group holding one ACTIVE dataset: (group ARN, dataset ARN)."""
    group = p.create_dataset_group(name=unique("g"))["datasetGroupArn"]
    wait_for(p.describe_dataset_group, "datasetGroup", datasetGroupArn=group)
    schema_arn = p.create_schema(name=unique("s"), schema=schema)["schemaArn"]
    dataset = p.create_dataset(
        name=unique("d"), schemaArn=schema_arn, datasetGroupArn=group, datasetType=kind
    )["datasetArn"]
    wait_for(p.describe_dataset, "dataset", datasetArn=dataset)
    return group, dataset


def synthetic_interactions(
    n_users: int = 60, n_items: int = 50, per_user: int = 25, seed: int = 0
) -> list[tuple[str, str, int]]:
    """Skewed item popularity (item 1 most popular), distinct items per user, increasing times."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_items + 1)
    weights /= weights.sum()
    rows = []
    for u in range(1, n_users + 1):
        items = rng.choice(np.arange(1, n_items + 1), size=per_user, replace=False, p=weights)
        for k, item in enumerate(items):
            rows.append((f"u{u}", f"i{item}", 1_000_000_000 + u * 1000 + k))
    return rows


def interactions_csv(rows: list[tuple[str, str, int]]) -> str:
    return "USER_ID,ITEM_ID,TIMESTAMP\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows)


def items_csv(n_items: int = 50) -> str:
    lines = ["ITEM_ID,GENRES,YEAR"]
    for i in range(1, n_items + 1):
        genres = GENRES[i % 4] + ("|" + GENRES[(i + 1) % 4] if i % 3 == 0 else "")
        lines.append(f"i{i},{genres},{1990 + i % 10}")
    return "\n".join(lines) + "\n"


def users_csv(n_users: int = 60) -> str:
    lines = ["USER_ID,AGE,GENDER,OCCUPATION"]
    for u in range(1, n_users + 1):
        lines.append(f"u{u},{18 + u % 50},{'MF'[u % 2]},{'student' if u % 3 else 'engineer'}")
    return "\n".join(lines) + "\n"


def genre_of(item_id: str) -> set[str]:
    i = int(item_id[1:])
    genres = {GENRES[i % 4]}
    if i % 3 == 0:
        genres.add(GENRES[(i + 1) % 4])
    return genres


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return f"file://{path}"


def recipe_arn(name: str) -> str:
    return f"arn:aws:personalize:::recipe/{name}"


def create_group(
    p: Any,
    tmp: Path,
    *,
    with_items: bool = False,
    with_users: bool = False,
    rows: list[tuple[str, str, int]] | None = None,
) -> dict[str, str]:
    """A dataset group with imported (file://) interactions and optional items/users."""
    out: dict[str, str] = {}
    group = p.create_dataset_group(name=unique("dg"))["datasetGroupArn"]
    out["group"] = group
    wait_for(p.describe_dataset_group, "datasetGroup", datasetGroupArn=group)
    specs = [
        ("INTERACTIONS", INTERACTIONS_SCHEMA, interactions_csv(rows or synthetic_interactions()))
    ]
    if with_items:
        specs.append(("ITEMS", ITEMS_SCHEMA, items_csv()))
    if with_users:
        specs.append(("USERS", USERS_SCHEMA, users_csv()))
    files = [(kind, schema, write(tmp / f"{unique(kind)}.csv", csv)) for kind, schema, csv in specs]
    out.update(import_datasets(p, group, files))
    return out


def import_datasets(
    p: Any, group: str, files: list[tuple[str, str, str]]
) -> dict[str, str]:
    """For each (dataset type, schema, data location): a schema, a dataset in `group` and an
    import job, run together; every job must end ACTIVE. Dataset ARNs by type."""
    datasets: dict[str, str] = {}
    jobs = []
    for kind, schema, location in files:
        schema_arn = p.create_schema(name=unique(kind.lower()), schema=schema)["schemaArn"]
        dataset = p.create_dataset(
            name=unique(kind.lower()), schemaArn=schema_arn, datasetGroupArn=group, datasetType=kind
        )["datasetArn"]
        datasets[kind] = dataset
        wait_for(p.describe_dataset, "dataset", datasetArn=dataset)
        jobs.append(
            p.create_dataset_import_job(
                jobName=unique("job"),
                datasetArn=dataset,
                dataSource={"dataLocation": location},
                roleArn=ROLE_ARN,
            )["datasetImportJobArn"]
        )
    for job in jobs:
        status = wait_for(
            p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job
        )
        assert status["status"] == "ACTIVE", status
    return datasets


def train(p: Any, group: str, recipe: str, **solution_kwargs: Any) -> str:
    """An ACTIVE solution version of `recipe` on `group`."""
    solution = p.create_solution(
        name=unique(recipe), datasetGroupArn=group, recipeArn=recipe_arn(recipe), **solution_kwargs
    )["solutionArn"]
    wait_for(p.describe_solution, "solution", solutionArn=solution)
    version = p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    status = wait_for(p.describe_solution_version, "solutionVersion", solutionVersionArn=version)
    assert status["status"] == "ACTIVE", status
    return version


def deploy(p: Any, version: str) -> str:
    campaign = p.create_campaign(name=unique("campaign"), solutionVersionArn=version)["campaignArn"]
    status = wait_for(p.describe_campaign, "campaign", campaignArn=campaign)
    assert status["status"] == "ACTIVE", status
    return campaign


def train_many(p: Any, group: str, recipes: list[str]) -> dict[str, str]:
    """ACTIVE solution versions of several recipes, created together so their lifecycles overlap."""
    solutions = {
        r: p.create_solution(name=unique(r), datasetGroupArn=group, recipeArn=recipe_arn(r))[
            "solutionArn"
        ]
        for r in recipes
    }
    for solution in solutions.values():
        wait_for(p.describe_solution, "solution", solutionArn=solution)
    versions = {
        r: p.create_solution_version(solutionArn=s)["solutionVersionArn"]
        for r, s in solutions.items()
    }
    for version in versions.values():
        status = wait_for(
            p.describe_solution_version, "solutionVersion", solutionVersionArn=version
        )
        assert status["status"] == "ACTIVE", status
    return versions


def deploy_many(p: Any, versions: dict[str, str]) -> dict[str, str]:
    campaigns = {
        k: p.create_campaign(name=unique("campaign"), solutionVersionArn=v)["campaignArn"]
        for k, v in versions.items()
    }
    for campaign in campaigns.values():
        status = wait_for(p.describe_campaign, "campaign", campaignArn=campaign)
        assert status["status"] == "ACTIVE", status
    return campaigns


def signed_headers(
    url: str,
    *,
    key_id: str = ENGINE_ACCESS_KEY_ID,
    secret: str = ENGINE_SECRET_ACCESS_KEY,
    region: str = REGION,
    **request: Any,
) -> dict[str, str]:
    """`sigv4_headers` with the tests' key pair by default (`body`, `method`, `headers`,
    `when` as there)."""
    return sigv4_headers(url, key_id=key_id, secret=secret, region=region, **request)
