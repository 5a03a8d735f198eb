"""GetRecommendations throughput and latency of the engine, beside the framework's ceiling.

    .venv/bin/python -m bench.engine [--duration 10] [--connections 10]

Trains ml-100k (the lab's data: rating > 3.6) campaigns in a temporary engine (SQLite,
file artifacts) through boto3, then drives `POST /recommendations` with wrk (a Lua script
varying userId over the 943 users) against the engine under uvicorn (one worker, uvloop,
httptools, ACCESS_LOG=false), and the same with a trivial FastAPI endpoint in the same
run: the ceiling of the framework on this machine. Prints req/s, p50/p99 and the ratio.
Every engine request is signed (SigV4) and verified; an engine with
ENGINE_ALLOW_ANONYMOUS=true serves the same campaigns unsigned beside it.
Targets: >= 1500 req/s with p99 <= 10 ms, >= 0.7 of the ceiling, signed >= 0.9 of
unsigned. The load generator shares the CPU with the server, so compare figures from
the same machine only.

The engine keeps each history's finished scores between requests (SCORE_CACHE_MB), and
the 943 users fit, so after the warm-up a user-personalization request reuses them; the
row "score cache off" is a second engine on the same campaigns with SCORE_CACHE_MB=0,
where every request computes its scores (a user's first request after a new event).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import httpx
import orjson
from botocore.config import Config
from fastapi import FastAPI, Request
from fastapi.responses import Response

from services.cli.ports import free_port
from services.common.aws import sigv4_headers

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
TIME_SHIFT = 660833618
SCHEMA = json.dumps(
    {
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
)

# The ceiling: a trivial FastAPI endpoint that reads the body and answers a fixed 25-item list.
ceiling_app = FastAPI()
_FIXED = orjson.dumps(
    {
        "itemList": [{"itemId": str(i), "score": 0.01} for i in range(25)],
        "recommendationId": "RID-00000000-0000-0000-0000-000000000000",
    }
)


@ceiling_app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@ceiling_app.post("/recommendations")
async def fixed_recommendations(request: Request) -> Response:
    await request.body()
    return Response(_FIXED, media_type="application/json")


# Each request is one of the 943 users' bodies, signed beforehand (SigV4 with the bench's
# key pair; valid 15 minutes): the engine verifies every one in full, as it would a
# client's. The unsigned runs send the same bodies without the Authorization header.
LUA = """
local bodies = {%(bodies)s}
local auths = {%(auths)s}
local stamp = "%(stamp)s"
local requests = {}
init = function(args)
  for i = 1, #bodies do
    local headers = {["Content-Type"] = "application/json"}
    if auths[i] ~= "" then
      headers["Authorization"] = auths[i]
      headers["X-Amz-Date"] = stamp
    end
    requests[i] = wrk.format("POST", "/recommendations", headers, bodies[i])
  end
