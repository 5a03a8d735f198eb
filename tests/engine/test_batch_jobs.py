"""Batch inference and batch segment jobs on ml-100k, through unchanged boto3 clients.

One dataset group (ml-100k's 4-5 star ratings, with GENRES and YEAR items) trains every
recipe a batch job takes; each test runs its own jobs against the session's engine.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from services.engine import batch
from tests.engine.conftest import ENGINE_APP, engine_env
from tests.engine.helpers import (
    INTERACTIONS_SCHEMA,
    ITEMS_SCHEMA,
    ROLE_ARN,
    Clients,
    boto_clients,
    create_group,
    deploy,
    import_datasets,
    recipe_arn,
    train,
    train_many,
    unique,
    wait_for,
)
from tests.utils.servers import free_port, run_server

RECIPES = [
    "aws-user-personalization",
    "aws-sims",
    "aws-personalized-ranking",
    "aws-item-affinity",
    "aws-item-attribute-affinity",
]
BUCKET = "batch-jobs"


def _movielens(movielens_dir: Path, folder: Path) -> dict[str, Any]:
    """The lab's interactions (ratings above 3.6) and items (GENRES, YEAR) as CSV files."""
    lines = ["USER_ID,ITEM_ID,TIMESTAMP"]
    history: dict[str, set[str]] = {}
    for line in (movielens_dir / "u.data").read_text().splitlines():
        user, item, rating, ts = line.split("\t")
        if int(rating) > 3.6:
            lines.append(f"{user},{item},{ts}")
            history.setdefault(user, set()).add(item)
    genre_names = [
        line.split("|")[0]
        for line in (movielens_dir / "u.genre").read_text(encoding="latin-1").splitlines()
        if line.strip()
    ]
    items = ["ITEM_ID,GENRES,YEAR"]
    genres: dict[str, set[str]] = {}
    for line in (movielens_dir / "u.item").read_text(encoding="latin-1").splitlines():
        parts = line.split("|")
        flags = parts[5:24]
        names = [g for g, flag in zip(genre_names, flags, strict=False) if flag == "1"]
        genres[parts[0]] = set(names)
        items.append(f"{parts[0]},{'|'.join(names)},{parts[2][-4:] if parts[2] else ''}")
    (folder / "interactions.csv").write_text("\n".join(lines) + "\n")
    (folder / "items.csv").write_text("\n".join(items) + "\n")
    users = sorted(
        {line.split("\t")[0] for line in (movielens_dir / "u.data").read_text().splitlines()},
        key=int,
    )
    return {"history": history, "genres": genres, "users": users}


@pytest.fixture(scope="module")
def ml100k(
    clients: Clients, movielens_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    p = clients.personalize
    folder = tmp_path_factory.mktemp("batch-data")
    data = _movielens(movielens_dir, folder)
    group = p.create_dataset_group(name=unique("batch"))["datasetGroupArn"]
    wait_for(p.describe_dataset_group, "datasetGroup", datasetGroupArn=group)
    import_datasets(
        p,
        group,
        [
            ("INTERACTIONS", INTERACTIONS_SCHEMA, f"file://{folder / 'interactions.csv'}"),
            ("ITEMS", ITEMS_SCHEMA, f"file://{folder / 'items.csv'}"),
        ],
    )
    versions = train_many(p, group, RECIPES)
    genre = p.create_filter(
        name=unique("genre"),
        datasetGroupArn=group,
        filterExpression="INCLUDE ItemID WHERE Items.GENRES IN ($GENRES)",
    )["filterArn"]
    assert wait_for(p.describe_filter, "filter", filterArn=genre)["status"] == "ACTIVE"
    return {**data, "group": group, "versions": versions, "genre_filter": genre}


def _write_lines(path: Path, lines: list[Any]) -> str:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.write_text(text)
    return f"file://{path}"


def _run(p: Any, create: Any, describe: Any, key: str, arn_key: str, **kwargs: Any) -> dict:
    arn = create(jobName=unique("job"), roleArn=ROLE_ARN, **kwargs)[arn_key]
    job = wait_for(describe, key, timeout=180, **{arn_key: arn})
    return job


def _inference(p: Any, **kwargs: Any) -> dict[str, Any]:
    return _run(
        p,
        p.create_batch_inference_job,
        p.describe_batch_inference_job,
        "batchInferenceJob",
        "batchInferenceJobArn",
        **kwargs,
    )


def _segment(p: Any, **kwargs: Any) -> dict[str, Any]:
    return _run(
        p,
        p.create_batch_segment_job,
        p.describe_batch_segment_job,
        "batchSegmentJob",
        "batchSegmentJobArn",
        **kwargs,
    )


def _io(tmp_path: Path, lines: list[Any], name: str = "input.json") -> dict[str, Any]:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return {
        "jobInput": {"s3DataSource": {"path": _write_lines(tmp_path / name, lines)}},
        "jobOutput": {"s3DataDestination": {"path": f"file://{out}/"}},
    }


def _output(tmp_path: Path, name: str = "input.json") -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in (tmp_path / "out" / f"{name}.out").read_text().splitlines()
    ]


