"""Dataset import jobs: S3 (moto) and file:// sources, row checks, all-or-nothing loads."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.engine.helpers import (
    ITEMS_SCHEMA,
    ROLE_ARN,
    USERS_SCHEMA,
    Clients,
    deploy,
    interactions_csv,
    items_csv,
    new_dataset,
    synthetic_interactions,
    train,
    unique,
    users_csv,
    wait_for,
    write,
)

BUCKET = "engine-tests"
# More objects than one ListObjectsV2 page (1,000) holds.
MANY_FILES = 1005


def _import(p: Any, dataset: str, location: str, **kwargs: Any) -> dict[str, Any]:
    job = p.create_dataset_import_job(
        jobName=unique("job"),
        datasetArn=dataset,
        dataSource={"dataLocation": location},
        roleArn=ROLE_ARN,
        **kwargs,
    )["datasetImportJobArn"]
    first = p.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]["status"]
    assert first == "CREATE PENDING"
    return wait_for(p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job)


def test_import_from_s3(clients: Clients, s3: Any) -> None:
    p = clients.personalize
    _, dataset = new_dataset(p)
    key = f"{unique('k')}/interactions.csv"
    s3.put_object(Bucket=BUCKET, Key=key, Body=interactions_csv(synthetic_interactions()).encode())
    job = _import(p, dataset, f"s3://{BUCKET}/{key}")
    assert job["status"] == "ACTIVE", job
    assert job["dataSource"] == {"dataLocation": f"s3://{BUCKET}/{key}"}


def test_import_from_s3_prefix(clients: Clients, s3: Any) -> None:
    p = clients.personalize
    _, dataset = new_dataset(p)
    prefix = unique("prefix")
    rows = synthetic_interactions()
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/a.csv", Body=interactions_csv(rows[:800]).encode())
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/b.csv", Body=interactions_csv(rows[800:]).encode())
    assert _import(p, dataset, f"s3://{BUCKET}/{prefix}/")["status"] == "ACTIVE"


def _put_many(s3: Any, prefix: str, bodies: list[str]) -> None:
    """Objects `prefix/part-00000.csv`, ... (zero-padded: key order is file order)."""
    with ThreadPoolExecutor(16) as pool:  # one PutObject costs a round trip to moto
        list(
            pool.map(
                lambda kv: s3.put_object(Bucket=BUCKET, Key=kv[0], Body=kv[1].encode()),
                [(f"{prefix}/part-{n:05d}.csv", body) for n, body in enumerate(bodies)],
            )
        )


def _imported_interactions(engine: Any) -> float:
    """The engine's engine_imported_rows_total for interactions (0 before any import)."""
    text = httpx.get(engine.url + "/metrics").text
    found = re.search(
        r'^engine_imported_rows_total\{dataset_type="INTERACTIONS"\} (\S+)$', text, re.M
    )
    return float(found.group(1)) if found else 0.0


def _many_bodies() -> list[str]:
    """MANY_FILES small CSVs, each with its header and 1 or 2 rows (1,507 rows in all)."""
    header = "USER_ID,ITEM_ID,TIMESTAMP\n"
    return [
        header
        + "".join(
            f"u{(n + k) % 60 + 1},i{n % 50 + 1},{1_000_000_000 + 2 * n + k}\n"
            for k in range(1 + n % 2)
        )
        for n in range(MANY_FILES)
    ]


def test_import_from_s3_prefix_of_many_files(clients: Clients, s3: Any, engine: Any) -> None:
    """A prefix listed over several pages imports every file as one dataset."""
    p = clients.personalize
    _, dataset = new_dataset(p)
    prefix = unique("many")
    bodies = _many_bodies()
    _put_many(s3, prefix, bodies)
    expected = sum(body.count("\n") - 1 for body in bodies)
    before = _imported_interactions(engine)
    job = _import(p, dataset, f"s3://{BUCKET}/{prefix}/")
    assert job["status"] == "ACTIVE", job
    assert _imported_interactions(engine) - before == expected


def test_bad_row_in_a_later_page_names_the_file(clients: Clients, s3: Any, engine: Any) -> None:
    """A bad row in file #1,003 (past the first listing page) fails the job, names the file
    and the row in it, and imports nothing."""
    p = clients.personalize
    _, dataset = new_dataset(p)
    prefix = unique("manybad")
    bodies = _many_bodies()
    bodies[1002] += "u1,i1,soon\n"
    bad_row = bodies[1002].count("\n")  # its last line; the header is row 1
    _put_many(s3, prefix, bodies)
    before = _imported_interactions(engine)
    job = _import(p, dataset, f"s3://{BUCKET}/{prefix}/")
    assert job["status"] == "CREATE FAILED"
    assert job["failureReason"] == (
        f"In s3://{BUCKET}/{prefix}/part-01002.csv: "
        f"Row {bad_row}: TIMESTAMP value 'soon' is not a valid long."
    )
    assert _imported_interactions(engine) == before


