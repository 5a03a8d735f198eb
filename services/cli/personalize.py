"""Idempotent steps over the Personalize control plane: find by name, else create, then wait.

Every call is a public Personalize API call, so the same code runs against the local
engine and against AWS. Resources are looked up by name through the List* operations;
one that exists and is ACTIVE is reused, one still being created is waited for.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

FAILED_STATES = frozenset({"CREATE FAILED", "CREATE STOPPED", "CREATE STOPPING"})
RECIPE_ARN_PREFIX = "arn:aws:personalize:::recipe/"

# The lab's schema (workshop section 5): an Avro record sent as a JSON string.
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


class PipelineError(RuntimeError):
    """A step failed: the message names the resource and the reason."""


@dataclass(frozen=True)
class Polling:
    """How often to poll Describe* and for how long (the local engine is fast, AWS is not)."""

    interval: float = 0.5
    timeout: float = 1800.0


async def find_by_name(
    client: Any, operation: str, key: str, name: str, *, name_field: str = "name", **params: Any
) -> dict[str, Any] | None:
    """The first summary whose `name_field` equals `name`, walking every page of a List*."""
    paginator = client.get_paginator(operation)
    async for page in paginator.paginate(**params):
        for summary in page.get(key, []):
            if summary.get(name_field) == name:
                return dict(summary)
    return None


async def list_all(client: Any, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    paginator = client.get_paginator(operation)
    async for page in paginator.paginate(**params):
        found.extend(page.get(key, []))
    return found


async def wait_active(
    describe: Callable[..., Awaitable[dict[str, Any]]],
    *,
    key: str,
    arn_param: str,
    arn: str,
    polling: Polling,
) -> dict[str, Any]:
    """Poll `describe` until the resource is ACTIVE; raise with its failureReason if it fails."""
    deadline = time.monotonic() + polling.timeout
    while True:
        resource = (await describe(**{arn_param: arn}))[key]
        status = resource.get("status")
        if status == "ACTIVE":
            return dict(resource)
        if status in FAILED_STATES:
            reason = resource.get("failureReason") or "no reason given"
            raise PipelineError(f"{arn} is {status}: {reason}")
        if time.monotonic() > deadline:
            raise PipelineError(f"{arn} still {status} after {polling.timeout:.0f}s")
        await asyncio.sleep(polling.interval)


async def ensure_schema(client: Any, *, name: str) -> tuple[str, bool]:
    """(schema ARN, reused?)."""
    found = await find_by_name(client, "list_schemas", "schemas", name)
    if found:
        return found["schemaArn"], True
    response = await client.create_schema(name=name, schema=INTERACTIONS_SCHEMA)
    return response["schemaArn"], False


async def ensure_dataset_group(client: Any, *, name: str, polling: Polling) -> tuple[str, bool]:
    found = await find_by_name(client, "list_dataset_groups", "datasetGroups", name)
    reused = found is not None and found.get("status") == "ACTIVE"
    arn = found["datasetGroupArn"] if found else None
    if arn is None:
        arn = (await client.create_dataset_group(name=name))["datasetGroupArn"]
    await wait_active(
        client.describe_dataset_group, key="datasetGroup", arn_param="datasetGroupArn",
        arn=arn, polling=polling,
    )
    return arn, reused


async def ensure_dataset(
    client: Any, *, name: str, dataset_group_arn: str, schema_arn: str, polling: Polling
) -> tuple[str, bool]:
    """The group's INTERACTIONS dataset (there is one per group, whatever its name)."""
    datasets = await list_all(
        client, "list_datasets", "datasets", datasetGroupArn=dataset_group_arn
    )
    found = next((d for d in datasets if d.get("datasetType") == "INTERACTIONS"), None)
    reused = found is not None and found.get("status") == "ACTIVE"
    arn = found["datasetArn"] if found else None
    if arn is None:
        response = await client.create_dataset(
            name=name, schemaArn=schema_arn, datasetGroupArn=dataset_group_arn,
            datasetType="INTERACTIONS",
        )
        arn = response["datasetArn"]
    await wait_active(
        client.describe_dataset, key="dataset", arn_param="datasetArn", arn=arn, polling=polling
    )
    return arn, reused