def test_user_personalization_for_every_user_matches_get_recommendations(
    clients: Clients, ml100k: dict[str, Any], tmp_path: Path
) -> None:
    p, rt = clients.personalize, clients.runtime
    version = ml100k["versions"]["aws-user-personalization"]
    users = ml100k["users"]
    lines: list[Any] = [{"userId": u} for u in users]
    lines += ['{"userId": "1"', [1, 2], {"itemId": "1"}, {"userId": 5}]
    io = _io(tmp_path, lines)
    arn = p.create_batch_inference_job(
        jobName=unique("up"), solutionVersionArn=version, roleArn=ROLE_ARN, **io
    )["batchInferenceJobArn"]
    started = time.monotonic()
    seen = set()
    while True:
        job = p.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]
        seen.add(job["status"])
        if job["status"] in ("ACTIVE", "CREATE FAILED"):
            break
        assert time.monotonic() - started < 120
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    assert job["status"] == "ACTIVE", job
    assert {"CREATE PENDING", "CREATE IN_PROGRESS"} <= seen
    assert elapsed < 10, f"{len(users)} users took {elapsed:.1f} s (target 10 s)"
    assert job["numResults"] == 25 and job["solutionVersionArn"] == version
    assert job["jobInput"] == io["jobInput"] and job["jobOutput"] == io["jobOutput"]
    assert job["roleArn"] == ROLE_ARN and job["batchInferenceJobMode"] == "BATCH_INFERENCE"
    assert "filterArn" not in job and "failureReason" not in job
    out = _output(tmp_path)
    assert len(out) == len(lines) == 947
    for line, user in zip(out, users, strict=False):
        assert line["input"] == {"userId": user} and line["error"] is None
        assert len(line["output"]["recommendedItems"]) == 25
        assert len(line["output"]["scores"]) == 25
        assert not set(line["output"]["recommendedItems"]) & ml100k["history"].get(user, set())
    # The same answers as GetRecommendations on a campaign of the version.
    campaign = deploy(p, version)
    for k in (0, 1, 500, 942):
        answer = rt.get_recommendations(campaignArn=campaign, userId=users[k])["itemList"]
        assert out[k]["output"]["recommendedItems"] == [i["itemId"] for i in answer]
        assert out[k]["output"]["scores"] == pytest.approx([i["score"] for i in answer])
    # Bad lines: the line as given (raw text when it is no JSON), no output, a reason.
    bad = out[943:]
    assert bad[0] == {"input": '{"userId": "1"', "output": None, "error": bad[0]["error"]}
    assert "not valid JSON" in bad[0]["error"]
    assert bad[1]["input"] == [1, 2] and "JSON object" in bad[1]["error"]
    assert bad[2]["input"] == {"itemId": "1"} and "userId is required" in bad[2]["error"]
    assert bad[3]["output"] is None and "userId must be a string" in bad[3]["error"]
    listed = p.list_batch_inference_jobs(solutionVersionArn=version)["batchInferenceJobs"]
    assert arn in [j["batchInferenceJobArn"] for j in listed]
    assert {j["status"] for j in listed if j["batchInferenceJobArn"] == arn} == {"ACTIVE"}


def test_filter_and_num_results(clients: Clients, ml100k: dict[str, Any], tmp_path: Path) -> None:
    p = clients.personalize
    lines = [
        {"userId": "1", "filterValues": {"GENRES": '"Comedy"'}},
        {"userId": "2", "filterValues": {"GENRES": '"Horror","Film-Noir"'}},
        {"userId": "3"},  # an INCLUDE filter's parameter is required
    ]
    job = _inference(
        p,
        solutionVersionArn=ml100k["versions"]["aws-user-personalization"],
        filterArn=ml100k["genre_filter"],
        numResults=7,
        **_io(tmp_path, lines),
    )
    assert job["status"] == "ACTIVE", job
    assert job["filterArn"] == ml100k["genre_filter"] and job["numResults"] == 7
    out = _output(tmp_path)
    genres = ml100k["genres"]
    first = out[0]["output"]["recommendedItems"]
    assert len(first) == 7 and all("Comedy" in genres[i] for i in first)
    second = out[1]["output"]["recommendedItems"]
    assert len(second) == 7 and all(genres[i] & {"Horror", "Film-Noir"} for i in second)
    assert out[2]["output"] is None and "GENRES" in out[2]["error"]


