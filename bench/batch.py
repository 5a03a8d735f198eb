"""Batch inference through boto3: every user of a dataset group in one CreateBatchInferenceJob.

    .venv/bin/python -m bench.batch                 # ml-100k's 943 users (target 10 s)
    .venv/bin/python -m bench.batch --data 25m      # the MovieLens 25M shape (target 5 min)
    .venv/bin/python -m bench.batch --data 5m       # a fifth of it (no target of its own)

Starts a fresh engine (uvicorn, SQLite, file:// artifacts, STATUS_STEP_SECONDS 0.05),
imports the interactions (ml-100k: the lab's ratings above 3.6; 25M shape: the generated
file of `bench.scale.generate`, 25M interactions, 162,541 users, 59,047 items; 5m: 5M
interactions, 32,508 users, the same items), trains
aws-user-personalization, writes one `{"userId": ...}` line per user and times
CreateBatchInferenceJob → ACTIVE as a client sees it (polling DescribeBatchInferenceJob
every 0.1 s): the status steps, the worker's model load and histories, every line, and the
output's rename. Prints the figure beside its target and checks the output has a line of
25 items per user.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

from bench.engine import (
    REGION,
    ROOT,
    engine_settings,
    interactions_dataset,
    lab_csv,
    start,
    wait,
)
from bench.scale import SHAPES, generate

TARGETS = {"ml-100k": 10.0, "25m": 300.0}  # seconds for every user's line


def _users(csv: Path) -> list[str]:
    seen: dict[str, None] = {}
    with open(csv) as handle:
        next(handle)
        for line in handle:
            seen.setdefault(line.split(",", 1)[0], None)
    return list(seen)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data",
        default="ml-100k",
        choices=["ml-100k", *SHAPES],
        help="ml-100k's 943 users, or generated data at the MovieLens 25M shape (or 5M)",
    )
    parser.add_argument(
        "--movielens",
        type=Path,
        default=Path(os.environ.get("MOVIELENS_DIR", ROOT.parent / "shared/datasets/ml-100k")),
    )
    parser.add_argument("--data-dir", type=Path, help="keep (and reuse) the generated 25M CSV here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = args.data_dir or tmp
        data_dir.mkdir(parents=True, exist_ok=True)
        lab = args.data == "ml-100k"
        csv = data_dir / ("interactions.csv" if lab else f"interactions-{args.data}.csv")
        started = time.monotonic()
        if lab:
            lab_csv(args.movielens, csv)
        elif not csv.exists():
            generate(csv, args.data)
            print(f"generated {csv} in {time.monotonic() - started:.0f} s", flush=True)
        keys = engine_settings(
            database_url=f"sqlite:///{tmp / 'engine.db'}", artifacts=tmp / "artifacts",
            import_roots=json.dumps([str(tmp), str(data_dir)]),
        )
        engine, url = start("services.engine.main:app", keys, tmp / "engine.log")
        try:
            p = boto3.client(
                "personalize",
                endpoint_url=url,
                region_name=REGION,
                aws_access_key_id=keys["ENGINE_ACCESS_KEY_ID"],
                aws_secret_access_key=keys["ENGINE_SECRET_ACCESS_KEY"],
                config=Config(retries={"max_attempts": 1}, read_timeout=600),
            )
            group, dataset = interactions_dataset(p, "batch")
            started = time.monotonic()
            job = p.create_dataset_import_job(
                jobName="batch", datasetArn=dataset, dataSource={"dataLocation": f"file://{csv}"}
            )["datasetImportJobArn"]
            wait(p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job)
            print(f"imported in {time.monotonic() - started:.1f} s", flush=True)
            solution = p.create_solution(
                name="batch",
                datasetGroupArn=group,
                recipeArn="arn:aws:personalize:::recipe/aws-user-personalization",
            )["solutionArn"]
            wait(p.describe_solution, "solution", solutionArn=solution)
            started = time.monotonic()
            version = p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
            wait(p.describe_solution_version, "solutionVersion", solutionVersionArn=version)
            print(f"trained in {time.monotonic() - started:.1f} s", flush=True)
            # ml-100k: all 943 users (one has no rating above 3.6: an unknown user, answered
            # with the scorer's empty-history list); 25M: the file's users.
            users = (
                sorted({line.split("\t")[0] for line in open(args.movielens / "u.data")}, key=int)
                if lab
                else _users(csv)
            )
            source = tmp / "users.json"
            source.write_text("".join(json.dumps({"userId": u}) + "\n" for u in users))
            out = tmp / "out"
            out.mkdir()
            started = time.monotonic()
            arn = p.create_batch_inference_job(
                jobName="batch",
                solutionVersionArn=version,
                roleArn="arn:aws:iam::123456789012:role/PersonalizeRole",
                jobInput={"s3DataSource": {"path": f"file://{source}"}},
                jobOutput={"s3DataDestination": {"path": f"file://{out}/"}},
            )["batchInferenceJobArn"]
            while True:
                job = p.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]
                if job["status"] in ("ACTIVE", "CREATE FAILED"):
                    break
                time.sleep(0.1)
            seconds = time.monotonic() - started
            if job["status"] != "ACTIVE":
                raise SystemExit(f"the job failed: {job.get('failureReason')}")
            lines = (out / "users.json.out").read_text().splitlines()
            good = sum(
                1 for line in lines if len(json.loads(line)["output"]["recommendedItems"]) == 25
            )
        finally:
            engine.terminate()
            engine.wait(timeout=30)
    target = TARGETS.get(args.data)
    verdict = (
        f"target <= {target:.0f} s: {'MET' if seconds <= target else 'NOT MET'}"
        if target
        else "no target at this size"
    )
    print(
        f"CreateBatchInferenceJob → ACTIVE for {len(users)} users of {args.data} (numResults 25, "
        f"{os.cpu_count()} CPUs): {seconds:.1f} s; {verdict}; {good}/{len(lines)} lines of "
        "25 items"
    )


if __name__ == "__main__":
    main()
