"""A real engine for registry tests: trained solutions and deployed campaigns.

Started once per session as a uvicorn process (tests/utils/servers.run_server) and driven
through boto3 exactly as a user would drive Amazon Personalize.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.utils.credentials import boto_credentials, engine_keys_env
from tests.utils.servers import run_server

INTERACTIONS_SCHEMA = {
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
RECIPES = {
    "recommendations": "arn:aws:personalize:::recipe/aws-popularity-count",
    "similar-items": "arn:aws:personalize:::recipe/aws-sims",
    "ranking": "arn:aws:personalize:::recipe/aws-personalized-ranking",
}
TIMEOUT = 120.0
STATUS_STEP_SECONDS = 0.5


@dataclass(frozen=True)
class Engine:
    url: str
    # model type -> ARN of an ACTIVE campaign whose recipe serves that type
    campaigns: dict[str, str]
    solution_version_arns: dict[str, str]


def write_interactions(path: Path, *, users: int = 40, items: int = 60, seed: int = 7) -> Path:
    """A small synthetic interactions CSV: ~1,050 rows, users with overlapping tastes."""
    rng = random.Random(seed)
    rows = ["USER_ID,ITEM_ID,TIMESTAMP"]
    start = 1_600_000_000
    for user in range(1, users + 1):
        group = user % 4  # four taste groups, so SIMS finds co-occurrences
        liked = [i for i in range(1, items + 1) if i % 4 == group] + rng.sample(
            range(1, items + 1), 15
        )
        for n, item in enumerate(dict.fromkeys(liked)):
            rows.append(f"{user},{item},{start + user * 1000 + n}")
    # A FULL import needs 1,000 records (the engine enforces it, as AWS does).
    assert len(rows) - 1 >= 1000, len(rows)
    path.write_text("\n".join(rows) + "\n")
    return path


def personalize(url: str) -> Any:
    return boto3.client(
        "personalize",
        endpoint_url=url,
        region_name="us-east-1",
        **boto_credentials(),
        config=Config(retries={"max_attempts": 1}, read_timeout=30),
    )


def wait_for(
    describe: Any, key: str, arn_key: str, arn: str, status: str = "ACTIVE"
) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        resource = describe(**{arn_key: arn})[key]
        if resource["status"] == status:
            return dict(resource)
        if "FAILED" in resource["status"]:
            raise RuntimeError(f"{arn} failed: {resource.get('failureReason')}")
        time.sleep(0.1)
    raise RuntimeError(f"{arn} not {status} after {TIMEOUT}s")


def deploy_lab(client: Any, data_file: Path) -> Engine:
    """Dataset group → interactions import → three solutions → three ACTIVE campaigns."""
    group = client.create_dataset_group(name="registry-lab")["datasetGroupArn"]
    wait_for(client.describe_dataset_group, "datasetGroup", "datasetGroupArn", group)
    schema = client.create_schema(
        name="registry-interactions", schema=json.dumps(INTERACTIONS_SCHEMA)
    )
    dataset = client.create_dataset(
        name="registry-interactions",
        schemaArn=schema["schemaArn"],
        datasetGroupArn=group,
        datasetType="Interactions",
    )["datasetArn"]
    wait_for(client.describe_dataset, "dataset", "datasetArn", dataset)
    job = client.create_dataset_import_job(
        jobName="registry-import",
        datasetArn=dataset,
        dataSource={"dataLocation": data_file.resolve().as_uri()},
        roleArn="arn:aws:iam::000000000000:role/PersonalizeRole",
    )["datasetImportJobArn"]
    wait_for(client.describe_dataset_import_job, "datasetImportJob", "datasetImportJobArn", job)

    # Three recipes side by side: create everything of a stage, then wait for all of it.
    solutions = {
        model_type: client.create_solution(
            name=f"registry-{model_type}", datasetGroupArn=group, recipeArn=recipe
        )["solutionArn"]
        for model_type, recipe in RECIPES.items()
    }
    versions: dict[str, str] = {}
    for model_type, solution in solutions.items():
        wait_for(client.describe_solution, "solution", "solutionArn", solution)
        versions[model_type] = client.create_solution_version(solutionArn=solution)[
            "solutionVersionArn"
        ]
    campaigns: dict[str, str] = {}
    for model_type, version in versions.items():
        wait_for(client.describe_solution_version, "solutionVersion", "solutionVersionArn", version)
        campaigns[model_type] = client.create_campaign(
            name=f"registry-{model_type}", solutionVersionArn=version, minProvisionedTPS=1
        )["campaignArn"]
    for arn in campaigns.values():
        wait_for(client.describe_campaign, "campaign", "campaignArn", arn)
    return Engine("", campaigns, versions)


@contextmanager
def lab_engine(tmp: Path) -> Iterator[Engine]:
    env = {
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"sqlite:///{tmp / 'engine.db'}",
        "ARTIFACTS_URL": (tmp / "artifacts").resolve().as_uri(),
        # Each lifecycle step lasts this long: long enough to catch a campaign that is
        # not ACTIVE yet (test_campaign_checks), short enough to deploy quickly.
        "STATUS_STEP_SECONDS": str(STATUS_STEP_SECONDS),
        "IMPORT_ROOTS": str(tmp.resolve()),  # the interactions CSV is written there
        **engine_keys_env(),
    }
    (tmp / "artifacts").mkdir(exist_ok=True)
    with run_server("services.engine.main:app", env=env, log_dir=tmp, timeout=90) as server:
        client = personalize(server.url)
        deployed = deploy_lab(client, write_interactions(tmp / "interactions.csv"))
        yield Engine(server.url, deployed.campaigns, deployed.solution_version_arns)
