"""Imports read only inside IMPORT_ROOTS: a real engine, refused locations, a swapped symlink.

The engine here has one import root. Every location outside it (system files, the
engine's own /proc entries, `..` out of the root, a symlink in the root pointing out, a
path that does not exist) is refused at CreateDatasetImportJob with the same message,
nothing is stored, and no answer says anything about the file; a file inside imports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.conftest import ENGINE_APP, engine_env
from tests.engine.helpers import (
    ROLE_ARN,
    Clients,
    boto_clients,
    interactions_csv,
    new_dataset,
    synthetic_interactions,
    unique,
    wait_for,
)
from tests.utils.servers import RunningServer, run_server

# Long enough to swap a symlink in between CreateDatasetImportJob and the read.
STEP_SECONDS = "0.5"
REFUSAL = (
    "dataLocation {} is outside the engine's import roots (IMPORT_ROOTS); "
    "use s3:// or a file:// path inside them."
)
# Words from the files the refused locations name: none may reach any answer.
SECRET_MARKERS = ("root:", "/bin/", "PATH=", "uvicorn", "ENGINE_SECRET", "nologin")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("import-root") / "imports"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def guarded_engine(tmp_path_factory: pytest.TempPathFactory, root: Path) -> Iterator[RunningServer]:
    home = tmp_path_factory.mktemp("guarded-engine")
    env = engine_env(
        f"sqlite:///{home / 'engine.db'}",
        f"file://{home / 'artifacts'}",
        STATUS_STEP_SECONDS=STEP_SECONDS,
        IMPORT_ROOTS=json.dumps([str(root)]),
    )
    with run_server(ENGINE_APP, env=env, log_dir=home) as server:
        yield server


@pytest.fixture(scope="module")
def guarded(guarded_engine: RunningServer) -> Clients:
    return boto_clients(guarded_engine.url)


@pytest.fixture(scope="module")
def dataset(guarded: Clients) -> str:
    return new_dataset(guarded.personalize)[1]


def _create(p: Any, dataset: str, location: str) -> str:
    return p.create_dataset_import_job(
        jobName=unique("job"),
        datasetArn=dataset,
        dataSource={"dataLocation": location},
        roleArn=ROLE_ARN,
    )["datasetImportJobArn"]


def _listed(p: Any, dataset: str) -> list[dict[str, Any]]:
    return p.list_dataset_import_jobs(datasetArn=dataset)["datasetImportJobs"]


def _outside_locations(root: Path) -> dict[str, str]:
    link = root / "passwd-link.csv"
    if not link.is_symlink():
        link.symlink_to("/etc/passwd")
    return {
        "passwd": "file:///etc/passwd",
        "shadow": "file:///etc/shadow",
        "environ": "file:///proc/self/environ",
        "cmdline": "file:///proc/self/cmdline",
        "absent": "file:///var/nothing-here/absent.csv",
        "dotdot": f"file://{root}/../../../../../../etc/passwd",
        "symlink": link.as_uri(),
    }


def test_outside_locations_are_refused_alike_and_leave_no_trace(
    guarded: Clients, dataset: str, root: Path
) -> None:
    p = guarded.personalize
    before = _listed(p, dataset)
    answers = {}
    for name, location in _outside_locations(root).items():
        with pytest.raises(p.exceptions.InvalidInputException) as refused:
            _create(p, dataset, location)
        message = refused.value.response["Error"]["Message"]
        assert message == REFUSAL.format(location), name
        assert not any(marker in message for marker in SECRET_MARKERS), name
        answers[name] = message.replace(location, "<location>")
    # One shape for all: whether the file exists, is readable or is a symlink is not told.
    assert len(set(answers.values())) == 1, answers
    assert _listed(p, dataset) == before


def test_a_file_inside_the_root_imports(guarded: Clients, dataset: str, root: Path) -> None:
    p = guarded.personalize
    good = root / "good.csv"
    good.write_text(interactions_csv(synthetic_interactions()))
    job = _create(p, dataset, good.as_uri())
    done = wait_for(p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job)
    assert done["status"] == "ACTIVE", done


def test_a_symlink_swapped_in_after_creation_fails_the_job_quoting_nothing(
    guarded: Clients, dataset: str, root: Path
) -> None:
    """Time of check, time of use: the job is created on a plain file inside the root,
    which is then replaced by a symlink to /etc/passwd before the import reads it."""
    p = guarded.personalize
    target = root / f"{unique('swap')}.csv"
    target.write_text(interactions_csv(synthetic_interactions()))
    job = _create(p, dataset, target.as_uri())
    target.unlink()
    target.symlink_to("/etc/passwd")
    done = wait_for(p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job)
    assert done["status"] == "CREATE FAILED"
    assert done["failureReason"] == REFUSAL.format(target.as_uri())
    listed = [j for j in _listed(p, dataset) if j["datasetImportJobArn"] == job]
    answers = json.dumps([done, *listed], default=str)
    assert not any(marker in answers for marker in SECRET_MARKERS)


def test_a_bad_file_inside_the_root_is_quoted_only_in_a_short_excerpt(
    guarded: Clients, dataset: str, root: Path
) -> None:
    p = guarded.personalize
    long_name = "X" * 5000
    bad = root / f"{unique('bad')}.csv"
    bad.write_text(f"USER_ID,ITEM_ID,{long_name}\n")
    job = _create(p, dataset, bad.as_uri())
    done = wait_for(p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job)
    assert done["status"] == "CREATE FAILED"
    reason = done["failureReason"]
    assert reason.startswith("Row 1: column 'XXXX")
    assert reason.count("X") <= 100 and len(reason) < 300


def test_values_beyond_the_columns_range_fail_the_job(
    guarded: Clients, dataset: str, root: Path
) -> None:
    """A TIMESTAMP past 64 bits would overflow the database's BIGINT: a row error instead."""
    p = guarded.personalize
    rows = synthetic_interactions()
    text = interactions_csv(rows) + f"u1,i1,{2**63}\n"
    path = root / f"{unique('huge')}.csv"
    path.write_text(text)
    job = _create(p, dataset, path.as_uri())
    done = wait_for(p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job)
    assert done["status"] == "CREATE FAILED"
    assert done["failureReason"] == (
        f"Row {len(rows) + 2}: TIMESTAMP value '{2**63}' is not a valid long."
    )


def test_bare_paths_are_refused_whether_or_not_they_exist(guarded: Clients, dataset: str) -> None:
    """Only s3://, http(s):// and file:// locations pass the pattern: a bare path is no way in."""
    p = guarded.personalize
    messages = []
    for location in ("/etc/passwd", "/var/nothing-here/absent.csv", "../../etc/passwd"):
        with pytest.raises(p.exceptions.InvalidInputException) as refused:
            _create(p, dataset, location)
        messages.append(refused.value.response["Error"]["Message"].replace(location, "<path>"))
    assert len(set(messages)) == 1 and "dataLocation" in messages[0]
