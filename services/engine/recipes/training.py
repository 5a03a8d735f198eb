"""The one entry point the worker calls: validate, (tune,) evaluate, train the final model.

`train_solution_version` follows Personalize:
1. hyperparameters are parsed (unknown names or bad values raise ValueError);
2. the data must hold >= 1,000 interactions and >= 25 users with >= 2 interactions;
3. with `perform_hpo`, a bounded grid (`SEARCH_SPACES`, at most 8 trials) over the
   hyperparameters the caller did not set is scored on a validation split *of the training
   users only* (same protocol, seed + 1) by NDCG@10; the winner is used from then on;
4. the recipe is trained on the seeded 90 % of users and scored on the other 10 %
   (`services.engine.evaluation`), giving the 8 GetSolutionMetrics values;
5. the final model is trained on all the data.
Everything is seeded by `seed`, so the same data and seed give the same metrics.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.engine import evaluation
from services.engine.recipes import get_recipe
from services.engine.recipes.base import ProgressCallback, Recipe, TrainedModel, TrainingData

MIN_INTERACTIONS = 1000
MIN_USERS_WITH_TWO = 25
HPO_OBJECTIVE = "normalized_discounted_cumulative_gain_at_10"

# Candidate values per recipe for HPO (only names the caller did not fix are searched).
SEARCH_SPACES: dict[str, dict[str, list[str]]] = {
    "aws-user-personalization": {
        "lambda_": ["200", "400", "800"],
        "recency_half_life": ["5", "20"],
    },
    "aws-personalized-ranking": {
        "lambda_": ["200", "400", "800"],
        "recency_half_life": ["5", "20"],
    },
    "aws-sims": {
        "popularity_discount_factor": ["0.3", "0.5", "0.8"],
        "min_cointeraction_count": ["1", "3"],
    },
    "aws-hrnn": {"hidden_dimension": ["43", "96"], "epochs": ["3", "6"]},
    "aws-popularity-count": {},
}
MAX_TRIALS = 8


@dataclass(frozen=True)
class TrainingResult:
    model: TrainedModel
    metrics: dict[str, float]  # the 8 GetSolutionMetrics keys, 4 decimals
    tuned_hyperparameters: dict[str, str] = field(
        default_factory=dict
    )  # HPO winners; {} without HPO
    training_seconds: float = 0.0


def validate_data(data: TrainingData) -> None:
    """Personalize's minimum: >= 1,000 interactions and >= 25 users with >= 2 each."""
    if len(data.users) < MIN_INTERACTIONS:
        raise ValueError(
            f"Training needs at least {MIN_INTERACTIONS} interactions; "
            f"the dataset group has {len(data.users)}"
        )
    per_user = np.bincount(data.users, minlength=data.n_users)
    enough = int(np.count_nonzero(per_user >= 2))
    if enough < MIN_USERS_WITH_TWO:
        raise ValueError(
            f"Training needs at least {MIN_USERS_WITH_TWO} users with 2 or more interactions; "
            f"the dataset group has {enough}"
        )


def holdout_metrics(
    recipe: Recipe,
    data: TrainingData,
    params: dict[str, Any],
    *,
    seed: int,
    users: np.ndarray | None = None,
    digits: int | None = 4,
) -> tuple[dict[str, float], TrainedModel]:
    """Train on a seeded 90 % of `users` (default: all) and score the other 10 %."""
    pool = evaluation.active_users(data) if users is None else users
    train_users, test_users = evaluation.split_users(pool, seed)
    model = recipe.fit(data.subset_users(train_users), hyperparameters=params, seed=seed)
    return evaluation.evaluate_test_users(model, data, test_users, digits=digits), model


def tune(
    recipe: Recipe,
    data: TrainingData,
    raw: dict[str, str],
    *,
    seed: int,
    train_users: np.ndarray,
    progress: ProgressCallback | None = None,
) -> dict[str, str]:
    """Grid search on a validation split of `train_users`; returns the winning raw values."""
    space = {
        name: values
        for name, values in SEARCH_SPACES.get(recipe.name, {}).items()
        if name not in raw
    }
    candidates = [
        dict(zip(space, combo, strict=True)) for combo in itertools.product(*space.values())
    ]
    candidates = candidates[:MAX_TRIALS] or [{}]
    best: tuple[float, dict[str, str]] | None = None
    for trial, candidate in enumerate(candidates):
        params = recipe.parse_hyperparameters({**raw, **candidate})
        metrics, _ = holdout_metrics(
            recipe, data, params, seed=seed + 1, users=train_users, digits=None
        )
        if best is None or metrics[HPO_OBJECTIVE] > best[0]:
            best = (metrics[HPO_OBJECTIVE], candidate)
        if progress:
            progress(
                0.6 * (trial + 1) / len(candidates), f"tuning trial {trial + 1}/{len(candidates)}"
            )
    assert best is not None
    chosen = {**raw, **best[1]}
    return {hp.name: str(chosen.get(hp.name, hp.default)) for hp in recipe.hyperparameters}


def train_solution_version(
    data: TrainingData,
    *,
    recipe_name: str,
    hyperparameters: dict[str, str] | None,
    perform_hpo: bool,
    seed: int = 42,
    progress: ProgressCallback | None = None,
) -> TrainingResult:
    """Validate, optionally tune, evaluate (Personalize protocol) and train the final model."""
    started = time.perf_counter()
    recipe = get_recipe(recipe_name)
    raw = {name: str(value) for name, value in (hyperparameters or {}).items()}
    params = recipe.parse_hyperparameters(raw)
    validate_data(data)
    tuned: dict[str, str] = {}
    train_users, test_users = evaluation.split_users(evaluation.active_users(data), seed)
    if perform_hpo and recipe.hyperparameters:
        tuned = tune(recipe, data, raw, seed=seed, train_users=train_users, progress=progress)
        params = recipe.parse_hyperparameters(tuned)
    if progress:
        progress(0.65, "evaluating")
    model = recipe.fit(data.subset_users(train_users), hyperparameters=params, seed=seed)
    metrics = evaluation.evaluate_test_users(model, data, test_users)
    if progress:
        progress(0.8, "training the final model")
    final = recipe.fit(data, hyperparameters=params, seed=seed)
    if progress:
        progress(1.0, "done")
    return TrainingResult(
        model=final,
        metrics=metrics,
        tuned_hyperparameters=tuned,
        training_seconds=time.perf_counter() - started,
    )