end
local counter = 0
request = function()
  counter = counter + 1
  return requests[(counter %% #requests) + 1]
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), errors))
end
"""


def engine_settings(*, database_url: str, artifacts: Path, import_roots: str) -> dict[str, str]:
    """A bench engine's environment: quiet, quick status steps, a fresh SigV4 key pair
    (ENGINE_ACCESS_KEY_ID / ENGINE_SECRET_ACCESS_KEY, which the clients then sign with)."""
    return {
        "DATABASE_URL": database_url,
        "ARTIFACTS_URL": f"file://{artifacts}",
        "ACCESS_LOG": "false",
        "LOG_LEVEL": "WARNING",
        "STATUS_STEP_SECONDS": "0.05",
        "IMPORT_ROOTS": import_roots,
        "ENGINE_ACCESS_KEY_ID": "VRAKBENCH" + secrets.token_hex(6).upper(),
        "ENGINE_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
    }


def start(app: str, env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--workers",
        "1",
        "--no-access-log",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if (
                httpx.get(
                    f"{url}/healthz" if "engine" in app else f"{url}/docs", timeout=1
                ).status_code
                == 200
            ):
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{app} did not start:\n{log.read_text()}")


def wait(describe, key: str, **kwargs: str) -> dict:  # type: ignore[no-untyped-def]
    while True:
        resource = describe(**kwargs)[key]
        if resource["status"] in ("ACTIVE", "CREATE FAILED"):
            if resource["status"] != "ACTIVE":
                raise SystemExit(f"{key} failed: {resource}")
            return resource
        time.sleep(0.1)


def interactions_dataset(p: Any, name: str) -> tuple[str, str]:
    """A new dataset group and its ACTIVE Interactions dataset (USER_ID, ITEM_ID, TIMESTAMP)."""
    schema = p.create_schema(name=f"{name}-schema", schema=SCHEMA)["schemaArn"]
    group = p.create_dataset_group(name=name)["datasetGroupArn"]
    wait(p.describe_dataset_group, "datasetGroup", datasetGroupArn=group)
    dataset = p.create_dataset(
        name=name, schemaArn=schema, datasetGroupArn=group, datasetType="INTERACTIONS"
    )["datasetArn"]
    wait(p.describe_dataset, "dataset", datasetArn=dataset)
    return group, dataset


def train_campaigns(
    url: str, data: Path, recipes: list[str], keys: dict[str, str]
) -> dict[str, str]:
    kw = {
        "endpoint_url": url,
        "region_name": REGION,
        "aws_access_key_id": keys["ENGINE_ACCESS_KEY_ID"],
        "aws_secret_access_key": keys["ENGINE_SECRET_ACCESS_KEY"],
        "config": Config(retries={"max_attempts": 1}),
    }
    p = boto3.client("personalize", **kw)
    group, dataset = interactions_dataset(p, "bench")
    job = p.create_dataset_import_job(
        jobName="bench", datasetArn=dataset, dataSource={"dataLocation": f"file://{data}"}
    )["datasetImportJobArn"]
    wait(p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job)
    campaigns = {}
    for recipe in recipes:
        solution = p.create_solution(
            name=recipe, datasetGroupArn=group, recipeArn=f"arn:aws:personalize:::recipe/{recipe}"
        )["solutionArn"]
        wait(p.describe_solution, "solution", solutionArn=solution)
        started = time.monotonic()
        version = p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        wait(p.describe_solution_version, "solutionVersion", solutionVersionArn=version)
        print(
            f"trained {recipe} in {time.monotonic() - started:.1f} s (wall, incl. status steps)",
            flush=True,
        )
        campaign = p.create_campaign(name=recipe, solutionVersionArn=version)["campaignArn"]
        wait(p.describe_campaign, "campaign", campaignArn=campaign)
        campaigns[recipe] = campaign
    return campaigns


def lua_script(url: str, campaign: str, keys: dict[str, str] | None) -> str:
    """The wrk script: one body per user, each signed with `keys` (None: unsigned)."""
    bodies, auths = [], []
    when = datetime.datetime.now(datetime.UTC)
    stamp = when.strftime("%Y%m%dT%H%M%SZ")  # one X-Amz-Date for every request
    for user in range(1, 944):
        body = f'{{"campaignArn":"{campaign}","userId":"{user}","numResults":25}}'
        bodies.append(body)
        if keys is None:
            auths.append("")
            continue
        signed = sigv4_headers(
            url + "/recommendations", key_id=keys["ENGINE_ACCESS_KEY_ID"],
            secret=keys["ENGINE_SECRET_ACCESS_KEY"], body=body.encode(), region=REGION,
            headers={"Content-Type": "application/json"}, when=when,
        )
        auths.append(signed["Authorization"])
    as_lua = ",".join
    return LUA % {
        "bodies": as_lua(json.dumps(b) for b in bodies),
        "auths": as_lua(json.dumps(a) for a in auths),
        "stamp": stamp,
    }


def run_wrk(
    url: str, campaign: str, *, duration: int, connections: int, script: Path,
    keys: dict[str, str] | None,
) -> dict[str, float]:
    script.write_text(lua_script(url, campaign, keys))
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(script), url]
    output = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+)", output)
    if match is None:
        raise SystemExit(f"unexpected wrk output:\n{output}")
    requests, duration_us, p50, p99, errors = map(int, match.groups())
    return {
        "rps": requests / (duration_us / 1e6),
        "p50_ms": p50 / 1000,
        "p99_ms": p99 / 1000,
        "errors": errors,
        "requests": requests,
    }


def lab_csv(movielens: Path, out: Path) -> None:
    lines = ["USER_ID,ITEM_ID,TIMESTAMP"]
    for line in (movielens / "u.data").read_text().splitlines():
        user, item, rating, ts = line.split("\t")
        if int(rating) > 3.6:
            lines.append(f"{user},{item},{int(ts) + TIME_SHIFT}")
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per target")
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument(
        "--movielens",
        type=Path,
        default=Path(os.environ.get("MOVIELENS_DIR", ROOT.parent / "shared/datasets/ml-100k")),
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp_name:
        tmp = Path(tmp_name)
        lab_csv(args.movielens, tmp / "interactions.csv")
        settings = engine_settings(  # interactions.csv is written in tmp
            database_url=f"sqlite:///{tmp / 'engine.db'}", artifacts=tmp / "artifacts",
            import_roots=str(tmp),
        )
        keys = {k: settings.pop(k) for k in ("ENGINE_ACCESS_KEY_ID", "ENGINE_SECRET_ACCESS_KEY")}
        env = settings
        processes: list[subprocess.Popen[bytes]] = []
        try:
            trainer, trainer_url = start(
                "services.engine.main:app", {**env, **keys}, tmp / "trainer.log"
            )
            processes.append(trainer)
            ceiling, ceiling_url = start(
                "bench.engine:ceiling_app", {"LOG_LEVEL": "WARNING"}, tmp / "ceiling.log"
            )
            processes.append(ceiling)
            campaigns = train_campaigns(
                trainer_url,
                tmp / "interactions.csv",
                ["aws-user-personalization", "aws-popularity-count"],
                keys,
            )
            # Every engine measured is a fresh process serving the same campaigns, so the
            # signed and unsigned rows differ in the signature check alone (the trainer's
            # heap, grown by the import and training, would tilt the comparison).
            trainer.terminate()
            trainer.wait(timeout=15)
            processes.remove(trainer)
            engine, engine_url = start(
                "services.engine.main:app", {**env, **keys}, tmp / "engine.log"
            )
            processes.append(engine)
            cold, cold_url = start(
                "services.engine.main:app",
                {**env, **keys, "SCORE_CACHE_MB": "0"},
                tmp / "cold.log",
            )
            processes.append(cold)
            # The same campaigns served by an engine that checks no signature: what the
            # verification costs is the difference between the two rows.
            anonymous, anonymous_url = start(
                "services.engine.main:app",
                {**env, "ENGINE_ALLOW_ANONYMOUS": "true"},
                tmp / "anonymous.log",
            )
            processes.append(anonymous)
            personal = campaigns["aws-user-personalization"]
            popular = campaigns["aws-popularity-count"]
            results = {}
            for name, url, campaign, signing in [
                ("ceiling (trivial FastAPI)", ceiling_url, "none", None),
                ("engine aws-user-personalization", engine_url, personal, keys),
                ("  unsigned (anonymous engine)", anonymous_url, personal, None),
                ("  score cache off (informative)", cold_url, personal, keys),
                ("engine aws-popularity-count", engine_url, popular, keys),
                ("  unsigned (anonymous engine) ", anonymous_url, popular, None),
            ]:
                run_wrk(url, campaign, duration=2, connections=args.connections,
                        script=tmp / "warm.lua", keys=signing)
                results[name] = run_wrk(
                    url,
                    campaign,
                    duration=args.duration,
                    connections=args.connections,
                    script=tmp / "load.lua",
                    keys=signing,
                )
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=15)
    ceiling_rps = results["ceiling (trivial FastAPI)"]["rps"]
    print(
        f"\nwrk -t1 -c{args.connections} -d{args.duration}s, POST /recommendations, numResults=25, "
        f"userId varying over 943 users; {os.cpu_count()} CPUs shared by wrk and the server"
    )
    print(
        f"{'target':34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs ceiling':>11}"
    )
    for name, r in results.items():
        print(
            f"{name:34} {r['rps']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['errors']:7d} "
            f"{r['rps'] / ceiling_rps:11.2f}"
        )
    names = list(results)
    for index, name in enumerate(names):
        if name.startswith("engine"):
            r = results[name]
            unsigned = results[names[index + 1]]
            signed_ratio = r["rps"] / unsigned["rps"]
            ok = (
                r["rps"] >= 1500
                and r["p99_ms"] <= 10
                and r["rps"] / ceiling_rps >= 0.7
                and signed_ratio >= 0.9
                and r["errors"] == 0
            )
            print(
                f"{name} (signed): {signed_ratio:.2f} of unsigned; targets (>= 1500 req/s, "
                f"p99 <= 10 ms, >= 0.7 of ceiling, signed >= 0.9 of unsigned, no errors): "
                f"{'MET' if ok else 'NOT MET'}"
            )


if __name__ == "__main__":
    main()
