"""Sequential models for next-items prediction: SASRec and aws-hrnn, tuned on validation users.

    .venv/bin/python -m bench.sequential            # the grids the engine README reports
    .venv/bin/python -m bench.sequential --quick    # smaller grids, one test fold
    .venv/bin/python -m bench.sequential --models sasrec --sasrec-grid horizon=1,5 --no-test
    .venv/bin/python -m bench.sequential --models hrnn --no-validation --hrnn-grid epochs=10

The engine README ("Sequential models tried") gives the commands behind its figures;
`--no-validation` tests settings an earlier run chose (one value per setting).

Protocol: the Personalize one (services/engine/evaluation.py: the newest 10 % of a user's
history relevant, top 25 asked from the rest). The users are cut into 5 folds as
bench.accuracy's table 1 does (seed 42). Knobs are chosen on validation users only: for each
of the first `--val-folds` folds its test users are dropped and 10 % of its training users
(bench.up_search's split) validate, models being fitted on the other 90 %. Every grid point
is trained up to its epoch budget and scored on the validation users every `--every` epochs
(SASRec stops after `--patience` checks without a better NDCG@10); the mean curve over the
folds picks the setting and its epoch count (best mean NDCG@10 ratio). The chosen settings
are then fitted once per test fold on all its training users, for `--test-folds` folds of
ml-100k and, untuned (the same settings), of ml-latest-small.

Every figure is a ratio to popularity with the input removed (`exclude_input=True`) on the
same users, stated as bench.accuracy states it (ratio of fold means), beside
aws-user-personalization with its defaults and with `transition_weight` 0.5.

SASRec (Kang & McAuley 2018) is written here, compactly: item and learned position
embeddings, causal pre-norm self-attention blocks, output tied to the item embeddings, full
softmax cross-entropy over the catalogue on every position of windows of `maxlen` events
(aws-hrnn's training windows), Adam. `horizon` > 1 makes each position predict each of the
next `horizon` items (the loss averaged over them), closer to this protocol's "newest 10 %".
At request time it reads the newest `maxlen` events; items already seen go last, as in the
engine's recipes. It is not a recipe; nothing here changes the engine.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from bench.accuracy import DATASETS, user_folds
from bench.fitting import fit
from bench.up_search import parse_grid, validation_split
from services.engine import evaluation as ev
from services.engine.recipes.base import RecipeType, TrainedModel, TrainingData
from services.engine.recipes.hrnn import Hrnn, training_windows
from services.engine.recipes.item_scoring import SEEN_SCORE
from services.engine.recipes.scoring import repeat_rate, top_k
from services.engine.recipes.user_personalization import REPEAT_THRESHOLD

P10, NDCG10 = "precision_at_10", "normalized_discounted_cumulative_gain_at_10"
SASREC_DEFAULTS = {
    "dim": "64",
    "blocks": "2",
    "heads": "1",
    "maxlen": "50",
    "dropout": "0.2",
    "lr": "0.001",
    "batch": "128",
    "horizon": "1",
    "epochs": "100",
}
# The grids the engine README reports: small, because one aws-hrnn epoch on ml-100k takes
# 10 s and one SASRec epoch 12-25 s on the shared 2-core machine (much more under load).
SASREC_GRID = {"batch": ["32"], "epochs": ["40"]}
SASREC_QUICK = {"batch": ["32"], "epochs": ["5"]}
HRNN_GRID = {"learning_rate": ["0.01", "0.003"], "dropout": ["0.2", "0.5"], "epochs": ["15"]}
HRNN_QUICK = {"learning_rate": ["0.01"], "epochs": ["5"]}
TW = {"transition_weight": "0.5"}
# A curve: epoch -> validation metrics of the model after that many epochs.
Curve = dict[int, dict[str, float]]
Check = Callable[[TrainedModel], dict[str, float]]


# --- SASRec --------------------------------------------------------------------------------


class SasRec(torch.nn.Module):
    def __init__(
        self, n_items: int, dim: int, blocks: int, heads: int, maxlen: int, dropout: float
    ) -> None:
        super().__init__()
        self.n_items = n_items
        # What rebuilds it (SasRecModel.from_arrays).
        self.config = {
            "n_items": n_items, "dim": dim, "blocks": blocks, "heads": heads, "maxlen": maxlen,
            "dropout": dropout,
        }
        self.item = torch.nn.Embedding(n_items + 1, dim, padding_idx=n_items)
        self.position = torch.nn.Embedding(maxlen, dim)
        self.drop = torch.nn.Dropout(dropout)
        layer = torch.nn.TransformerEncoderLayer(
            dim, heads, dim, dropout, batch_first=True, norm_first=True
        )
        self.encoder = torch.nn.TransformerEncoder(
            layer, blocks, norm=torch.nn.LayerNorm(dim), enable_nested_tensor=False
        )
        # Unit-scale inputs after the sqrt(dim) factor, unit-scale logits at the start.
        torch.nn.init.normal_(self.item.weight, std=dim**-0.5)
        torch.nn.init.normal_(self.position.weight, std=1.0)
        with torch.no_grad():
            self.item.weight[n_items].zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """States (B, T, dim) at every position of right-padded windows (B, T)."""
        steps = x.shape[1]
        h = self.item(x) * self.item.embedding_dim**0.5 + self.position.weight[:steps]
        mask = torch.nn.Transformer.generate_square_subsequent_mask(steps)
        return self.encoder(self.drop(h), mask=mask, is_causal=True)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Scores over the catalogue (output tied to the item embeddings)."""
        return h @ self.item.weight[: self.n_items].T


