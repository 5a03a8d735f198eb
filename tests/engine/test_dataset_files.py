"""Imported datasets as Parquet file sets: FULL swaps the set, INCREMENTAL adds one,
PutEvents rows are folded in, a failed or killed import leaves the previous set in force,
and deleting the dataset removes its files; items and users are stored the same way."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from services.engine.dataset_files import COMPACT_AFTER, dataset_folder, set_key
from tests.engine.conftest import ENGINE_APP, engine_env
from tests.engine.helpers import (
    ROLE_ARN,
    Clients,
    boto_clients,
    create_group,
    deploy,
    genre_of,
    interactions_csv,
    items_csv,
    new_dataset,
    synthetic_interactions,
    train,
    unique,
    wait_for,
    wait_gone,
    write,
)
from tests.utils.servers import RunningServer, run_server


@pytest.fixture
def stored(engine_root: Path) -> tuple[Path, Path]:
    """The shared engine's database file and artifact folder."""
    return engine_root / "engine.db", engine_root / "artifacts"


def _start_import(p: Any, dataset: str, location: str, mode: str = "FULL") -> str:
    return p.create_dataset_import_job(
        jobName=unique("job"),
        datasetArn=dataset,
        dataSource={"dataLocation": location},
        roleArn=ROLE_ARN,
        importMode=mode,
    )["datasetImportJobArn"]


def _import(p: Any, dataset: str, location: str, mode: str = "FULL") -> dict[str, Any]:
    job = _start_import(p, dataset, location, mode)
    return wait_for(p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job)


def _sets(database: Path, dataset: str) -> list[tuple[str, int, list[str]]]:
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT key, rows, files FROM dataset_files WHERE dataset_arn = ? ORDER BY created",
            (dataset,),
        ).fetchall()
    return [(key, n, json.loads(files)) for key, n, files in rows]


def _imported_sql_rows(database: Path, group: str) -> int:
    with sqlite3.connect(database) as db:
        return int(
            db.execute(
                "SELECT count(*) FROM interaction WHERE dataset_group_arn = ? AND NOT from_events",
                (group,),
            ).fetchone()[0]
        )


def test_full_swaps_and_incremental_adds_parquet_sets(
    clients: Clients, stored: tuple[Path, Path], tmp_path: Path
) -> None:
    p, (database, artifacts) = clients.personalize, stored
    group, dataset = new_dataset(p)
    first = synthetic_interactions()
    assert _import(p, dataset, write(tmp_path / "a.csv", interactions_csv(first)))["status"] == (
        "ACTIVE"
    )
    [(key, rows, files)] = _sets(database, dataset)
    assert rows == len(first)
    table = pq.read_table(artifacts / key / files[0])
    assert table.column_names == ["user_id", "item_id", "timestamp", "event_type", "event_value"]
    assert table.num_rows == len(first)
    assert _imported_sql_rows(database, group) == 0  # rows are in Parquet, not the database

    # Popularity counts distinct users: 1,200 new users of "i7" outnumber any item's 60.
    extra = [(f"new{k}", "i7", 2_000_000_000 + k) for k in range(1200)]
    job = _import(p, dataset, write(tmp_path / "b.csv", interactions_csv(extra)), "INCREMENTAL")
    assert job["status"] == "ACTIVE"
    assert [n for _, n, _ in _sets(database, dataset)] == [len(first), len(extra)]

    # The incremental set counts in training: "i7" is now the most popular item.
    campaign = deploy(p, train(p, group, "aws-popularity-count"))
    top = clients.runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=1)
    assert top["itemList"] == [{"itemId": "i7"}]

    # FULL replaces both sets with its own, and the old files are deleted.
    replacement = [(f"u{k % 60 + 1}", "i9", 1_500_000_000 + k) for k in range(1100)]
    job = _import(p, dataset, write(tmp_path / "c.csv", interactions_csv(replacement)))
    assert job["status"] == "ACTIVE"
    [(new_key, rows, _)] = _sets(database, dataset)
    assert rows == len(replacement)
    assert not (artifacts / key).exists()
    assert (artifacts / new_key / "fileset.json").is_file()


def test_put_events_fold_into_training_and_histories(clients: Clients, tmp_path: Path) -> None:
    p = clients.personalize
    group, dataset = new_dataset(p)
    rows = synthetic_interactions()
    _import(p, dataset, write(tmp_path / "a.csv", interactions_csv(rows)))
    tracker = p.create_event_tracker(name=unique("t"), datasetGroupArn=group)
    wait_for(
        p.describe_event_tracker, "eventTracker", eventTrackerArn=tracker["eventTrackerArn"]
    )
    now = int(time.time())
    for k in range(80):  # 80 new users: the events alone make "i42" the most popular item
        clients.events.put_events(
            trackingId=tracker["trackingId"],
            userId=f"viewer{k}",
            sessionId=f"s{k}",
            eventList=[{"eventType": "watch", "itemId": "i42", "sentAt": now + k}],
        )
    campaign = deploy(p, train(p, group, "aws-popularity-count"))
    top = clients.runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=1)
    assert top["itemList"] == [{"itemId": "i42"}]
    # A FULL re-import replaces the imported rows; the events stay, as on AWS.
    job = _import(p, dataset, write(tmp_path / "b.csv", interactions_csv(rows)))
    assert job["status"] == "ACTIVE"
    campaign = deploy(p, train(p, group, "aws-popularity-count"))
    top = clients.runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=1)
    assert top["itemList"] == [{"itemId": "i42"}]


