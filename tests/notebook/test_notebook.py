"""The lab notebook, executed end to end against a fresh engine and moto's S3 (and IAM).

The notebook is configured only through the environment, as a user would run it: the
Personalize clients reach the engine through AWS_ENDPOINT_URL, S3 and IAM reach moto
through the service-specific AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_IAM.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import boto3
import nbformat
import pytest
from botocore.config import Config
from ipykernel.kernelspec import get_kernel_dict
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from tests.utils.credentials import (
    ENGINE_ACCESS_KEY_ID,
    ENGINE_SECRET_ACCESS_KEY,
    boto_credentials,
    engine_keys_env,
)
from tests.utils.servers import run_server

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "personalize_lab.ipynb"
METRIC_NAMES = {
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
}
RANKED_LINE = re.compile(r"^\s*(\d+)\. (.+)$")


class ThisPythonKernelSpecs(KernelSpecManager):
    """Starts ipykernel on the interpreter running the tests (the venv's python).

    A `python3` kernelspec found elsewhere on the machine (user or system folders) could
    point at another interpreter without boto3 or pandas; this one cannot.
    """

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(resource_dir="", name=kernel_name, **get_kernel_dict())


@pytest.fixture(scope="module")
def engine_url(tmp_path_factory: pytest.TempPathFactory, moto_server: str) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("engine")
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'engine.db'}",
        "ARTIFACTS_URL": (tmp / "artifacts").as_uri(),
        "ENVIRONMENT": "test",
        "S3_ENDPOINT_URL": moto_server,
        **engine_keys_env(),
        # The engine's own S3 client (moto accepts any keys).
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        # The notebook writes its CSV into the test's tmp_path, under the base temp.
        "IMPORT_ROOTS": str(tmp_path_factory.getbasetemp()),
    }
    with run_server("services.engine.main:app", env=env, log_dir=tmp) as server:
        yield server.url


@pytest.fixture(scope="module")
def titles(movielens_dir: Path) -> dict[str, str]:
    """Item id -> title, straight from u.item (Latin-1)."""
    lines = (movielens_dir / "u.item").read_text(encoding="latin-1").splitlines()
    return {fields[0]: fields[1] for fields in (line.split("|") for line in lines if line)}


@pytest.fixture(scope="module")
def most_liked(movielens_dir: Path) -> list[str]:
    """Item ids of the 25 films with the most 4-5 star ratings, ties by item id."""
    likes: Counter[int] = Counter()
    for line in (movielens_dir / "u.data").read_text().splitlines():
        _, item, rating, _ = line.split("\t")
        if int(rating) >= 4:
            likes[int(item)] += 1
    ranked = sorted(likes, key=lambda item: (-likes[item], item))
    return [str(item) for item in ranked[:25]]


def lab_env(engine_url: str, movielens_dir: Path, work: Path, **extra: str) -> dict[str, str]:
    """The kernel's environment: no AWS settings of this machine, only the lab's.

    AWS_ENDPOINT_URL sends every service to the engine unless `extra` names a
    service-specific endpoint.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=engine_url,
        AWS_DEFAULT_REGION="us-east-1",
        # The engine's key pair, as the notebook README tells a user to set it.
        AWS_ACCESS_KEY_ID=ENGINE_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=ENGINE_SECRET_ACCESS_KEY,
        AWS_CONFIG_FILE=str(work / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(work / "no-aws-credentials"),
        MOVIELENS_DIR=str(movielens_dir.resolve()),
        LAB_WORK_DIR=str(work),
    )
    env.update(extra)
    return env


def execute(env: dict[str, str], work: Path, keep_as: Path) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel; nbclient raises CellExecutionError if one fails.

    The executed notebook is written to `keep_as` either way, for CI to keep.
    """
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    kernel = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisPythonKernelSpecs())
    client = NotebookClient(
        notebook,
        km=kernel,
        timeout=120,
        startup_timeout=60,
        resources={"metadata": {"path": str(work)}},
    )
    try:
        client.execute(env=env)
    finally:
        nbformat.write(notebook, keep_as)
    return notebook


def printed(notebook: nbformat.NotebookNode, tag: str) -> str:
    """What the cell tagged `tag` printed on stdout."""
    cells = [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag}"
    return "".join(
        output["text"]
        for output in cells[0].outputs
        if output["output_type"] == "stream" and output["name"] == "stdout"
    )


def ranked_lines(text: str) -> list[str]:
    """The `N. text` lines of an output, checked to be numbered 1, 2, 3..."""
    matches = [RANKED_LINE.match(line) for line in text.splitlines()]
    found = [match for match in matches if match]
    assert [int(match[1]) for match in found] == list(range(1, len(found) + 1)), text
    return [match[2] for match in found]


def all_output(notebook: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


def check_results(
    notebook: nbformat.NotebookNode, titles: dict[str, str], most_liked: list[str]
) -> list[str]:
    """Assert every expected output of a run; return the recommended titles."""
    known_titles = set(titles.values())

    data = printed(notebook, "data")
    assert "100000 ratings -> 55375 interactions, 942 users, 1447 items" in data
    assert "2018-08-29 15:58:48 .. 2019-04-01 12:04:16" in data

    recipes = printed(notebook, "recipes")
    for name in ("aws-user-personalization", "aws-sims", "aws-personalized-ranking"):
        assert f"arn:aws:personalize:::recipe/{name}\n" in recipes

    metrics = json.loads(printed(notebook, "metrics"))
    assert set(metrics) == METRIC_NAMES
    assert all(isinstance(value, float) and 0 <= value <= 1 for value in metrics.values())
    assert metrics["coverage"] > 0

    recommendations = printed(notebook, "recommendations")
    assert "Recommendations for user" in recommendations
    recommended = ranked_lines(recommendations.split("Recommendations for user", 1)[1])
    assert len(recommended) == 25
    assert set(recommended) <= known_titles, set(recommended) - known_titles

    similar = ranked_lines(printed(notebook, "similar-items"))
    assert len(similar) == 10
    assert set(similar) <= known_titles, set(similar) - known_titles

    ranking = ranked_lines(printed(notebook, "ranking"))
    ranked_titles = [line.rsplit(" | score ", 1)[0] for line in ranking]
    scores = [float(line.rsplit(" | score ", 1)[1]) for line in ranking]
    assert sorted(ranked_titles) == sorted(titles[item] for item in most_liked)
    assert sum(scores) == pytest.approx(1, abs=0.01)
    assert scores == sorted(scores, reverse=True)
    return recommended


def lab_names_left(engine_url: str, prefix: str) -> list[str]:
    """Dataset groups and schemas named `prefix-...` that the engine still lists, once every
    delete has had up to 20 s to finish."""
    personalize = boto3.client(
        "personalize",
        endpoint_url=engine_url,
        region_name="us-east-1",
        **boto_credentials(),
        config=Config(retries={"max_attempts": 1}),
    )
    deadline = time.monotonic() + 20
    while True:
        names = [group["name"] for group in personalize.list_dataset_groups()["datasetGroups"]]
        names += [schema["name"] for schema in personalize.list_schemas()["schemas"]]
        left = [name for name in names if name.startswith(f"{prefix}-")]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def test_notebook_runs_twice_against_the_engine_and_s3(
    engine_url: str,
    moto_server: str,
    movielens_dir: Path,
    titles: dict[str, str],
    most_liked: list[str],
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    bucket = f"videorecs-personalize-{uuid.uuid4().hex[:8]}"
    env = lab_env(
        engine_url,
        movielens_dir,
        tmp_path,
        AWS_ENDPOINT_URL_S3=moto_server,
        AWS_ENDPOINT_URL_IAM=moto_server,
        LAB_BUCKET=bucket,
    )

    first = execute(env, tmp_path, artifacts_dir / "personalize_lab.s3.first.ipynb")
    recommended = check_results(first, titles, most_liked)
    first_output = all_output(first)
    # Plain boto3.client("personalize") / ("personalize-runtime") found the engine through
    # AWS_ENDPOINT_URL (botocore >= 1.31), and S3 went to moto through AWS_ENDPOINT_URL_S3.
    assert f"Personalize endpoint: {engine_url} (local)" in first_output
    assert f"Runtime endpoint:     {engine_url}" in first_output
    assert f"Import will read s3://{bucket}/DEMO-movie-lens-100k.csv" in first_output
    assert "Role: arn:aws:iam::" in first_output
    assert "Training " in first_output and "Reusing " not in first_output

    # A second run finds every resource and reuses it (no new training), then cleans up.
    env["LAB_CLEANUP"] = "1"
    second = execute(env, tmp_path, artifacts_dir / "personalize_lab.s3.second.ipynb")
    assert check_results(second, titles, most_liked) == recommended
    second_output = all_output(second)
    assert "Training " not in second_output and "Created " not in second_output
    assert second_output.count("Reusing ") == 13  # schema, group, dataset, import, 3 x 3 models
    assert second_output.count("  deleted arn:aws:personalize:") == 9
    assert lab_names_left(engine_url, "personalize-lab") == []


def test_notebook_imports_from_a_file_without_s3(
    engine_url: str,
    movielens_dir: Path,
    titles: dict[str, str],
    most_liked: list[str],
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    # Only the engine's endpoint: no S3 or IAM endpoint, no bucket, no role.
    env = lab_env(
        engine_url, movielens_dir, tmp_path, LAB_DATA_LOCATION="file", LAB_PREFIX="lab-file"
    )

    notebook = execute(env, tmp_path, artifacts_dir / "personalize_lab.file.ipynb")
    check_results(notebook, titles, most_liked)
    output = all_output(notebook)
    csv_url = (tmp_path / "DEMO-movie-lens-100k.csv").resolve().as_uri()
    assert f"Import will read {csv_url}" in output
    assert "Role: (none needed)" in output
