"""Faults survived (issue 20), a longer run than the CI test: `kill -9` of each service of
a running `videorecs up`, several rounds, under a steady load through the web app.

    .venv/bin/python -m bench.faults [--rate 50] [--rounds 3] [--settle 5] [--no-spares]
                                     [--services engine catalog ...] [--recipes ...]

Starts `videorecs up` on a fresh state folder in a temp directory (all recipes unless
--recipes), waits until every warm spare is ready, then in each round kills every service
in turn (services/cli/faults.py: the load, the kill, the tally). Prints each kill's
figures, then per service the worst figures beside the targets:

    back     kill → the service's /healthz answers again       target ≤ 3 s
    others   failed requests of kinds that do not need it     target 0
    late     bad answers sent 0.5 s after it was back         target 0
    lost     registry models, datasets, versions, campaigns   target none

`--no-spares` measures cold restarts (no warm spare process per service).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from services.cli.faults import (
    LATE_GRACE_SECONDS,
    TARGET_BACK_SECONDS,
    FaultResult,
    engine_inventory,
    read_services,
    registry_inventory,
    run_faults,
    table,
    videorecs_up,
)
from services.cli.pipeline import ALL_RECIPES
from services.cli.ports import free_port_block
from services.cli.topology import SERVICES

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 900  # a first start trains every recipe; slower on a busy machine


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def summary(results: list[FaultResult], services: list[str]) -> list[str]:
    """Per service, the worst kill of all rounds beside the targets."""
    lines = [f"{'service':12} {'kills':>5} {'back max (s)':>12} {'whole max (s)':>13} "
             f"{'failed':>7} {'degraded':>8} {'others':>6} {'late':>4}  verdict"]
    for service in services:
        mine = [r for r in results if r.service == service]
        backs = [r.back_seconds for r in mine]
        back = None if None in backs else max(b for b in backs if b is not None)
        whole = max((r.whole_seconds or 0.0) for r in mine)
        failed = sum(sum(r.failed.values()) for r in mine)
        degraded = sum(sum(r.degraded.values()) for r in mine)
        others = sum(len(r.bystander_failures) for r in mine)
        late = sum(len(r.late_bad) for r in mine)
        ok = back is not None and back <= TARGET_BACK_SECONDS and others == 0 and late == 0
        shown = "never" if back is None else f"{back:.2f}"
        lines.append(f"{service:12} {len(mine):>5} {shown:>12} {whole:>13.2f} {failed:>7} "
                     f"{degraded:>8} {others:>6} {late:>4}  {_verdict(ok)}")
    lines.append(f"targets: back <= {TARGET_BACK_SECONDS:g} s, others = 0, late = 0 (bad "
                 f"answers sent {LATE_GRACE_SECONDS:g} s after the service was back)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get(
        "MOVIELENS_DIR", ROOT.parent / "shared/datasets/ml-100k")))
    parser.add_argument("--posters", type=Path, default=None,
                        help="default: MOVIELENS_POSTERS, else ml-100k-posters/u.item beside "
                        "the data")
    parser.add_argument("--rate", type=float, default=50.0, help="requests/s (default 50)")
    parser.add_argument("--rounds", type=int, default=3, help="kills per service (default 3)")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds of load after each service is back (default 5)")
    parser.add_argument("--services", nargs="+", choices=SERVICES, default=list(SERVICES))
    parser.add_argument("--recipes", nargs="+", choices=ALL_RECIPES, default=list(ALL_RECIPES))
    parser.add_argument("--no-spares", action="store_true",
                        help="run `up --no-spares`: every restart starts cold")
    args = parser.parse_args()
    posters = args.posters or Path(os.environ.get(
        "MOVIELENS_POSTERS", args.data.parent / "ml-100k-posters" / "u.item"))
    options = ["--recipes", *args.recipes, *(["--no-spares"] if args.no_spares else [])]
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
          f"{args.rate:g} req/s, {args.rounds} round(s), settle {args.settle:g} s, "
          f"{'no spares' if args.no_spares else 'warm spares'}")

    with tempfile.TemporaryDirectory(prefix="videorecs-faults-") as tmp:
        workdir = Path(tmp)
        state = workdir / ".data"
        started = time.monotonic()
        with videorecs_up(workdir, data=args.data, posters=posters, base=free_port_block(),
                          timeout=START_TIMEOUT, options=options) as run:
            print(f"videorecs up ready in {time.monotonic() - started:.1f} s")
            engine_url = read_services(state)["engine"]["url"]
            before = engine_inventory(state, engine_url), registry_inventory(run.url)
            results: list[FaultResult] = []
            for number in range(1, args.rounds + 1):
                round_results = asyncio.run(run_faults(
                    run.url, state, args.services, rate=args.rate, settle=args.settle))
                print(f"\nround {number} (load average {os.getloadavg()[0]:.2f})")
                print(table(round_results))
                results += round_results
            after = engine_inventory(state, engine_url), registry_inventory(run.url)
            restarts = {name: row["restarts"] for name, row in read_services(state).items()}

    print("\nworst of all rounds")
    print("\n".join(summary(results, args.services)))
    lost = _lost(before, after)
    print(f"data lost: {lost or 'none'} (target none: {_verdict(not lost)})")
    print(f"restarts recorded in services.json: {restarts}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def _lost(before: tuple[dict[str, list[str]], list[str]],
          after: tuple[dict[str, list[str]], list[str]]) -> str:
    """What was there before the kills and is not after (an empty string if nothing)."""
    (engine_before, models_before), (engine_after, models_after) = before, after
    missing = [f"{kind}: {sorted(set(arns) - set(engine_after.get(kind, [])))}"
               for kind, arns in engine_before.items()
               if set(arns) - set(engine_after.get(kind, []))]
    if set(models_before) - set(models_after):
        missing.append(f"registry models: {sorted(set(models_before) - set(models_after))}")
    return "; ".join(missing)


if __name__ == "__main__":
    main()
