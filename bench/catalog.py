"""Catalog benchmark: full ml-100k load time per database, then API latency at a fixed rate.

    .venv/bin/python -m bench.catalog [--backend sqlite|postgres|both] [--rate 200] [--duration 10]

Targets: a full load in <= 10 s on each database; p99 <= 20 ms at 200 requests/s for
GET /users/{id}/reviews and GET /movies/popular?genre=.

The load is driven by a small asyncio constant-rate loop rather than hey or wrk: each
request varies its user id or genre (hey and wrk hit one fixed URL), and Debian's wrk has
no rate option. Like wrk2, latency is measured from when a request was *scheduled*, so a
stalled server cannot hide its queueing delay (no coordinated omission).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import asyncpg
import httpx

from bench.loadgen import collector_paused
from services.catalog.genres import GENRES
from services.catalog.loader import load_movielens
from services.cli.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared/datasets/ml-100k"
DEFAULT_POSTERS = ROOT.parent / "shared/datasets/ml-100k-posters/u.item"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5433/videorecs"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


class Connection:
    """One keep-alive HTTP/1.1 connection, just enough for GETs of JSON.

    Written by hand because the load generator shares 2 cores with the server: httpx
    spends ~2 ms of CPU per request, which would show up as server latency, and hey/wrk
    cannot vary the URL per request.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def get(self, path: str) -> int:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def constant_rate(
    port: int, paths: list[str], *, rate: float, duration: float, connections: int = 16
) -> dict[str, float]:
    """Send rate*duration requests on a fixed schedule; latencies from schedule time."""
    total = int(rate * duration)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await Connection.open("127.0.0.1", port))
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def one(path: str, scheduled: float) -> None:
        nonlocal errors
        conn = await pool.get()
        try:
            if await conn.get(path) != 200:
                errors += 1
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            conn = await Connection.open("127.0.0.1", port)
        finally:
            pool.put_nowait(conn)
        latencies.append(loop.time() - scheduled)

    tasks = []
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(paths[i % len(paths)], scheduled)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    while not pool.empty():
        pool.get_nowait().close()
    ms = [x * 1000 for x in latencies]
    return {
        "requests": total,
        "errors": errors,
        "rate": total / elapsed,
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms),
        "mean": statistics.fmean(ms),
    }


# hey hits one fixed URL, so it is a cross-check of the varied asyncio load above.
HEY_PATHS = {
    "GET /users/{id}/reviews": "/users/1/reviews?limit=25",
    "GET /movies/popular?genre=": "/movies/popular?limit=25&genre=horror",
}
HEY_WORKERS = 4


