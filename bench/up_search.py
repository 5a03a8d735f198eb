"""Choose user-personalization / HRNN knobs on validation users only (never the test folds).

    .venv/bin/python -m bench.up_search                       # the transition-kernel grid
    .venv/bin/python -m bench.up_search --grid transition_weight=0,0.5 transition_window=1,5
    .venv/bin/python -m bench.up_search --recipe aws-hrnn --grid epochs=5,20 --folds 1

The users are cut into `--folds` groups exactly as bench.accuracy's table 1 does (seed 42,
5 folds); for each fold the test group is dropped, and 10 % of the remaining (training)
users, drawn with their own seed, are validation users, scored as GetSolutionMetrics scores
test users (newest 10 % of each history relevant, top 25 queried from the rest). Every
figure is a ratio to popularity with the input removed on the same validation users, the
mean over folds; validation coverage is over ~90 users, so it runs lower than on the test
folds (~190 users).

`--test` scores the folds' test users instead, with models fitted on all their training
users (bench.accuracy's table 1): for confirming a choice made on validation, never for
making one.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch

from bench.accuracy import DATASETS, user_folds
from bench.fitting import fit
from services.engine import evaluation as ev
from services.engine.recipes.base import TrainingData

DEFAULT_GRID = {
    "transition_weight": ["0", "0.25", "0.5", "1"],
    "transition_window": ["1", "5"],
    "transition_half_life": ["2", "3"],
}
VALIDATION_FRACTION = 0.1


def validation_split(
    data: TrainingData, train_users: np.ndarray, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(fit users, validation users): a seeded 10 % of the training users validate."""
    shuffled = np.random.default_rng(seed).permutation(train_users)
    n_val = max(1, round(VALIDATION_FRACTION * len(shuffled)))
    return np.sort(shuffled[n_val:]), np.sort(shuffled[:n_val])


def parse_grid(items: list[str] | None) -> dict[str, list[str]]:
    if not items:
        return DEFAULT_GRID
    grid = {}
    for item in items:
        name, _, values = item.partition("=")
        grid[name] = values.split(",")
    return grid


def search(
    *,
    recipe: str,
    dataset: str,
    grid: dict[str, list[str]],
    folds: int,
    seed: int,
    test: bool = False,
) -> None:
    data: TrainingData = DATASETS[dataset][1]()
    combos = [dict(zip(grid, c, strict=True)) for c in itertools.product(*grid.values())]
    keys = ("precision_at_10", "normalized_discounted_cumulative_gain_at_10", "coverage")
    ratios: dict[int, list[tuple[float, float, float]]] = {i: [] for i in range(len(combos))}
    times: dict[int, list[float]] = {i: [] for i in range(len(combos))}
    for k, test_users in enumerate(user_folds(data, seed, 5)[:folds]):
        train = np.setdiff1d(ev.active_users(data), test_users)
        fit_users, val_users = validation_split(data, train, seed=seed + 1000 + k)
        if test:
            fit_users, val_users = train, test_users
        subset = data.subset_users(fit_users)
        popularity, _ = fit("aws-popularity-count", subset, {}, seed)
        base = ev.evaluate_test_users(popularity, data, val_users, digits=None, exclude_input=True)
        for i, hp in enumerate(combos):
            model, seconds = fit(recipe, subset, hp, seed)
            m = ev.evaluate_test_users(model, data, val_users, digits=None)
            ratios[i].append((m[keys[0]] / base[keys[0]], m[keys[1]] / base[keys[1]], m[keys[2]]))
            times[i].append(seconds)
        print(f"fold {k + 1}/{folds} done", flush=True)
    users = "TEST users (confirmation only)" if test else "validation users only"
    print(f"\n{recipe} on {dataset}, {folds} fold(s), {users}; best NDCG@10 first")
    print(f"{'hyperparameters':70s}{'P@10 x':>9s}{'NDCG@10 x':>11s}{'cov':>7s}{'fit s':>7s}")
    order = sorted(ratios, key=lambda i: -np.mean([r[1] for r in ratios[i]]))
    for i in order:
        r = np.asarray(ratios[i])
        label = " ".join(f"{key}={value}" for key, value in combos[i].items())
        print(
            f"{label:70s}{r[:, 0].mean():9.3f}{r[:, 1].mean():11.3f}{r[:, 2].mean():7.3f}"
            f"{np.mean(times[i]):7.2f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipe", default="aws-user-personalization")
    parser.add_argument("--dataset", choices=list(DATASETS), default="ml-100k")
    parser.add_argument("--grid", nargs="*", help="name=v1,v2 ... (default: transition grid)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--test", action="store_true", help="score the test folds (confirm)")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    started = time.perf_counter()
    search(
        recipe=args.recipe,
        dataset=args.dataset,
        grid=parse_grid(args.grid),
        folds=args.folds,
        seed=args.seed,
        test=args.test,
    )
    print(f"\nTotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