def test_related_items_and_ranking(
    clients: Clients, ml100k: dict[str, Any], tmp_path: Path
) -> None:
    p = clients.personalize
    sims = _inference(
        p,
        solutionVersionArn=ml100k["versions"]["aws-sims"],
        numResults=10,
        **_io(tmp_path, [{"itemId": "50"}, {"itemId": "no-such-item"}, {"userId": "1"}], "sims"),
    )
    assert sims["status"] == "ACTIVE", sims
    out = _output(tmp_path, "sims")
    assert len(out[0]["output"]["recommendedItems"]) == 10
    assert "50" not in out[0]["output"]["recommendedItems"]
    assert "scores" not in out[0]["output"]  # SIMS gives no scores, as at runtime
    assert len(out[1]["output"]["recommendedItems"]) == 10  # popular items for an unknown one
    assert out[2]["output"] is None and "itemId is required" in out[2]["error"]

    candidates = ["50", "181", "1", "121", "nope"]
    lines = [
        {"userId": "1", "itemList": candidates},
        {"userId": "2"},
        {"userId": "3", "itemList": []},
    ]
    ranking = _inference(
        p,
        solutionVersionArn=ml100k["versions"]["aws-personalized-ranking"],
        **_io(tmp_path, lines, "ranking"),
    )
    assert ranking["status"] == "ACTIVE", ranking
    out = _output(tmp_path, "ranking")
    ranked = out[0]["output"]["recommendedItems"]
    assert sorted(ranked) == sorted(candidates) and ranked[-1] == "nope"
    assert len(out[0]["output"]["scores"]) == 5 and out[0]["output"]["scores"][-1] == 0.0
    assert "itemList is required" in out[1]["error"]
    assert "itemList must be a list of 1 to 500" in out[2]["error"]


def test_segments(clients: Clients, ml100k: dict[str, Any], tmp_path: Path) -> None:
    p = clients.personalize
    history = ml100k["history"]
    lines = [{"itemId": "50"}, {"itemId": "nope"}, {"itemAttributes": 'ITEMS.GENRES = "Comedy"'}]
    job = _segment(
        p,
        solutionVersionArn=ml100k["versions"]["aws-item-affinity"],
        numResults=30,
        **_io(tmp_path, lines, "items"),
    )
    assert job["status"] == "ACTIVE", job
    assert job["numResults"] == 30 and job["roleArn"] == ROLE_ARN
    out = _output(tmp_path, "items")
    users = out[0]["output"]["usersList"]
    assert out[0]["input"] == {"itemId": "50"} and out[0]["error"] is None
    assert len(users) == 30 and len(set(users)) == 30
    assert not any("50" in history.get(u, set()) for u in users)  # they have not got it yet
    assert out[1]["output"] is None and "nope" in out[1]["error"]
    assert "itemId" in out[2]["error"]

    lines = [
        {"itemAttributes": 'ITEMS.GENRES = "Horror"'},
        {"itemAttributes": 'ITEMS.genres = "Children\'s" AND ITEMS.YEAR < 1980'},
        {"itemAttributes": "ITEMS.GENRES = "},
        {"itemAttributes": 'ITEMS.GENRES = "No such genre"'},
        {"itemId": "50"},
    ]
    job = _segment(
        p,
        solutionVersionArn=ml100k["versions"]["aws-item-attribute-affinity"],
        **_io(tmp_path, lines, "attributes"),
    )
    assert job["status"] == "ACTIVE", job
    out = _output(tmp_path, "attributes")
    assert len(out[0]["output"]["usersList"]) == 25  # numResults' default
    assert len(out[1]["output"]["usersList"]) == 25
    assert out[0]["output"]["usersList"] != out[1]["output"]["usersList"]
    assert "not valid" in out[2]["error"]
    assert "No item" in out[3]["error"]
    assert "itemAttributes" in out[4]["error"]
    listed = p.list_batch_segment_jobs(
        solutionVersionArn=ml100k["versions"]["aws-item-attribute-affinity"]
    )["batchSegmentJobs"]
    assert [j["status"] for j in listed] == ["ACTIVE"]