class SasRecModel(TrainedModel):
    """Serves a trained SasRec to `evaluation.evaluate_test_users`; saves and loads as a
    recipe's model does (`TrainedModel.save` / `load`), though it is no recipe."""

    recipe: ClassVar[str] = "bench-sasrec"
    recipe_type: ClassVar[RecipeType] = "USER_PERSONALIZATION"

    def __init__(self, item_ids: np.ndarray, net: SasRec, maxlen: int, exclude_seen: bool):
        super().__init__(item_ids)
        self.net, self.maxlen, self.exclude_seen = net, maxlen, exclude_seen

    def recommend(
        self,
        *,
        history: np.ndarray,
        num: int,
        allowed: np.ndarray | None = None,
        user_features: dict[str, str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        history = np.asarray(history, dtype=np.int64)
        if len(history) == 0:
            scores = np.zeros(self.n_items, dtype=np.float32)
        else:
            with torch.no_grad():
                x = torch.from_numpy(history[-self.maxlen :])[None]
                scores = self.net.logits(self.net(x)[0, -1]).numpy().copy()
        if self.exclude_seen:
            scores[history] = SEEN_SCORE
        return top_k(scores, num, allowed), None

    def save_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {
            f"net.{name}": tensor.detach().numpy().copy()
            for name, tensor in self.net.state_dict().items()
        }
        meta = {"net": self.net.config, "maxlen": self.maxlen, "exclude_seen": self.exclude_seen}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> TrainedModel:
        net = SasRec(**meta["net"])
        state = {k.removeprefix("net."): v for k, v in arrays.items() if k.startswith("net.")}
        net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        net.eval()
        return cls(arrays["item_ids"], net, meta["maxlen"], meta["exclude_seen"])


def train_sasrec(
    data: TrainingData,
    settings: dict[str, str],
    seed: int,
    *,
    check: Check | None = None,
    every: int = 5,
    patience: int = 3,
) -> tuple[SasRecModel, Curve]:
    """Train for settings["epochs"] epochs; with `check`, score every `every` epochs, stop
    after `patience` checks without a better NDCG@10 and return the best model and curve."""
    s = {**SASREC_DEFAULTS, **settings}
    dim, maxlen, horizon = int(s["dim"]), int(s["maxlen"]), int(s["horizon"])
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n = data.n_items
    inputs, targets = training_windows(data.histories(), maxlen + horizon - 1, pad=n)
    # Position t of a window reads inputs[:t + 1] and predicts targets[t : t + horizon].
    x_all = torch.from_numpy(inputs[:, :maxlen].copy())
    y_all = torch.from_numpy(targets).unfold(1, horizon, 1)[:, :maxlen]  # (W, maxlen, horizon)
    net = SasRec(n, dim, int(s["blocks"]), int(s["heads"]), maxlen, float(s["dropout"]))
    optimizer = torch.optim.Adam(net.parameters(), lr=float(s["lr"]), betas=(0.9, 0.98))
    model = SasRecModel(data.item_ids, net, maxlen, repeat_rate(data) < REPEAT_THRESHOLD)
    # `batch` counts 50-event windows: a step holds about batch × 50 positions at any maxlen.
    batch = max(1, int(s["batch"]) * 50 // maxlen)
    curve, best, best_state, stale = {}, -1.0, None, 0
    for epoch in range(1, int(s["epochs"]) + 1):
        net.train()
        order = torch.from_numpy(rng.permutation(len(x_all)))
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            y = y_all[idx]
            used = (y >= 0).any(dim=2)  # positions with at least one target
            logp = torch.log_softmax(net.logits(net(x_all[idx])[used]), dim=-1)
            y = y[used]
            valid = y >= 0
            picked = torch.gather(logp, 1, y.clamp(min=0))
            loss = -(picked * valid).sum() / valid.sum().clamp(min=1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if check is not None and (epoch % every == 0 or epoch == int(s["epochs"])):
            net.eval()
            curve[epoch] = check(model)
            if curve[epoch][NDCG10] > best:
                best, stale = curve[epoch][NDCG10], 0
                best_state = {k: v.clone() for k, v in net.state_dict().items()}
            else:
                stale += 1
                if stale >= patience:
                    break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return model, curve


# --- aws-hrnn ------------------------------------------------------------------------------


def train_hrnn(
    data: TrainingData, settings: dict[str, str], seed: int, *, check: Check, every: int
) -> Curve:
    """Fit aws-hrnn with `settings`, scoring the model every `every` epochs along the way
    (the model after epoch e is the one `epochs=e` trains: one run gives the whole curve)."""
    recipe = Hrnn()
    hp = recipe.parse_hyperparameters(settings)
    curve: Curve = {}
    for epoch, snapshot in recipe.epochs(data, hyperparameters=hp, seed=seed):
        if epoch % every == 0 or epoch == hp["epochs"]:
            curve[epoch] = check(snapshot())
    return curve


# --- search and test -----------------------------------------------------------------------


@dataclass
class Trial:
    settings: dict[str, str]
    curves: list[Curve] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def mean_curve(self) -> Curve:
        """Mean over folds at each checked epoch; a fold stopped early keeps its last check."""
        epochs = sorted({e for c in self.curves for e in c})
        mean: Curve = {}
        for e in epochs:
            rows = [c[max(k for k in c if k <= e)] if min(c) <= e else None for c in self.curves]
            if any(r is None for r in rows):
                continue
            mean[e] = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
        return mean

    def best(self) -> tuple[int, dict[str, float]]:
        curve = self.mean_curve()
        epoch = max(curve, key=lambda e: (curve[e][NDCG10], -e))
        return epoch, curve[epoch]


def ratios(model: TrainedModel, data: TrainingData, users: np.ndarray, base: dict) -> dict:
    m = ev.evaluate_test_users(model, data, users, digits=None)
    return {
        "p10x": m[P10] / base[P10],
        "ndcg10x": m[NDCG10] / base[NDCG10],
        NDCG10: m[NDCG10] / base[NDCG10],  # the key early stopping reads
        "cov": m["coverage"],
    }


def combos(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    return [dict(zip(grid, c, strict=True)) for c in itertools.product(*grid.values())]


def validate(
    kind: str, grid: dict[str, list[str]], data: TrainingData, args: argparse.Namespace
) -> list[Trial]:
    trials = [Trial(c) for c in combos(grid)]
    for k, test_users in enumerate(user_folds(data, args.seed, 5)[: args.val_folds]):
        train = np.setdiff1d(ev.active_users(data), test_users)
        fit_users, val_users = validation_split(data, train, seed=args.seed + 1000 + k)
        subset = data.subset_users(fit_users)
        popularity, _ = fit("aws-popularity-count", subset, {}, args.seed)
        base = ev.evaluate_test_users(popularity, data, val_users, digits=None, exclude_input=True)

        def check(model: TrainedModel, val_users: np.ndarray = val_users, base=base) -> dict:
            return ratios(model, data, val_users, base)

        for trial in trials:
            started = time.perf_counter()
            if kind == "sasrec":
                _, curve = train_sasrec(
                    subset,
                    trial.settings,
                    args.seed,
                    check=check,
                    every=args.every,
                    patience=args.patience,
                )
            else:
                curve = train_hrnn(subset, trial.settings, args.seed, check=check, every=args.every)
            trial.curves.append(curve)
            trial.seconds.append(time.perf_counter() - started)
            epoch, row = max(curve.items(), key=lambda kv: kv[1][NDCG10])
            print(
                f"  {kind} fold {k + 1} {label(trial.settings)}: best epoch {epoch}, "
                f"P@10 {row['p10x']:.2f}x NDCG@10 {row['ndcg10x']:.2f}x "
                f"({trial.seconds[-1]:.0f} s); NDCG@10 x by epoch: "
                + " ".join(f"{e}:{r['ndcg10x']:.2f}" for e, r in sorted(curve.items())),
                flush=True,
            )
    return trials


def label(settings: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in settings.items())


def report_validation(kind: str, trials: list[Trial], folds: int) -> dict[str, str]:
    print(f"\n{kind}: validation users only, mean over {folds} fold(s); best NDCG@10 first")
    print(f"{'settings':64s}{'epochs':>7s}{'P@10 x':>8s}{'NDCG@10 x':>10s}{'cov':>7s}{'s':>6s}")
    ranked = sorted(trials, key=lambda t: -t.best()[1][NDCG10])
    for t in ranked:
        epoch, row = t.best()
        print(
            f"{label(t.settings):64s}{epoch:7d}{row['p10x']:8.2f}{row['ndcg10x']:10.2f}"
            f"{row['cov']:7.3f}{np.mean(t.seconds):6.0f}"
        )
    epoch, _ = ranked[0].best()
    return {**ranked[0].settings, "epochs": str(epoch)}


def score_test(dataset: str, chosen: dict[str, dict[str, str]], args: argparse.Namespace) -> None:
    """Fit each row once per test fold on all its training users; print ratio of fold means."""
    data: TrainingData = DATASETS[dataset][1]()
    rows: list[tuple[str, str, dict[str, str]]] = [
        ("popularity (input removed)", "aws-popularity-count", {}),
        ("aws-user-personalization", "aws-user-personalization", {}),
        ("aws-user-personalization tw 0.5", "aws-user-personalization", TW),
    ]
    if "hrnn" in chosen:
        rows.append(("aws-hrnn (defaults)", "aws-hrnn", {}))
        rows.append(("aws-hrnn (chosen)", "aws-hrnn", chosen["hrnn"]))
    if "sasrec" in chosen:
        rows.append(("sasrec (chosen)", "sasrec", chosen["sasrec"]))
    per: dict[str, list[dict[str, float]]] = {name: [] for name, *_ in rows}
    secs: dict[str, list[float]] = {name: [] for name, *_ in rows}
    for k, test_users in enumerate(user_folds(data, args.seed, 5)[: args.test_folds]):
        subset = data.subset_users(np.setdiff1d(ev.active_users(data), test_users))
        for name, recipe, hp in rows:
            started = time.perf_counter()
            if recipe == "sasrec":
                model: TrainedModel = train_sasrec(subset, hp, args.seed)[0]
            else:
                model = fit(recipe, subset, hp, args.seed)[0]
            secs[name].append(time.perf_counter() - started)
            per[name].append(
                ev.evaluate_test_users(
                    model, data, test_users, digits=None, exclude_input=name.startswith("pop")
                )
            )
        print(f"  {dataset} test fold {k + 1}/{args.test_folds} done", flush=True)
    mean = {n: {m: float(np.mean([f[m] for f in per[n]])) for m in ev.METRIC_KEYS} for n in per}
    base = mean[rows[0][0]]
    print(
        f"\n{dataset}: TEST users, {args.test_folds} fold(s) of 5 (seed {args.seed}); "
        "ratio of fold means to popularity with the input removed"
    )
    print(
        f"{'model':34s}{'P@10':>8s}{'x':>7s}{'NDCG@10':>9s}{'x':>7s}{'MRR@25':>8s}{'x':>7s}"
        f"{'cov':>7s}{'fit s':>7s}"
    )
    mrr = "mean_reciprocal_rank_at_25"
    for name, *_ in rows:
        m = mean[name]
        print(
            f"{name:34s}{m[P10]:8.4f}{m[P10] / base[P10]:7.2f}{m[NDCG10]:9.4f}"
            f"{m[NDCG10] / base[NDCG10]:7.2f}{m[mrr]:8.4f}{m[mrr] / base[mrr]:7.2f}"
            f"{m['coverage']:7.3f}{np.mean(secs[name]):7.1f}"
        )
    up = mean["aws-user-personalization"]
    for name in ("aws-hrnn (chosen)", "sasrec (chosen)"):
        if name in mean:
            print(
                f"  {name} / aws-user-personalization: P@10 {mean[name][P10] / up[P10]:.2f}x, "
                f"NDCG@10 {mean[name][NDCG10] / up[NDCG10]:.2f}x"
            )
    for name, _, hp in rows:
        if hp:
            print(f"  {name}: {label(hp)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small grids, 1 test fold")
    parser.add_argument("--models", nargs="*", choices=["sasrec", "hrnn"], default=None)
    parser.add_argument("--sasrec-grid", nargs="*", help="name=v1,v2 (SASREC_DEFAULTS names)")
    parser.add_argument("--hrnn-grid", nargs="*", help="name=v1,v2 (aws-hrnn hyperparameters)")
    parser.add_argument("--val-folds", type=int, default=1)
    parser.add_argument("--test-folds", type=int, default=None, help="default 5 (quick: 1)")
    parser.add_argument("--every", type=int, default=5, help="epochs between validation checks")
    parser.add_argument("--patience", type=int, default=2, help="SASRec: checks without gain")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--datasets", nargs="*", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--no-test", action="store_true", help="validation only")
    parser.add_argument(
        "--no-validation",
        action="store_true",
        help="test the grids' single points as given (settings chosen by an earlier run)",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args(argv)
    args.test_folds = args.test_folds or (1 if args.quick else 5)
    models = args.models or ["hrnn", "sasrec"]
    grids = {
        "sasrec": SASREC_QUICK if args.quick else SASREC_GRID,
        "hrnn": HRNN_QUICK if args.quick else HRNN_GRID,
    }
    if args.sasrec_grid:
        grids["sasrec"] = parse_grid(args.sasrec_grid)
    if args.hrnn_grid:
        grids["hrnn"] = parse_grid(args.hrnn_grid)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    chosen = {}
    for kind in models:
        if args.no_validation:
            points = combos(grids[kind])
            if len(points) != 1:
                parser.error(f"--no-validation needs one value per {kind} setting")
            chosen[kind] = points[0]
            continue
        trials = validate(kind, grids[kind], DATASETS["ml-100k"][1](), args)
        chosen[kind] = report_validation(kind, trials, args.val_folds)
        print(f"chosen for {kind}: {label(chosen[kind])}\n", flush=True)
    if not args.no_test:
        for dataset in args.datasets:
            score_test(dataset, chosen, args)
    print(f"\nTotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