async def ensure_import_job(
    client: Any,
    *,
    name: str,
    dataset_arn: str,
    data_location: str,
    role_arn: str | None,
    polling: Polling,
) -> tuple[str, bool]:
    """Reuse an ACTIVE import into the dataset, wait for one in progress, else import."""
    jobs = await list_all(
        client, "list_dataset_import_jobs", "datasetImportJobs", datasetArn=dataset_arn
    )
    active = [j for j in jobs if j.get("status") == "ACTIVE"]
    if active:
        return active[0]["datasetImportJobArn"], True
    pending = [j for j in jobs if j.get("status") not in FAILED_STATES]
    if pending:
        arn = pending[0]["datasetImportJobArn"]
    else:
        # Job names are unique for ever: after a failed import, number the next one.
        taken = {j.get("jobName") for j in jobs}
        job_name = name
        attempt = 1
        while job_name in taken:
            attempt += 1
            job_name = f"{name}-{attempt}"
        params: dict[str, Any] = {
            "jobName": job_name,
            "datasetArn": dataset_arn,
            "dataSource": {"dataLocation": data_location},
        }
        if role_arn:
            params["roleArn"] = role_arn
        arn = (await client.create_dataset_import_job(**params))["datasetImportJobArn"]
    await wait_active(
        client.describe_dataset_import_job, key="datasetImportJob",
        arn_param="datasetImportJobArn", arn=arn, polling=polling,
    )
    return arn, False


async def ensure_filter(
    client: Any, *, name: str, dataset_group_arn: str, expression: str, polling: Polling
) -> tuple[str, bool]:
    found = await find_by_name(
        client, "list_filters", "Filters", name, datasetGroupArn=dataset_group_arn
    )
    reused = found is not None and found.get("status") == "ACTIVE"
    arn = found["filterArn"] if found else None
    if arn is None:
        response = await client.create_filter(
            name=name, datasetGroupArn=dataset_group_arn, filterExpression=expression
        )
        arn = response["filterArn"]
    await wait_active(
        client.describe_filter, key="filter", arn_param="filterArn", arn=arn, polling=polling
    )
    return arn, reused


async def ensure_solution(
    client: Any,
    *,
    name: str,
    dataset_group_arn: str,
    recipe: str,
    polling: Polling,
    solution_config: dict[str, Any] | None = None,
) -> str:
    """The solution `name`, created if missing. With a `solution_config`, a solution of that
    name made with other hyperparameters stops the run: reusing it would serve what was not
    chosen."""
    found = await find_by_name(
        client, "list_solutions", "solutions", name, datasetGroupArn=dataset_group_arn
    )
    if found:
        arn = found["solutionArn"]
        if solution_config is not None:
            current = (await client.describe_solution(solutionArn=arn))["solution"]
            wanted = solution_config.get("algorithmHyperParameters", {})
            have = (current.get("solutionConfig") or {}).get("algorithmHyperParameters", {})
            if have != wanted:
                raise PipelineError(
                    f"solution {arn} was created with algorithmHyperParameters {have}, the "
                    f"pipeline now uses {wanted}; delete the solution (or start over) and re-run"
                )
    else:
        extra = {} if solution_config is None else {"solutionConfig": solution_config}
        response = await client.create_solution(
            name=name,
            datasetGroupArn=dataset_group_arn,
            recipeArn=RECIPE_ARN_PREFIX + recipe,
            **extra,
        )
        arn = response["solutionArn"]
    await wait_active(
        client.describe_solution, key="solution", arn_param="solutionArn", arn=arn, polling=polling
    )
    return str(arn)


async def ensure_solution_version(
    client: Any, *, solution_arn: str, polling: Polling
) -> tuple[str, bool]:
    """The newest ACTIVE version, or the one being trained, or a new training run."""
    versions = await list_all(
        client, "list_solution_versions", "solutionVersions", solutionArn=solution_arn
    )
    versions.sort(key=lambda v: v.get("creationDateTime") or 0, reverse=True)
    active = [v for v in versions if v.get("status") == "ACTIVE"]
    if active:
        return active[0]["solutionVersionArn"], True
    pending = [v for v in versions if v.get("status") not in FAILED_STATES]
    if pending:
        arn = pending[0]["solutionVersionArn"]
    else:
        arn = (await client.create_solution_version(solutionArn=solution_arn))["solutionVersionArn"]
    await wait_active(
        client.describe_solution_version, key="solutionVersion", arn_param="solutionVersionArn",
        arn=arn, polling=polling,
    )
    return arn, False


async def ensure_campaign(
    client: Any, *, name: str, solution_arn: str, solution_version_arn: str, polling: Polling
) -> tuple[str, bool]:
    found = await find_by_name(
        client, "list_campaigns", "campaigns", name, solutionArn=solution_arn
    )
    reused = found is not None and found.get("status") == "ACTIVE"
    if found and found.get("status") in FAILED_STATES:
        raise PipelineError(
            f"campaign {found['campaignArn']} is {found['status']}: "
            f"{found.get('failureReason') or 'no reason given'}; delete it and re-run"
        )
    arn = found["campaignArn"] if found else None
    if arn is None:
        response = await client.create_campaign(
            name=name, solutionVersionArn=solution_version_arn, minProvisionedTPS=1
        )
        arn = response["campaignArn"]
    await wait_active(
        client.describe_campaign, key="campaign", arn_param="campaignArn", arn=arn, polling=polling
    )
    return arn, reused