def test_segment_recipes_are_listed(clients: Clients) -> None:
    p = clients.personalize
    names = {r["name"] for r in p.list_recipes()["recipes"]}
    assert {"aws-item-affinity", "aws-item-attribute-affinity"} <= names
    for name in ("aws-item-affinity", "aws-item-attribute-affinity"):
        recipe = p.describe_recipe(recipeArn=recipe_arn(name))["recipe"]
        assert recipe["recipeType"] == "USER_SEGMENTATION"


def test_s3_input_and_output(clients: Clients, ml100k: dict[str, Any], s3: Any) -> None:
    p = clients.personalize
    s3.create_bucket(Bucket=BUCKET)
    key = f"{unique('in')}/users.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"userId": "1"}\n\n{"userId": "2"}\nnope\n')
    prefix = unique("out")
    job = _inference(
        p,
        solutionVersionArn=ml100k["versions"]["aws-user-personalization"],
        numResults=3,
        jobInput={"s3DataSource": {"path": f"s3://{BUCKET}/{key}"}},
        jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/{prefix}/"}},
    )
    assert job["status"] == "ACTIVE", job
    body = s3.get_object(Bucket=BUCKET, Key=f"{prefix}/users.json.out")["Body"].read()
    out = [json.loads(line) for line in body.decode().splitlines()]
    assert [line["input"] for line in out] == [{"userId": "1"}, {"userId": "2"}, "nope"]
    assert len(out[0]["output"]["recommendedItems"]) == 3
    missing = _inference(
        p,
        solutionVersionArn=ml100k["versions"]["aws-user-personalization"],
        jobInput={"s3DataSource": {"path": f"s3://{BUCKET}/nothing/here.json"}},
        jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/{prefix}/"}},
    )
    assert missing["status"] == "CREATE FAILED"
    assert "Cannot read s3://" in missing["failureReason"]