def hey_constant_rate(url: str, args: argparse.Namespace) -> dict[str, float]:
    """Run hey at args.rate in total (its -q is per worker) and read its per-request CSV."""
    per_worker = args.rate / HEY_WORKERS
    cmd = ["hey", "-z", f"{args.duration:g}s", "-c", str(HEY_WORKERS), "-q", f"{per_worker:g}"]
    out = subprocess.run([*cmd, "-o", "csv", url], capture_output=True, text=True, check=True)
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    latencies = [float(row["response-time"]) * 1000 for row in rows]
    errors = sum(1 for row in rows if row["status-code"] != "200")
    return {
        "requests": len(rows),
        "rate": len(rows) / args.duration,
        "errors": errors,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report CPU per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(database_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ACCESS_LOG": "false",
        "LOG_LEVEL": "WARNING",
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "services.catalog.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


async def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited:\n{log.read_text()}")
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"uvicorn not ready:\n{log.read_text()}")


async def bench_backend(backend: str, args: argparse.Namespace, workdir: Path) -> None:
    pg_db = None
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'catalog.db'}"
    else:
        pg_db = f"bench_catalog_{uuid.uuid4().hex[:8]}"
        try:
            admin = await asyncpg.connect(args.postgres_url)
        except OSError as exc:
            raise SystemExit(
                f"PostgreSQL is not reachable at {args.postgres_url} ({exc}): start one with "
                "`scripts/pg start`, set BENCH_POSTGRES_URL, or pass --backend sqlite"
            ) from None
        await admin.execute(f'CREATE DATABASE "{pg_db}"')
        await admin.close()
        url = args.postgres_url.rsplit("/", 1)[0] + f"/{pg_db}"
    try:
        report = await load_movielens(database_url=url, data_dir=args.data, posters=args.posters)
        rows = {name: t.rows for name, t in report.tables.items()}
        print(f"[{backend}] full load (parse + migrate + insert): {report.seconds:.2f} s  {rows}")
        again = await load_movielens(database_url=url, data_dir=args.data, posters=args.posters)
        print(f"[{backend}] reload (no changes: {not again.changed}): {again.seconds:.2f} s")

        port = args.port or free_port()
        log = workdir / f"uvicorn-{backend}.log"
        process = start_server(url, port, log)
        try:
            await wait_ready(f"http://127.0.0.1:{port}", process, log)
            if process.poll() is not None:  # the port answered, but not our server
                raise RuntimeError(f"uvicorn exited; is port {port} taken?\n{log.read_text()}")
            rng = random.Random(42)
            scenarios = {
                "GET /users/{id}/reviews": [
                    f"/users/{rng.randint(1, 943)}/reviews?limit=25" for _ in range(5000)
                ],
                "GET /movies/popular?genre=": [
                    f"/movies/popular?limit=25&genre={g}"
                    for g in ["all", *(g.slug for g in GENRES)]
                ],
            }
            for name, paths in scenarios.items():
                # Warm the connections and caches at the same rate, then measure.
                await constant_rate(port, paths, rate=args.rate, duration=2)
                cpu_before = cpu_seconds(process.pid)
                with collector_paused():
                    r = await constant_rate(port, paths, rate=args.rate, duration=args.duration)
                cpu_ms = (cpu_seconds(process.pid) - cpu_before) * 1000 / r["requests"]
                verdict = "ok" if r["p99"] <= 20 and not r["errors"] else "MISSED"
                load = os.getloadavg()[0]
                print(
                    f"[{backend}] {name:28s} {r['requests']:.0f} req at {r['rate']:.1f}/s, "
                    f"errors {r['errors']:.0f}: p50 {r['p50']:.2f} ms, p95 {r['p95']:.2f} ms, "
                    f"p99 {r['p99']:.2f} ms, max {r['max']:.2f} ms  [{verdict}: p99 <= 20 ms] "
                    f"(server CPU {cpu_ms:.2f} ms/request, machine load {load:.1f})"
                )
            if shutil.which("hey"):
                for name, path in HEY_PATHS.items():
                    r = hey_constant_rate(f"http://127.0.0.1:{port}{path}", args)
                    verdict = "ok" if r["p99"] <= 20 and not r["errors"] else "MISSED"
                    print(
                        f"[{backend}] hey {name:24s} {r['requests']:.0f} req at "
                        f"{r['rate']:.1f}/s, errors {r['errors']:.0f}: p50 {r['p50']:.2f} ms, "
                        f"p99 {r['p99']:.2f} ms  [{verdict}: p99 <= 20 ms] (one fixed URL)"
                    )
            else:
                print(f"[{backend}] hey not installed (apt-get install hey): cross-check skipped")
        finally:
            process.terminate()
            process.wait(timeout=15)
    finally:
        if pg_db:
            admin = await asyncpg.connect(args.postgres_url)
            await admin.execute(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')
            await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("MOVIELENS_DIR", DEFAULT_DATA))
    )
    parser.add_argument(
        "--posters", type=Path, default=Path(os.environ.get("MOVIELENS_POSTERS", DEFAULT_POSTERS))
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL")
        or os.environ.get("TEST_POSTGRES_URL")
        or DEFAULT_PG,
    )
    parser.add_argument("--port", type=int, default=0, help="default: a free loopback port")
    args = parser.parse_args()
    print(
        f"catalog benchmark on {os.cpu_count()} CPUs: "
        f"{args.rate:.0f} req/s for {args.duration:.0f} s per endpoint; "
        f"load average now {os.getloadavg()[0]:.1f} (other work on the machine skews latency)"
    )
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as work:
        for backend in backends:
            await bench_backend(backend, args, Path(work))


if __name__ == "__main__":
    asyncio.run(main())
