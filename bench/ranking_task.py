"""The app's ranking task: re-rank a genre's 25 most popular films for held-out users.

    .venv/bin/python -m bench.ranking_task                     # ml-100k and ml-latest-small
    .venv/bin/python -m bench.ranking_task --datasets ml-100k --validation 5
    .venv/bin/python -m bench.ranking_task --set ranking_negatives=100

What the app does (`GET /users/{id}/ranking`): it takes a genre's 25 most popular films and
asks the ranking campaign to order them for the user. Here, on each data set:

- interactions are ratings of 4-5 stars (ml-100k: the lab's > 3.6; ml-latest-small: >= 4),
  with no item or user metadata, as the lab's dataset group has none; genres (ml-100k
  u.item, ml-latest-small movies.csv) only define the lists;
- users are split as GetSolutionMetrics splits them (`evaluation.split_users`, seed 42):
  the models train on the 90 % training users; with `--validation N` the training users
  are split again N times (seeds 43, 44, ...) and the held-out 10 % of *them* score, pooled,
  the test users unused (how the ranking model's knobs were chosen);
- a genre's list is its 25 items with the most training users (ties by item index), the
  order the app's popular list has;
- each held-out user's history is cut as the evaluation cuts it (`split_history`: the
  newest 10 %, at least one, are held out); the older part is the history the model gets;
- a (user, genre) pair is scored when some of the user's held-out items are in the genre's
  list: those are its *next positives*. Each order of the list is scored on them:
  P@5 (hits in the first 5 ÷ 5), NDCG@10 (gain 1/log2(1 + position), ideal over
  min(|positives|, 10)) and MRR; means over the scored pairs.

Orders compared: aws-personalized-ranking's `rank`; user-personalization's order (the
scores of an aws-user-personalization model with the same hyperparameters, the user's seen
items last: what aws-personalized-ranking returned before it became a model of its own);
popularity order (the list as the app shows it, which keeps the films the user already
has, never next positives, in place) and the same with those films moved last (a fairer
baseline).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import numpy as np

from bench import movielens
from bench.fitting import fit
from services.engine import evaluation
from services.engine.recipes.base import TrainingData
from services.engine.recipes.scoring import distinct_user_counts

LIST_LENGTH = 25
SEED = 42
DATASETS = ("ml-100k", "ml-latest-small")
ORDERS = ("ranking", "user-personalization", "popularity", "popularity, seen last")


def ml_100k() -> tuple[TrainingData, dict[str, list[str]]]:
    """The lab's interactions and each item's genres (by external id)."""
    genres = {key: row["GENRES"].split("|") for key, row in movielens.item_metadata().items()}
    return movielens.lab_data(), genres


def ml_latest_small() -> tuple[TrainingData, dict[str, list[str]]]:
    """ml-latest-small ratings >= 4 and movies.csv's genres (`movielens.latest_small_*`)."""
    genres = {
        key: [g for g in row["GENRES"].split("|") if g]
        for key, row in movielens.latest_small_items().items()
    }
    return movielens.latest_small_data(), genres


LOADERS: dict[str, Callable[[], tuple[TrainingData, dict[str, list[str]]]]] = {
    "ml-100k": ml_100k,
    "ml-latest-small": ml_latest_small,
}


def genre_lists(
    *, data: TrainingData, genres: dict[str, list[str]], counts: np.ndarray
) -> dict[str, np.ndarray]:
    """Per genre, its LIST_LENGTH items with the highest `counts` (ties by item index)."""
    by_genre: dict[str, list[int]] = {}
    for index, item_id in enumerate(data.item_ids.tolist()):
        for genre in genres.get(str(item_id), []):
            if genre and genre not in {"unknown", "(no genres listed)"}:
                by_genre.setdefault(genre, []).append(index)
    lists = {}
    for genre, members in sorted(by_genre.items()):
        items = np.array(members, dtype=np.int64)
        order = np.lexsort((items, -counts[items]))
        if len(items) >= LIST_LENGTH:
            lists[genre] = items[order][:LIST_LENGTH]
    return lists