def _code(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


def test_refusals(clients: Clients, ml100k: dict[str, Any], tmp_path: Path) -> None:
    p = clients.personalize
    versions = ml100k["versions"]
    io = _io(tmp_path, [{"userId": "1"}])
    base = {"roleArn": ROLE_ARN, **io}

    def create(**kwargs: Any) -> tuple[str, str]:
        args = {"jobName": unique("bad"), "solutionVersionArn": versions["aws-sims"], **base}
        return _code(lambda: p.create_batch_inference_job(**{**args, **kwargs}))

    nope = versions["aws-sims"].rsplit("/", 1)[0] + "/00000000"
    assert create(solutionVersionArn=nope)[0] == "ResourceNotFoundException"
    code, message = create(jobInput={"s3DataSource": {"path": "file:///etc/passwd"}})
    assert code == "InvalidInputException" and "outside the engine's import roots" in message
    code, message = create(jobOutput={"s3DataDestination": {"path": "file:///tmp/../etc/"}})
    assert code == "InvalidInputException" and "outside the engine's import roots" in message
    code, message = create(batchInferenceJobConfig={"itemExplorationConfig": {"a": "0.3"}})
    assert code == "InvalidInputException"
    assert "batchInferenceJobConfig.itemExplorationConfig is not supported" in message
    code, message = create(batchInferenceJobMode="THEME_GENERATION")
    assert code == "InvalidInputException" and "batchInferenceJobMode" in message
    code, message = create(themeGenerationConfig={"fieldsForThemeGeneration": {"itemName": "T"}})
    assert code == "InvalidInputException" and "themeGenerationConfig" in message
    code, message = create(
        jobInput={
            "s3DataSource": {
                "path": "s3://b/k",
                "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k",
            }
        }
    )
    assert code == "InvalidInputException" and "kmsKeyArn" in message
    assert create(numResults=501)[0] == "InvalidInputException"
    assert create(numResults=0)[0] == "InvalidInputException"
    assert create(filterArn=ml100k["genre_filter"].replace("filter/", "filter/x"))[0] == (
        "ResourceNotFoundException"
    )
    code, message = create(solutionVersionArn=versions["aws-item-affinity"])
    assert code == "InvalidInputException" and "CreateBatchSegmentJob" in message
    code, message = create(jobInput={"s3DataSource": {"path": "https://example.com/in.json"}})
    assert code == "InvalidInputException"
    for folder in ("s3://bucket", "s3://bucket/in/"):
        code, message = create(jobInput={"s3DataSource": {"path": folder}})
        assert code == "InvalidInputException" and "is a folder" in message
    code, message = _code(
        lambda: p.create_batch_segment_job(
            jobName=unique("bad"), solutionVersionArn=versions["aws-user-personalization"], **base
        )
    )
    assert code == "InvalidInputException" and "aws-item-affinity" in message
    code, message = _code(
        lambda: p.create_batch_segment_job(
            jobName=unique("bad"),
            solutionVersionArn=versions["aws-item-affinity"],
            filterArn=ml100k["genre_filter"],
            **base,
        )
    )
    assert code == "InvalidInputException" and "filterArn is not supported" in message
    code, message = _code(
        lambda: p.create_campaign(
            name=unique("c"), solutionVersionArn=versions["aws-item-affinity"]
        )
    )
    assert code == "InvalidInputException" and "cannot be deployed" in message
    name = unique("twice")
    p.create_batch_inference_job(jobName=name, solutionVersionArn=versions["aws-sims"], **base)
    code, _ = _code(
        lambda: p.create_batch_inference_job(
            jobName=name, solutionVersionArn=versions["aws-sims"], **base
        )
    )
    assert code == "ResourceAlreadyExistsException"
    for describe, key in (
        (p.describe_batch_inference_job, "batchInferenceJobArn"),
        (p.describe_batch_segment_job, "batchSegmentJobArn"),
    ):
        assert _code(lambda d=describe, k=key: d(**{k: nope}))[0] == "ResourceNotFoundException"
    # A missing input file fails the job with a reason; nothing is written.
    gone = _inference(
        p,
        solutionVersionArn=versions["aws-sims"],
        jobInput={"s3DataSource": {"path": f"file://{tmp_path}/missing.json"}},
        jobOutput=io["jobOutput"],
    )
    assert gone["status"] == "CREATE FAILED" and "does not exist" in gone["failureReason"]
    assert not (tmp_path / "out" / "missing.json.out").exists()
    assert not [f for f in (tmp_path / "out").iterdir() if f.name.endswith(".tmp")]


def test_progress_is_recorded_whole_and_at_most_every_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker's side of the progress the API process logs while a job runs.
    path = tmp_path / "progress.json"
    assert batch.read_progress(path) is None
    clock = iter([100.0, 100.5, 100.5 + batch.PROGRESS_SECONDS, 101.0])
    monkeypatch.setattr(batch.time, "monotonic", lambda: next(clock))
    progress = batch.Progress(str(path))
    progress(1, 947, "lines")
    assert batch.read_progress(path) == (1, 947, "lines")
    progress(2, 947, "lines")  # too soon: not recorded
    assert batch.read_progress(path) == (1, 947, "lines")
    progress(600, 947, "lines")
    assert batch.read_progress(path) == (600, 947, "lines")
    progress(947, 947, "lines", final=True)  # always recorded
    assert batch.read_progress(path) == (947, 947, "lines")
    assert [f.name for f in tmp_path.iterdir()] == ["progress.json"]  # replaced, no leftovers


def test_a_job_cut_off_by_a_restart_runs_again(tmp_path: Path, moto_server: str) -> None:
    # Steps of 1 s: time to stop the engine while the job is still pending.
    env = engine_env(
        f"sqlite:///{tmp_path / 'engine.db'}",
        f"file://{tmp_path / 'art'}",
        moto_server,
        IMPORT_ROOTS=str(tmp_path),
        STATUS_STEP_SECONDS="1",
    )
    port = free_port()
    with run_server(ENGINE_APP, env=env, log_dir=tmp_path, port=port) as server:
        p = boto_clients(server.url).personalize
        group = create_group(p, tmp_path)
        version = train(p, group["group"], "aws-sims")
        arn = p.create_batch_inference_job(
            jobName=unique("cut"),
            solutionVersionArn=version,
            roleArn=ROLE_ARN,
            **_io(tmp_path, [{"itemId": "i3"}, {"itemId": "i4"}]),
        )["batchInferenceJobArn"]
        job = p.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]
        assert job["status"] == "CREATE PENDING"
        server.stop(signal.SIGTERM)
    assert not (tmp_path / "out" / "input.json.out").exists()
    with run_server(ENGINE_APP, env=env, log_dir=tmp_path, port=port) as server:
        p = boto_clients(server.url).personalize
        job = wait_for(
            p.describe_batch_inference_job, "batchInferenceJob", batchInferenceJobArn=arn
        )
        assert job["status"] == "ACTIVE", job
    out = _output(tmp_path)
    assert [line["input"] for line in out] == [{"itemId": "i3"}, {"itemId": "i4"}]
    assert all(len(line["output"]["recommendedItems"]) == 25 for line in out)