def test_failed_import_keeps_the_previous_set(
    clients: Clients, stored: tuple[Path, Path], tmp_path: Path
) -> None:
    p, (database, artifacts) = clients.personalize, stored
    _, dataset = new_dataset(p)
    good = synthetic_interactions()
    _import(p, dataset, write(tmp_path / "good.csv", interactions_csv(good)))
    before = _sets(database, dataset)
    flood = [(f"u{k % 60 + 1}", "i50", 2_000_000_000 + k) for k in range(1500)]
    bad = write(tmp_path / "bad.csv", interactions_csv(flood) + "u1,i1,soon\n")
    job = _import(p, dataset, bad)
    assert job["status"] == "CREATE FAILED"
    assert _sets(database, dataset) == before
    # Nothing of the failed import was published.
    assert not (artifacts / set_key(dataset, job["datasetImportJobArn"])).exists()


def test_deleting_the_dataset_removes_its_files(
    clients: Clients, stored: tuple[Path, Path], tmp_path: Path
) -> None:
    p, (database, artifacts) = clients.personalize, stored
    _, dataset = new_dataset(p)
    _import(p, dataset, write(tmp_path / "a.csv", interactions_csv(synthetic_interactions())))
    [(key, _, _)] = _sets(database, dataset)
    p.delete_dataset(datasetArn=dataset)
    wait_gone(p.describe_dataset, p.exceptions.ResourceNotFoundException, datasetArn=dataset)
    assert _sets(database, dataset) == []
    assert not (artifacts / key).exists()


def _big_csv(path: Path, rows: int) -> str:
    with open(path, "w") as out:
        out.write("USER_ID,ITEM_ID,TIMESTAMP\n")
        for start in range(0, rows, 100_000):
            out.write(
                "".join(
                    f"u{k % 5000},i{k % 3000},{1_000_000_000 + k}\n"
                    for k in range(start, min(rows, start + 100_000))
                )
            )
    return f"file://{path}"


def test_an_import_killed_halfway_leaves_the_previous_set(tmp_path: Path) -> None:
    """kill -9 during a large FULL import: after a restart the job is CREATE FAILED,
    the previous set is still the dataset's, and no file of the dead import remains."""
    env = engine_env(
        f"sqlite:///{tmp_path / 'engine.db'}",
        f"file://{tmp_path / 'artifacts'}",
        IMPORT_ROOTS=str(tmp_path),
    )
    good = write(tmp_path / "good.csv", interactions_csv(synthetic_interactions()))
    big = _big_csv(tmp_path / "big.csv", 6_000_000)
    with run_server(ENGINE_APP, env=env, log_dir=tmp_path) as server:
        p = boto_clients(server.url).personalize
        _, dataset = new_dataset(p)
        assert _import(p, dataset, good)["status"] == "ACTIVE"
        before = _sets(tmp_path / "engine.db", dataset)
        job = _start_import(p, dataset, big)
        deadline = time.monotonic() + 30
        while p.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"][
            "status"
        ] != "CREATE IN_PROGRESS":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.5)  # well into reading the file
        _kill(server)
    with run_server(ENGINE_APP, env=env, log_dir=tmp_path) as server:
        p = boto_clients(server.url).personalize
        described = p.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]
        assert described["status"] == "CREATE FAILED"
        assert "restarted during the import" in described["failureReason"]
        assert _sets(tmp_path / "engine.db", dataset) == before
        folder = tmp_path / "artifacts" / dataset_folder(dataset)
        assert sorted(d.name for d in folder.iterdir()) == [before[0][0].rsplit("/", 1)[1]]
        # The same import, run again, goes through and replaces the previous set.
        assert _import(p, dataset, big)["status"] == "ACTIVE"
        after = _sets(tmp_path / "engine.db", dataset)
        assert len(after) == 1 and after != before


def _kill(server: RunningServer) -> None:
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)


