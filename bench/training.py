"""Training time, peak memory and serving latency of every recipe.

    .venv/bin/python -m bench.training                 # ml-100k (lab data): every recipe
    .venv/bin/python -m bench.training --size 20m      # + synthetic MovieLens-20M-shaped data
    .venv/bin/python -m bench.training --size 20m --recipes aws-user-personalization

Each (recipe, dataset) runs `train_solution_version` (Personalize-protocol evaluation on a
90/10 user split, then the final fit on all data) in its own subprocess, which reports its
wall time and peak RSS (getrusage ru_maxrss), so runs do not pollute each other's memory
figures. Request latency is measured in the same subprocess on the final model: p50/p99
over `--requests` calls with the histories of random training users (num=25), one thread.

Synthetic 20M: 138,493 users, 26,744 items, 19.85M interactions: item popularity is
Zipf-like (exponent 1.0 over a shuffled catalogue), history lengths log-normal with a
minimum of 20 (ML-20M's rule) and a mean near 144; no repeated (user, item) pairs.
aws-user-personalization switches to ALS above `max_dense_items` (12,000) columns;
aws-hrnn is not run at that size (a full-softmax GRU over 27k items is hours of CPU) and
aws-sims only when asked (its co-occurrence pass is the slow part).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

from services.engine.recipes.base import TrainingData

RECIPES = [
    "aws-popularity-count",
    "aws-sims",
    "aws-similar-items",
    "aws-hrnn",
    "aws-user-personalization",
    "aws-personalized-ranking",
]
OVERSAMPLE = 2.5  # Zipf draws repeat popular items; enough draws to fill long histories
LARGE_DEFAULT = ["aws-popularity-count", "aws-user-personalization"]


def synthetic_20m(
    seed: int = 0, n_users: int = 138_493, n_items: int = 26_744, target: int = 20_000_263
) -> TrainingData:
    """MovieLens-20M-shaped implicit data (see the module docstring)."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_items + 1) ** 1.0
    popularity = rng.permutation(weights / weights.sum())
    cdf = np.cumsum(popularity)
    lengths = np.maximum(20, rng.lognormal(mean=4.3, sigma=1.05, size=n_users)).astype(np.int64)
    lengths = np.minimum(lengths, n_items // 2)
    lengths = np.maximum(20, (lengths * target / lengths.sum()).astype(np.int64))
    users_parts, items_parts = [], []
    block = 8192
    for start in range(0, n_users, block):
        stop = min(start + block, n_users)
        lens = lengths[start:stop]
        # Oversample, then keep the first `len` distinct items per user.
        draws = np.searchsorted(cdf, rng.random(int(lens.sum() * OVERSAMPLE) + 64))
        draws = np.minimum(draws, n_items - 1)
        owner = np.repeat(np.arange(start, stop), (lens * OVERSAMPLE).astype(np.int64) + 1)
        draws = draws[: len(owner)]
        owner = owner[: len(draws)]
        key = owner.astype(np.int64) * n_items + draws
        _, first = np.unique(key, return_index=True)
        first.sort()
        owner, draws = owner[first], draws[first]
        rank = np.arange(len(owner)) - np.searchsorted(owner, owner)
        keep = rank < lengths[owner]
        users_parts.append(owner[keep].astype(np.int32))
        items_parts.append(draws[keep].astype(np.int32))
    users = np.concatenate(users_parts)
    items = np.concatenate(items_parts)
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    timestamps = 1_000_000_000 + np.arange(len(users), dtype=np.int64)
    return TrainingData(
        user_ids=np.array([str(u) for u in range(n_users)], dtype=object),
        item_ids=np.array([str(i) for i in range(n_items)], dtype=object),
        users=users,
        items=items,
        timestamps=timestamps,
    )


def child(recipe: str, size: str, requests: int) -> None:
    """Train one recipe on one dataset and print a JSON line of figures."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(2)
    from bench import movielens
    from services.engine.recipes.training import train_solution_version

    started = time.perf_counter()
    data = movielens.lab_data() if size == "100k" else synthetic_20m()
    load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = train_solution_version(
        data, recipe_name=recipe, hyperparameters=None, perform_hpo=False
    )
    train_seconds = time.perf_counter() - started
    model = result.model
    histories = data.histories()
    rng = np.random.default_rng(1)
    users = rng.choice(np.flatnonzero([len(h) > 0 for h in histories]), size=requests)
    latencies = []
    with threadpool_limits(1):
        for user in users.tolist():
            history = histories[user]
            t0 = time.perf_counter()
            if model.recipe_type == "RELATED_ITEMS":
                model.similar_items(item=int(history[-1]), num=25)
            elif model.recipe_type == "PERSONALIZED_RANKING":
                model.rank(history=history, candidates=rng.choice(data.n_items, 25, replace=False))
            else:
                model.recommend(history=history, num=25)
            latencies.append(time.perf_counter() - t0)
    ms = np.array(latencies) * 1000
    print(
        json.dumps(
            {
                "recipe": recipe,
                "size": size,
                "interactions": int(len(data.users)),
                "users": int(data.n_users),
                "items": int(data.n_items),
                "load_s": round(load_seconds, 1),
                "train_s": round(train_seconds, 2),
                "peak_rss_gb": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2
                ),
                "p50_ms": round(float(np.percentile(ms, 50)), 3),
                "p99_ms": round(float(np.percentile(ms, 99)), 3),
                "p_at_10": result.metrics["precision_at_10"],
            }
        )
    )


def run(recipe: str, size: str, requests: int, timeout: float) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "bench.training",
        "--child",
        recipe,
        "--size",
        size,
        "--requests",
        str(requests),
    ]
    try:
        out = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    except subprocess.TimeoutExpired:
        return {"recipe": recipe, "size": size, "error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        return {
            "recipe": recipe,
            "size": size,
            "error": out.stderr.strip().splitlines()[-1:] or "failed",
        }
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--size", choices=["100k", "20m"], default="100k", help="20m adds the synthetic large set"
    )
    parser.add_argument(
        "--recipes",
        nargs="*",
        help="recipes to run (default: all at 100k; popularity and user-personalization at 20m)",
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.size, args.requests)
        return
    plan = [(r, "100k") for r in (args.recipes or RECIPES)]
    if args.size == "20m":
        plan += [(r, "20m") for r in (args.recipes or LARGE_DEFAULT)]
    print(
        f"{'recipe':28s}{'data':>6s}{'interactions':>14s}{'train s':>10s}{'peak GB':>9s}"
        f"{'p50 ms':>9s}{'p99 ms':>9s}{'P@10':>8s}"
    )
    total_100k = 0.0
    for recipe, size in plan:
        r = run(
            recipe, size, args.requests if size == "100k" else min(args.requests, 500), args.timeout
        )
        if "error" in r:
            print(f"{recipe:28s}{size:>6s}  ERROR {r['error']}")
            continue
        if size == "100k":
            total_100k += r["train_s"]
        print(
            f"{recipe:28s}{size:>6s}{r['interactions']:>14,d}{r['train_s']:>10.2f}{r['peak_rss_gb']:>9.2f}"
            f"{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}{r['p_at_10']:>8.4f}"
        )
    print(
        "\nml-100k: all recipes' train_solution_version (evaluation fit + final fit) together: "
        f"{total_100k:.1f} s "
        "(target ≤ 60 s for every recipe together)"
    )
    print(
        "Targets: recommend well under 1 ms on ml-100k; "
        "user-personalization on 20M ≤ 15 min, peak ≤ 12 GB"
    )


if __name__ == "__main__":
    main()
