"""The engine's data path at MovieLens-25M size, end to end through the boto3 API.

    .venv/bin/python -m bench.scale                      # 25M interactions, SQLite and PostgreSQL
    .venv/bin/python -m bench.scale --size 5m            # the same report, quickly
    .venv/bin/python -m bench.scale --backends sqlite    # one backend only

Generates an interactions CSV of the MovieLens 25M shape (25M interactions, 162,541
users, 59,047 items, Zipf-like item popularity, timestamps spread over 1995-2019; 5M
keeps the shape at a fifth of the users), then for each database backend starts a fresh
engine (uvicorn, file:// artifact store, its own database) and through boto3, as a user
would: imports the file (CreateDatasetImportJob to ACTIVE), trains
aws-user-personalization and aws-sims (CreateSolutionVersion to ACTIVE), deploys the
first (CreateCampaign to ACTIVE), then times 1,000 sequential GetRecommendations for
random users. A sampler reads /proc every 0.2 s and keeps the peak of the summed
resident memory of the engine's whole process tree (the API process and its training
worker). Disk is what the dataset's Parquet files take, and the database file (SQLite).
Every figure is printed beside its target (issue 15, 2 cores and 24 GB).

PostgreSQL: --postgres-url (an admin URL; a database is created per run and dropped
after) or $TEST_POSTGRES_URL, else scripts/pg start.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from botocore.config import Config

from bench.engine import REGION, ROOT, engine_settings, interactions_dataset, start, wait

SHAPES = {  # interactions, users, items
    "25m": (25_000_095, 162_541, 59_047),
    "5m": (5_000_019, 32_508, 59_047),
}
TARGETS = {  # (25M, 5M)
    "import": (120.0, 25.0),
    "train aws-user-personalization": (600.0, 90.0),
    "train aws-sims": (300.0, 60.0),
    "campaign": (60.0, 15.0),
    "p99": (10.0, 10.0),
    "memory": (8.0, 2.5),
    "disk": (1.0, 0.25),
}
RECIPES = ["aws-user-personalization", "aws-sims"]
START_1995 = 788_918_400
END_2019 = 1_574_000_000


def generate(path: Path, size: str, seed: int = 0) -> None:
    """Write the interactions CSV (USER_ID,ITEM_ID,TIMESTAMP) in blocks of users."""
    total, n_users, n_items = SHAPES[size]
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_items + 1)
    cdf = np.cumsum(rng.permutation(weights / weights.sum()))
    # Per-user history lengths: log-normal, at least 20 (MovieLens' rule), scaled to total.
    lengths = np.maximum(20, rng.lognormal(mean=4.3, sigma=1.05, size=n_users))
    lengths = np.maximum(20, (lengths * total / lengths.sum()).astype(np.int64))
    lengths = np.minimum(lengths, n_items // 2)
    # Rounding left the sum a little off the total: even it out over random users.
    gap = total - int(lengths.sum())
    chosen = rng.choice(np.flatnonzero(lengths > 21), size=abs(gap), replace=False)
    lengths[chosen] += 1 if gap > 0 else -1
    assert int(lengths.sum()) == total
    first_seen = rng.integers(START_1995, END_2019 - 86_400 * 30, size=n_users)
    block = 4096
    schema = pa.schema([("USER_ID", pa.string()), ("ITEM_ID", pa.string()),
                        ("TIMESTAMP", pa.int64())])
    options = pacsv.WriteOptions(quoting_style="none")
    with pacsv.CSVWriter(str(path), schema, write_options=options) as writer:
        for begin in range(0, n_users, block):
            stop = min(begin + block, n_users)
            lens = lengths[begin:stop]
            owners = np.repeat(np.arange(begin, stop), lens)
            items = np.minimum(np.searchsorted(cdf, rng.random(len(owners))), n_items - 1)
            # A user's ratings come within months of their first one, as in MovieLens.
            times = first_seen[owners] + rng.integers(0, 86_400 * 120, size=len(owners))
            writer.write_table(
                pa.table(
                    {
                        "USER_ID": pa.array(owners + 1).cast(pa.string()),
                        "ITEM_ID": pa.array(items + 1).cast(pa.string()),
                        "TIMESTAMP": pa.array(times, pa.int64()),
                    },
                    schema=schema,
                )
            )


class TreeMemory:
    """Peak of the summed RSS of a process and all its descendants, sampled."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.pid, self.every, self.peak = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
        out, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, []))
        return out

    def _run(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.is_set():
            total = 0
            for pid in self._tree():
                try:
                    total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
                except (OSError, IndexError, ValueError):
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _admin_sql(admin: str, statement: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


def _postgres_database(admin_url: str | None) -> tuple[str, str, str]:
    """(engine DATABASE_URL, admin URL, database name) of a new PostgreSQL database."""
    admin = admin_url or os.environ.get("TEST_POSTGRES_URL")
    if not admin:
        admin = subprocess.run(
            [str(ROOT / "scripts/pg"), "start"], capture_output=True, text=True, check=True
        ).stdout.strip()
    name = f"bench_{uuid.uuid4().hex[:10]}"
    _admin_sql(admin, f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}", admin, name


def wait_for_final(p: Any, job: str) -> dict:
    while True:
        described = p.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]
        if described["status"] in ("ACTIVE", "CREATE FAILED"):
            return described
        time.sleep(0.1)


def corrupt(source: Path, target: Path, row: int) -> None:
    """A copy of `source` whose row `row` (the header is row 1) has a TIMESTAMP of 'soon'."""
    with open(source, "rb") as src, open(target, "wb") as out:
        for number, line in enumerate(src, start=1):
            if number == row:
                line = line.rsplit(b",", 1)[0] + b",soon\n"
            out.write(line)


def run_backend(
    backend: str, csv: Path, size: str, tmp: Path, args: argparse.Namespace, bad: Path | None
) -> dict:
    folder = tmp / backend
    folder.mkdir()
    admin = name = None
    if backend == "sqlite":
        database = f"sqlite+aiosqlite:///{folder / 'engine.db'}"
    else:
        database, admin, name = _postgres_database(args.postgres_url)
    keys = env = engine_settings(
        database_url=database, artifacts=folder / "artifacts", import_roots=str(csv.parent)
    )
    figures: dict = {}
    engine, url = start("services.engine.main:app", env, folder / "engine.log")
    memory = TreeMemory(engine.pid)
    try:
        kw = {
            "endpoint_url": url,
            "region_name": REGION,
            "aws_access_key_id": keys["ENGINE_ACCESS_KEY_ID"],
            "aws_secret_access_key": keys["ENGINE_SECRET_ACCESS_KEY"],
            "config": Config(retries={"max_attempts": 1}, read_timeout=600),
        }
        p = boto3.client("personalize", **kw)
        runtime = boto3.client("personalize-runtime", **kw)
        group, dataset = interactions_dataset(p, "scale")
        started = time.monotonic()
        job = p.create_dataset_import_job(
            jobName="scale", datasetArn=dataset, dataSource={"dataLocation": f"file://{csv}"}
        )["datasetImportJobArn"]
        wait(p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job)
        figures["import"] = time.monotonic() - started
        print(f"  {backend}: import {figures['import']:.1f} s", flush=True)
        versions = {}
        for recipe in RECIPES:
            solution = p.create_solution(
                name=recipe, datasetGroupArn=group,
                recipeArn=f"arn:aws:personalize:::recipe/{recipe}",
            )["solutionArn"]
            wait(p.describe_solution, "solution", solutionArn=solution)
            started = time.monotonic()
            version = p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
            wait(p.describe_solution_version, "solutionVersion", solutionVersionArn=version)
            figures[f"train {recipe}"] = time.monotonic() - started
            versions[recipe] = version
            print(f"  {backend}: {recipe} {figures[f'train {recipe}']:.1f} s", flush=True)
        started = time.monotonic()
        campaign = p.create_campaign(
            name="scale", solutionVersionArn=versions["aws-user-personalization"]
        )["campaignArn"]
        wait(p.describe_campaign, "campaign", campaignArn=campaign)
        figures["campaign"] = time.monotonic() - started
        users = np.random.default_rng(1).integers(1, SHAPES[size][1] + 1, size=args.requests)
        runtime.get_recommendations(campaignArn=campaign, userId="1")  # the connection
        latencies = []
        for user in users.tolist():
            t0 = time.perf_counter()
            runtime.get_recommendations(campaignArn=campaign, userId=str(user), numResults=25)
            latencies.append(time.perf_counter() - t0)
        ms = np.array(latencies) * 1000
        figures["p50"] = float(np.percentile(ms, 50))
        figures["p99"] = float(np.percentile(ms, 99))
        if bad is not None:
            # The same file with one malformed row near its end: the job must fail naming
            # it, import nothing (the campaign's answers stay) and keep within memory.
            before = runtime.get_recommendations(campaignArn=campaign, userId="1")["itemList"]
            started = time.monotonic()
            job = p.create_dataset_import_job(
                jobName="scale-bad", datasetArn=dataset, dataSource={"dataLocation": f"file://{bad}"}
            )["datasetImportJobArn"]
            failed = wait_for_final(p, job)
            figures["bad import"] = time.monotonic() - started
            figures["bad reason"] = f"{failed['status']}: {failed.get('failureReason')}"
            after = runtime.get_recommendations(campaignArn=campaign, userId="1")["itemList"]
            figures["bad kept"] = before == after
    finally:
        figures["memory"] = memory.stop() / 1024**3
        engine.terminate()
        engine.wait(timeout=30)
        if admin and name:
            _admin_sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    figures["disk"] = _size(folder / "artifacts" / "datasets") / 1024**3
    if backend == "sqlite":
        figures["database"] = _size(folder / "engine.db") / 1024**3
    return figures


def report(results: dict[str, dict], size: str, csv_bytes: int) -> None:
    column = 0 if size == "25m" else 1
    total, users, items = SHAPES[size]
    print(
        f"\n{total:,} interactions, {users:,} users, {items:,} items "
        f"(CSV {csv_bytes / 1024**2:.0f} MB); {os.cpu_count()} CPUs"
    )
    backends = list(results)
    print(f"{'step':34}" + "".join(f"{b:>14}" for b in backends) + f"{'target':>12}")
    rows = [
        ("import (CSV to ACTIVE), s", "import", "≤"),
        ("train aws-user-personalization, s", "train aws-user-personalization", "≤"),
        ("train aws-sims, s", "train aws-sims", "≤"),
        ("CreateCampaign to ACTIVE, s", "campaign", "≤"),
        ("GetRecommendations p50, ms", "p50", None),
        ("GetRecommendations p99, ms", "p99", "≤"),
        ("peak memory engine+worker, GB", "memory", "≤"),
        ("dataset on disk (Parquet), GB", "disk", "≤"),
        ("SQLite file, GB", "database", None),
    ]
    for label, key, sign in rows:
        cells = []
        met = True
        for backend in backends:
            value = results[backend].get(key)
            cells.append(f"{value:>14.2f}" if value is not None else f"{'-':>14}")
            if sign and value is not None and value > TARGETS[key][column]:
                met = False
        target = f"{sign} {TARGETS[key][column]:g}" if sign else ""
        verdict = ("  met" if met else "  NOT MET") if sign else ""
        print(f"{label:34}" + "".join(cells) + f"{target:>12}{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SHAPES), default="25m")
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgres"],
                        default=["sqlite", "postgres"])
    parser.add_argument("--postgres-url", help="admin URL of a PostgreSQL server")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument(
        "--bad-row",
        type=int,
        default=None,
        help="then import a copy with this row malformed (default: 24,000,001 at 25m, "
        "4,800,001 at 5m; 0 skips it)",
    )
    parser.add_argument("--data-dir", type=Path,
                        help="keep the generated CSV here and reuse it (default: a temp dir)")
    args = parser.parse_args()
    if args.bad_row is None:
        args.bad_row = 24_000_001 if args.size == "25m" else 4_800_001
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp_name:
        tmp = Path(tmp_name)
        data_dir = (args.data_dir or tmp).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        csv = data_dir / f"interactions-{args.size}.csv"
        if not csv.exists():
            started = time.monotonic()
            partial = csv.with_suffix(".partial")
            generate(partial, args.size)
            partial.rename(csv)
            print(f"generated {csv.name} in {time.monotonic() - started:.0f} s", flush=True)
        results = {}
        bad = None
        if args.bad_row:
            bad = csv.with_name(f"bad-{args.bad_row}-{csv.name}")
            if not bad.exists():
                corrupt(csv, bad, args.bad_row)
        for backend in args.backends:
            print(f"{backend} ({datetime.datetime.now():%H:%M:%S}):", flush=True)
            results[backend] = run_backend(backend, csv, args.size, tmp, args, bad)
        report(results, args.size, csv.stat().st_size)
        for backend, figures in results.items():
            if "bad reason" in figures:
                print(
                    f"{backend}: row {args.bad_row:,} malformed: {figures['bad reason']} after "
                    f"{figures['bad import']:.1f} s; campaign answers unchanged: "
                    f"{figures['bad kept']} (peak memory above includes this import)"
                )


if __name__ == "__main__":
    main()
