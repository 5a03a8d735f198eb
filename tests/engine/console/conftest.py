"""Console fixtures: an engine process with admin settings, and an imported ml-100k group.

The group is built through boto3 like any client would: the lab's interactions CSV
(ml-100k u.data, rating > 3.6, as USER_ID,ITEM_ID,TIMESTAMP) and an Items dataset with
ITEM_ID, TITLE and GENRES from u.item, both read via file:// from a temp folder (the data
is never stored in the repository).
"""

from __future__ import annotations

import csv
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.helpers import (
    INTERACTIONS_SCHEMA,
    Clients,
    boto_clients,
    import_datasets,
    recipe_arn,
    unique,
    wait_for,
)
from tests.utils.credentials import engine_keys_env
from tests.utils.servers import RunningServer, run_server

ENGINE_APP = "services.engine.main:app"
ADMIN_USERNAME = "console-admin"
# Each lifecycle step lasts this long, so the pages show PENDING before ACTIVE.
STEP_SECONDS = "0.4"
LOCKOUT_FAILURES = 3
GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
ITEMS_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Items",
        "namespace": "com.amazonaws.personalize.schema",
        "fields": [
            {"name": "ITEM_ID", "type": "string"},
            {"name": "TITLE", "type": "string"},
            {"name": "GENRES", "type": ["null", "string"], "categorical": True},
        ],
        "version": "1.0",
    }
)


@pytest.fixture(scope="session")
def admin_password() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture(scope="session")
def console_engine(
    tmp_path_factory: pytest.TempPathFactory, admin_password: str
) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("console-engine")
    env = {
        "DATABASE_URL": f"sqlite:///{root / 'engine.db'}",
        "ARTIFACTS_URL": f"file://{root / 'artifacts'}",
        "STATUS_STEP_SECONDS": STEP_SECONDS,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "ACCESS_LOG": "false",
        "ADMIN_USERNAME": ADMIN_USERNAME,
        "ADMIN_PASSWORD": admin_password,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "LOGIN_MAX_FAILURES": str(LOCKOUT_FAILURES),
        "LOGIN_LOCKOUT_SECONDS": "120",
        # ml_group writes the ml-100k CSVs under the session's base temp.
        "IMPORT_ROOTS": str(tmp_path_factory.getbasetemp()),
        **engine_keys_env(),
    }
    with run_server(ENGINE_APP, env=env, log_dir=root) as server:
        yield server


@pytest.fixture(scope="session")
def console_clients(console_engine: RunningServer) -> Clients:
    return boto_clients(console_engine.url)


def _lab_interactions(movielens_dir: Path) -> str:
    lines = ["USER_ID,ITEM_ID,TIMESTAMP"]
    for line in (movielens_dir / "u.data").read_text().splitlines():
        user, item, rating, ts = line.split("\t")
        if int(rating) > 3.6:
            lines.append(f"{user},{item},{ts}")
    return "\n".join(lines) + "\n"


def _items(movielens_dir: Path, path: Path) -> None:
    with (
        (movielens_dir / "u.item").open(encoding="latin-1") as src,
        path.open("w", newline="") as out,
    ):
        writer = csv.writer(out)
        writer.writerow(["ITEM_ID", "TITLE", "GENRES"])
        for fields in csv.reader(src, delimiter="|"):
            flags = fields[5:24]
            genres = "|".join(g for g, flag in zip(GENRES, flags, strict=True) if flag == "1")
            writer.writerow([fields[0], fields[1], genres])


@pytest.fixture(scope="session")
def ml_group(
    console_clients: Clients, movielens_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """An ACTIVE dataset group with the lab's interactions and titled items imported."""
    p = console_clients.personalize
    data = tmp_path_factory.mktemp("console-data")
    interactions = data / "interactions.csv"
    interactions.write_text(_lab_interactions(movielens_dir))
    items = data / "items.csv"
    _items(movielens_dir, items)
    name = unique("ml100k")
    group = p.create_dataset_group(name=name)["datasetGroupArn"]
    wait_for(p.describe_dataset_group, "datasetGroup", datasetGroupArn=group)
    out: dict[str, Any] = {"name": name, "arn": group}
    import_datasets(
        p,
        group,
        [
            ("INTERACTIONS", INTERACTIONS_SCHEMA, f"file://{interactions}"),
            ("ITEMS", ITEMS_SCHEMA, f"file://{items}"),
        ],
    )
    return out


@pytest.fixture(scope="session")
def popularity_campaign(console_clients: Clients, ml_group: dict[str, Any]) -> dict[str, str]:
    """A popularity solution, version and campaign made through boto3 (shared, read-only)."""
    p = console_clients.personalize
    name = unique("pop")
    solution = p.create_solution(
        name=name, datasetGroupArn=ml_group["arn"], recipeArn=recipe_arn("aws-popularity-count")
    )["solutionArn"]
    wait_for(p.describe_solution, "solution", solutionArn=solution)
    version = p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    assert (
        wait_for(p.describe_solution_version, "solutionVersion", solutionVersionArn=version)[
            "status"
        ]
        == "ACTIVE"
    )
    campaign = p.create_campaign(name=unique("pop-campaign"), solutionVersionArn=version)
    arn = campaign["campaignArn"]
    wait_for(p.describe_campaign, "campaign", campaignArn=arn)
    return {"solution": solution, "solution_name": name, "version": version, "campaign": arn}