def test_missing_s3_object(clients: Clients, s3: Any) -> None:
    p = clients.personalize
    _, dataset = new_dataset(p)
    job = _import(p, dataset, f"s3://{BUCKET}/nothing/here.csv")
    assert job["status"] == "CREATE FAILED"
    assert "Cannot read s3://" in job["failureReason"]


def test_too_few_records(clients: Clients, tmp_path: Path) -> None:
    p = clients.personalize
    _, dataset = new_dataset(p)
    job = _import(
        p, dataset, write(tmp_path / "few.csv", interactions_csv(synthetic_interactions()[:999]))
    )
    assert job["status"] == "CREATE FAILED"
    assert "999 records" in job["failureReason"] and "at least 1000" in job["failureReason"]


def test_missing_required_column(clients: Clients, tmp_path: Path) -> None:
    p = clients.personalize
    _, dataset = new_dataset(p)
    text = "USER_ID,ITEM_ID\n" + "".join(f"u{i},i{i}\n" for i in range(1200))
    job = _import(p, dataset, write(tmp_path / "cols.csv", text))
    assert job["status"] == "CREATE FAILED"
    assert (
        job["failureReason"] == "Row 1: the required column TIMESTAMP is missing from the header."
    )


@pytest.mark.parametrize(
    ("bad_line", "needle"),
    [
        pytest.param(
            "u1,i1,yesterday",
            "Row 1502: TIMESTAMP value 'yesterday' is not a valid long.",
            id="value",
        ),
        pytest.param("u1,i1", "Row 1502: expected 3 values, found 2.", id="width"),
        pytest.param(",i1,5", "Row 1502: the required column USER_ID is empty.", id="empty"),
    ],
)
def test_bad_row_names_the_row(
    clients: Clients, tmp_path: Path, bad_line: str, needle: str
) -> None:
    p = clients.personalize
    _, dataset = new_dataset(p)
    text = interactions_csv(synthetic_interactions()) + bad_line + "\n"
    job = _import(p, dataset, write(tmp_path / "bad.csv", text))
    assert job["status"] == "CREATE FAILED"
    assert job["failureReason"] == needle


def test_failed_import_changes_nothing(clients: Clients, tmp_path: Path) -> None:
    """A failed import leaves the previous data in place: popularity still ranks item 1 first."""
    p = clients.personalize
    group, dataset = new_dataset(p)
    good = synthetic_interactions()
    assert (
        _import(p, dataset, write(tmp_path / "good.csv", interactions_csv(good)))["status"]
        == "ACTIVE"
    )
    # 1500 rows that would make "i50" the most popular item, then one bad row.
    flood = [(f"u{k % 60 + 1}", "i50", 2_000_000_000 + k) for k in range(1500)]
    job = _import(p, dataset, write(tmp_path / "bad.csv", interactions_csv(flood) + "u1,i1,soon\n"))
    assert job["status"] == "CREATE FAILED"
    campaign = deploy(p, train(p, group, "aws-popularity-count"))
    top = clients.runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=1)[
        "itemList"
    ]
    assert top == [{"itemId": "i1"}]


def test_file_source_must_exist(clients: Clients, tmp_path: Path) -> None:
    p = clients.personalize
    _, dataset = new_dataset(p)
    job = _import(p, dataset, f"file://{tmp_path / 'absent.csv'}")
    assert job["status"] == "CREATE FAILED"
    assert "does not exist" in job["failureReason"]


def test_data_location_pattern(clients: Clients) -> None:
    p = clients.personalize
    _, dataset = new_dataset(p)
    with pytest.raises(p.exceptions.InvalidInputException):
        p.create_dataset_import_job(
            jobName=unique("j"), datasetArn=dataset, dataSource={"dataLocation": "ftp://x/y"}
        )
    with pytest.raises(p.exceptions.InvalidInputException):
        p.create_dataset_import_job(
            jobName=unique("j"),
            datasetArn=dataset,
            dataSource={"dataLocation": "s3://b/k"},
            importMode="PARTIAL",
        )


def test_items_and_users_import(clients: Clients, s3: Any) -> None:
    p = clients.personalize
    _, items = new_dataset(p, "ITEMS", ITEMS_SCHEMA)
    _, users = new_dataset(p, "USERS", USERS_SCHEMA)
    s3.put_object(Bucket=BUCKET, Key="meta/items.csv", Body=items_csv().encode())
    s3.put_object(Bucket=BUCKET, Key="meta/users.csv", Body=users_csv().encode())
    assert _import(p, items, f"s3://{BUCKET}/meta/items.csv")["status"] == "ACTIVE"
    assert _import(p, users, f"s3://{BUCKET}/meta/users.csv")["status"] == "ACTIVE"
    bad = users_csv().replace("u7,25,", "u7,twenty-five,")
    s3.put_object(Bucket=BUCKET, Key="meta/bad-users.csv", Body=bad.encode())
    job = _import(p, users, f"s3://{BUCKET}/meta/bad-users.csv")
    assert job["status"] == "CREATE FAILED"
    assert job["failureReason"] == "Row 8: AGE value 'twenty-five' is not a valid int."
