"""Engine fixtures: a real uvicorn engine process (SQLite, file artifacts), boto3 clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.engine.helpers import Clients, boto_clients, create_group, deploy_many, train_many
from tests.utils.credentials import engine_keys_env
from tests.utils.servers import RunningServer, run_server

ENGINE_APP = "services.engine.main:app"
STEP_SECONDS = "0.2"


def engine_env(
    database_url: str, artifacts_url: str, s3_url: str | None = None, **extra: str
) -> dict[str, str]:
    env = {
        "DATABASE_URL": database_url,
        "ARTIFACTS_URL": artifacts_url,
        "STATUS_STEP_SECONDS": STEP_SECONDS,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "ACCESS_LOG": "false",
        **engine_keys_env(),
        **extra,
    }
    if s3_url:
        env["S3_ENDPOINT_URL"] = s3_url
    return env


@pytest.fixture(scope="session")
def engine_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine")


@pytest.fixture(scope="session")
def engine(
    engine_root: Path, moto_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """One engine for most tests; each test makes its own uniquely named resources."""
    env = engine_env(
        f"sqlite:///{engine_root / 'engine.db'}",
        f"file://{engine_root / 'artifacts'}",
        moto_server,
        # Tests write their CSVs into their own tmp_path: every one is under the base temp.
        IMPORT_ROOTS=str(tmp_path_factory.getbasetemp()),
    )
    with run_server(ENGINE_APP, env=env, log_dir=engine_root) as server:
        yield server


@pytest.fixture(scope="session")
def clients(engine: RunningServer) -> Clients:
    return boto_clients(engine.url)


@pytest.fixture(scope="session")
def s3(moto_server: str) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_bucket(Bucket="engine-tests")
    return client


@pytest.fixture(scope="session")
def small_group(clients: Clients, engine_root: Path) -> dict[str, str]:
    """A synthetic dataset group with items and users, popularity/SIMS/user-personalization
    campaigns, an event tracker and filters; shared by the runtime tests (read-mostly)."""
    p = clients.personalize
    data_dir = engine_root / "data"
    data_dir.mkdir(exist_ok=True)
    group = create_group(p, data_dir, with_items=True, with_users=True)
    recipes = [
        "aws-popularity-count",
        "aws-sims",
        "aws-user-personalization",
        "aws-personalized-ranking",
    ]
    versions = train_many(p, group["group"], recipes)
    campaigns = deploy_many(p, versions)
    out = dict(group)
    for recipe in recipes:
        out[recipe] = campaigns[recipe]
        out[f"{recipe}:version"] = versions[recipe]
    return out