def score_orders(
    *,
    orders: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]],
    data: TrainingData,
    users: np.ndarray,
    lists: dict[str, np.ndarray],
) -> dict[str, dict[str, float]]:
    """P@5, NDCG@10 and MRR of each order over the scored (user, genre) pairs."""
    histories = data.histories()
    totals = {name: {"P@5": 0.0, "NDCG@10": 0.0, "MRR": 0.0} for name in orders}
    pairs = 0
    for user in users.tolist():
        if len(histories[user]) < 2:
            continue
        given, held_out = evaluation.split_history(histories[user])
        for candidates in lists.values():
            positives = set(np.intersect1d(held_out, candidates).tolist())
            if not positives:
                continue
            pairs += 1
            for name, order in orders.items():
                ranked = order(given, candidates).tolist()
                totals[name]["P@5"] += evaluation.precision_at_k(ranked, positives, 5)
                totals[name]["NDCG@10"] += evaluation.ndcg_at_k(ranked, positives, 10)
                totals[name]["MRR"] += evaluation.reciprocal_rank_at_k(ranked, positives, 25)
    return {
        name: {**{k: v / max(pairs, 1) for k, v in values.items()}, "pairs": float(pairs)}
        for name, values in totals.items()
    }


def ranking_task(
    *, dataset: str, validation: int = 0, hyperparameters: dict[str, str] | None = None
) -> tuple[dict[str, dict[str, float]], float]:
    """The orders' scores on `dataset`, and the ranking model's (last) fit time in seconds.

    `validation` > 0: never the test users; instead that many validation splits of the
    training users (seeds 43, 44, ...), their (user, genre) pairs pooled.
    """
    data, genres = LOADERS[dataset]()
    train_users, test_users = evaluation.split_users(evaluation.active_users(data), SEED)
    splits = [(train_users, test_users)]
    if validation:
        splits = [evaluation.split_users(train_users, SEED + 1 + k) for k in range(validation)]
    raw = hyperparameters or {}
    pooled: dict[str, dict[str, float]] = {}
    fit_seconds = 0.0
    for fit_users, scored_users in splits:
        train = data.subset_users(fit_users)
        ranking, fit_seconds = fit("aws-personalized-ranking", train, raw, SEED, known_only=True)
        personal, _ = fit("aws-user-personalization", train, raw, SEED, known_only=True)
        lists = genre_lists(data=data, genres=genres, counts=distinct_user_counts(train))
        orders: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
            "ranking": lambda h, c, m=ranking: m.rank(history=h, candidates=c)[0],
            "user-personalization": lambda h, c, m=personal: m.rank(history=h, candidates=c)[0],
            "popularity": lambda h, c: c,
            "popularity, seen last": lambda h, c: c[np.argsort(np.isin(c, h), kind="stable")],
        }
        scores = score_orders(orders=orders, data=data, users=scored_users, lists=lists)
        for name, row in scores.items():
            total = pooled.setdefault(name, dict.fromkeys(row, 0.0))
            for key, value in row.items():
                total[key] += value if key == "pairs" else value * row["pairs"]
    results = {
        name: {k: v if k == "pairs" else v / max(row["pairs"], 1) for k, v in row.items()}
        for name, row in pooled.items()
    }
    return results, fit_seconds


def ranking_task_table(
    *,
    datasets: tuple[str, ...] = DATASETS,
    validation: int = 0,
    hyperparameters: dict[str, str] | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Print (and return) the table of `ranking_task` for each data set."""
    results = {}
    out = sys.stdout
    out.write(f"{'data':<16}{'order':<23}{'P@5':>8}{'NDCG@10':>9}{'MRR':>8}{'pairs':>7}\n")
    for dataset in datasets:
        scores, fit_seconds = ranking_task(
            dataset=dataset, validation=validation, hyperparameters=hyperparameters
        )
        results[dataset] = scores
        for name in ORDERS:
            row = scores[name]
            out.write(
                f"{dataset:<16}{name:<23}{row['P@5']:>8.4f}{row['NDCG@10']:>9.4f}"
                f"{row['MRR']:>8.4f}{int(row['pairs']):>7}\n"
            )
        out.write(f"{dataset:<16}ranking fit {fit_seconds:.2f} s\n")
        out.flush()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument(
        "--validation",
        type=int,
        default=0,
        metavar="N",
        help="score N validation splits of the training users instead of the test users",
    )
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    raw = dict(item.split("=", 1) for item in args.set)
    ranking_task_table(
        datasets=tuple(args.datasets), validation=args.validation, hyperparameters=raw
    )


if __name__ == "__main__":
    main()