def test_many_incremental_sets_are_merged_into_one(
    clients: Clients, stored: tuple[Path, Path], tmp_path: Path
) -> None:
    """Past COMPACT_AFTER sets, the dataset's sets are merged in the background into one
    holding the same rows in the same order; the merged-away files are deleted."""
    p, (database, artifacts) = clients.personalize, stored
    group, dataset = new_dataset(p)
    first = synthetic_interactions()
    _import(p, dataset, write(tmp_path / "full.csv", interactions_csv(first)))
    total = len(first)
    for n in range(COMPACT_AFTER):
        batch = [(f"late{n}-{k}", "i33", 1_900_000_000 + n * 100 + k) for k in range(20)]
        job = _import(
            p, dataset, write(tmp_path / f"inc{n}.csv", interactions_csv(batch)), "INCREMENTAL"
        )
        assert job["status"] == "ACTIVE"
        total += len(batch)
    folder = artifacts / dataset_folder(dataset)
    deadline = time.monotonic() + 30
    # One set left, and one folder: the merged-away files are deleted after the swap.
    while len(sets := _sets(database, dataset)) != 1 or len(list(folder.iterdir())) != 1:
        assert time.monotonic() < deadline, (sets, sorted(d.name for d in folder.iterdir()))
        time.sleep(0.1)
    [(key, rows, files)] = sets
    assert rows == total
    assert "/merged-" in key
    assert [d.name for d in folder.iterdir()] == [key.rsplit("/", 1)[1]]
    merged = pq.read_table([artifacts / key / name for name in files])
    assert merged.num_rows == total
    # The same rows in the same order: the FULL import's first, then each increment's.
    assert merged["user_id"].to_pylist()[: len(first)] == [u for u, _, _ in first]
    assert merged["user_id"].to_pylist()[-1] == f"late{COMPACT_AFTER - 1}-19"
    # 160 new users of "i33" make it the most popular item.
    campaign = deploy(p, train(p, group, "aws-popularity-count"))
    top = clients.runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=1)
    assert top["itemList"] == [{"itemId": "i33"}]


def _legacy_rows(database: Path, table: str, group: str) -> int:
    with sqlite3.connect(database) as db:
        return int(
            db.execute(
                f"SELECT count(*) FROM {table} WHERE dataset_group_arn = ?", (group,)
            ).fetchone()[0]
        )


def test_items_and_users_are_parquet_sets_too(
    clients: Clients, stored: tuple[Path, Path], tmp_path: Path
) -> None:
    p, (database, artifacts) = clients.personalize, stored
    made = create_group(p, tmp_path, with_items=True, with_users=True)
    group, items = made["group"], made["ITEMS"]
    for kind, table, columns in (
        ("ITEMS", "item_record", ["ITEM_ID", "GENRES", "YEAR"]),
        ("USERS", "user_record", ["USER_ID", "AGE", "GENDER", "OCCUPATION"]),
    ):
        [(key, rows, files)] = _sets(database, made[kind])
        assert key.startswith(dataset_folder(made[kind]) + "/")
        assert pq.read_table(artifacts / key / files[0]).column_names == columns
        assert _legacy_rows(database, table, group) == 0  # nothing in the database
    assert rows == 60  # the users
    assert len(_sets(database, made["INTERACTIONS"])) == 1  # each dataset its own sets

    campaign = deploy(p, train(p, group, "aws-popularity-count"))
    horror = p.create_filter(
        name=unique("f"),
        datasetGroupArn=group,
        filterExpression='INCLUDE ItemID WHERE Items.GENRES IN ("Horror")',
    )["filterArn"]
    wait_for(p.describe_filter, "filter", filterArn=horror)

    def horror_items() -> set[str]:
        listed = clients.runtime.get_recommendations(
            campaignArn=campaign, userId="u1", numResults=100, filterArn=horror
        )["itemList"]
        return {i["itemId"] for i in listed}

    before = horror_items()
    assert before == {f"i{k}" for k in range(1, 51) if "Horror" in genre_of(f"i{k}")}
    # INCREMENTAL: a later row of an id replaces the earlier one; i1 was a Comedy.
    # Serving reads it at once (no retraining); two sets are now read together.
    job = _import(p, items, write(tmp_path / "i.csv", "ITEM_ID,GENRES,YEAR\ni1,Horror,2005\n"),
                  "INCREMENTAL")
    assert job["status"] == "ACTIVE"
    assert len(_sets(database, items)) == 2
    assert horror_items() == before | {"i1"}

    # Rows from before Parquet sets are read too, and a FULL import replaces them.
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO item_record (dataset_group_arn, item_id, attributes) VALUES (?, ?, ?)",
            (group, "i2", json.dumps({"GENRES": "Horror", "YEAR": 1999})),
        )
    assert _import(p, items, write(tmp_path / "j.csv", items_csv()))["status"] == "ACTIVE"
    assert _legacy_rows(database, "item_record", group) == 0
    assert len(_sets(database, items)) == 1
    assert horror_items() == before

    # Deleting the Items dataset removes its sets only.
    [(key, _, _)] = _sets(database, items)
    p.delete_dataset(datasetArn=items)
    wait_gone(p.describe_dataset, p.exceptions.ResourceNotFoundException, datasetArn=items)
    assert _sets(database, items) == [] and not (artifacts / key).exists()
    assert len(_sets(database, made["INTERACTIONS"])) == 1
    assert len(_sets(database, made["USERS"])) == 1
