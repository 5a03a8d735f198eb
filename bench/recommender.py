"""Recommender benchmark: the two-model comparison at a constant request rate.

    .venv/bin/python -m bench.recommender [--rate 200] [--duration 15] [--second hrnn|popularity]

Starts the real stack on loopback (engine, catalog, registry, recommender under uvicorn,
ACCESS_LOG=false, SQLite databases) with services/cli/stack.py, trains the ml-100k
campaigns the comparison needs on the local engine, then sends
`GET /users/{id}/recommendations?models=A,B` for random user ids at a constant rate.

Target: p99 <= 50 ms at 200 requests/s, and every response complete (status 200, no
block with an error, each block holding the 25 items asked for).

The load comes from a small asyncio constant-rate loop (aiohttp) rather than hey or wrk,
because every request varies its user id (hey and wrk hit one fixed URL, and Debian's wrk
has no rate option). Like wrk2, latency is measured from when a request was *scheduled*,
so a server that falls behind cannot hide its queueing delay.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.loadgen import collector_paused
from services.cli.stack import start_stack

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared/datasets/ml-100k"
DEFAULT_POSTERS = ROOT.parent / "shared/datasets/ml-100k-posters/u.item"
NUM = 25
USERS = 943
TARGET_P99_MS = 50.0
WARM_SECONDS = 2.0
# The second model of the comparison: (recipe, registry model name from the pipeline).
SECOND = {
    "popularity": ("aws-popularity-count", "Popular Movies"),
    "hrnn": ("aws-hrnn", "HRNN Recommendations"),
}
FIRST = ("aws-user-personalization", "Personal Recommendations")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live children so far (Linux /proc)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


@dataclass
class Run:
    latencies_ms: list[float] = field(default_factory=list)
    campaign_ms: dict[str, list[float]] = field(default_factory=dict)
    failed: int = 0
    incomplete: int = 0
    problems: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    def note(self, problem: str) -> None:
        self.problems[problem] = self.problems.get(problem, 0) + 1


async def constant_rate(
    session: aiohttp.ClientSession, paths: list[str], *, rate: float, duration: float
) -> Run:
    """Send rate*duration requests on a fixed schedule; latency counted from schedule time."""
    run = Run()
    total = int(rate * duration)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def one(path: str, scheduled: float) -> None:
        try:
            async with session.get(path) as response:
                body = await response.json() if response.status == 200 else None
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            run.failed += 1
            run.note(type(exc).__name__)
            run.latencies_ms.append((loop.time() - scheduled) * 1000)
            return
        run.latencies_ms.append((loop.time() - scheduled) * 1000)
        if body is None:
            run.failed += 1
            run.note(f"HTTP {status}")
            return
        complete = True
        for block in body["blocks"]:
            name = block["model"]["name"]
            run.campaign_ms.setdefault(name, []).append(block["elapsed_ms"])
            if block["error"] is not None:
                complete = False
                run.note(f"{name}: {block['error'][:60]}")
            elif len(block["items"]) < NUM:
                complete = False
                run.note(f"{name}: {len(block['items'])} items")
        if not complete:
            run.incomplete += 1

    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(paths[i % len(paths)], scheduled)))
    await asyncio.gather(*tasks)
    run.elapsed = loop.time() - start
    return run


async def drive(base_url: str, models: str, args: argparse.Namespace) -> Run:
    rng = random.Random(42)
    paths = [
        f"/users/{rng.randint(1, USERS)}/recommendations?models={models}&num={NUM}"
        for _ in range(int(args.rate * args.duration) + 1)
    ]
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:
        # Warm the connection pools and the per-process caches at the same rate, then measure.
        warm = [
            f"/users/{rng.randint(1, USERS)}/recommendations?models={models}" for _ in range(400)
        ]
        await constant_rate(session, warm, rate=args.rate, duration=WARM_SECONDS)
        with collector_paused():
            return await constant_rate(session, paths, rate=args.rate, duration=args.duration)


def report(run: Run, args: argparse.Namespace) -> None:
    ms = run.latencies_ms
    requests = len(ms)
    p99 = percentile(ms, 99)
    print(
        f"two-model comparison: {requests} requests in {run.elapsed:.1f} s "
        f"({requests / run.elapsed:.1f} req/s, target {args.rate:.0f})"
    )
    print(
        f"latency from schedule: p50 {percentile(ms, 50):.1f} ms, p90 {percentile(ms, 90):.1f} ms, "
        f"p99 {p99:.1f} ms, max {max(ms):.1f} ms, mean {statistics.fmean(ms):.1f} ms"
    )
    for name, values in run.campaign_ms.items():
        print(
            f"  campaign call '{name}' (elapsed_ms in the block): "
            f"p50 {percentile(values, 50):.1f} ms, p99 {percentile(values, 99):.1f} ms"
        )
    print(f"failed requests: {run.failed}; incomplete responses: {run.incomplete}")
    for problem, count in sorted(run.problems.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {count:5d} x {problem}")
    ok = p99 <= TARGET_P99_MS and run.failed == 0 and run.incomplete == 0
    print(
        f"target p99 <= {TARGET_P99_MS:.0f} ms at {args.rate:.0f} req/s, every response "
        f"complete: {'MET' if ok else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds")
    parser.add_argument(
        "--second",
        choices=sorted(SECOND),
        default="popularity",
        help="the second model of the comparison",
    )
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("MOVIELENS_DIR", DEFAULT_DATA))
    )
    parser.add_argument(
        "--posters", type=Path, default=Path(os.environ.get("MOVIELENS_POSTERS", DEFAULT_POSTERS))
    )
    parser.add_argument(
        "--movies-cache-seconds",
        type=float,
        default=None,
        help="the recommender's MOVIES_CACHE_SECONDS (default: its own default; 0 = off)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes for the recommender"
    )
    args = parser.parse_args()
    second_recipe, second_name = SECOND[args.second]
    quiet = {"ACCESS_LOG": "false", "LOG_LEVEL": "WARNING"}
    # uvicorn reads its --workers default from WEB_CONCURRENCY.
    recommender_env = {**quiet, "WEB_CONCURRENCY": str(args.workers)}
    if args.movies_cache_seconds is not None:
        recommender_env["MOVIES_CACHE_SECONDS"] = str(args.movies_cache_seconds)
    print(
        f"recommender benchmark on {os.cpu_count()} CPUs; starting the stack and training "
        f"{FIRST[0]} and {second_recipe} ..."
    )
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="bench-recommender-") as tmp,
        start_stack(
            Path(tmp),
            movielens_dir=args.data,
            posters_file=args.posters,
            recipes=(FIRST[0], second_recipe),
            with_frontend=False,
            extra_env={
                "engine": quiet,
                "catalog": quiet,
                "registry": quiet,
                "recommender": recommender_env,
            },
        ) as stack,
    ):
        print(f"stack ready in {time.perf_counter() - started:.1f} s")
        models = f"{stack.model_ids[FIRST[1]]},{stack.model_ids[second_name]}"
        cache = "default" if args.movies_cache_seconds is None else args.movies_cache_seconds
        print(
            f"GET /users/{{id}}/recommendations?models={models}&num={NUM} "
            f"('{FIRST[1]}' vs '{second_name}', exclude_rated by the campaign filter, "
            f"MOVIES_CACHE_SECONDS={cache}, {args.workers} recommender worker(s)), "
            f"{args.rate:.0f} req/s for {args.duration:.0f} s, random user ids"
        )
        pids = {name: child.process.pid for name, child in stack.children.items()}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        load_before = os.getloadavg()[0]
        own_before = time.process_time()
        run = asyncio.run(drive(stack.recommender_url, models, args))
        answered = len(run.latencies_ms) + int(args.rate * WARM_SECONDS)
        spent = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
        spent["load generator"] = time.process_time() - own_before
        report(run, args)
        # The machine is shared: say how busy it was and where the CPU went.
        print(
            "CPU per answered request (warm-up included): "
            + ", ".join(f"{name} {sec / answered * 1000:.2f} ms" for name, sec in spent.items())
        )
        print(f"1-min load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
