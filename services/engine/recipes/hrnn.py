"""aws-hrnn: a recurrent model of each user's chronological history (PyTorch, CPU).

In the spirit of Personalize's HRNN: item embeddings feed a GRU of `hidden_dimension`
units; the model learns to predict each next item (full softmax over the catalogue) on
windows of `bptt` consecutive events of every user (truncated back-propagation through
time). At request time the GRU reads the user's newest `bptt` events, so PutEvents change
the answer at once; an empty history gets the popular items.

`recency_mask` true (the default) reads only the newest `bptt` events at request time, as
the training windows do; false reads up to 4 × bptt events.

Training is seeded (torch.manual_seed and a numpy Generator for the batch order) and runs
on the CPU, where GRU kernels are deterministic. The weights are exported to numpy (npz) and
serving runs the GRU in numpy: loading a model needs neither torch nor pickle, and one
request costs `bptt` small matrix-vector products.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np

from services.engine.recipes.base import (
    Hyperparameter,
    ProgressCallback,
    Recipe,
    RecipeType,
    TrainedModel,
    TrainingData,
)
from services.engine.recipes.item_scoring import SEEN_SCORE
from services.engine.recipes.scoring import distinct_user_counts, repeat_rate, softmax, top_k
from services.engine.recipes.user_personalization import (
    REPEAT_THRESHOLD,
    filter_users_by_history,
)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class HrnnModel(TrainedModel):
    recipe: ClassVar[str] = "aws-hrnn"
    recipe_type: ClassVar[RecipeType] = "USER_PERSONALIZATION"

    def __init__(
        self,
        item_ids: np.ndarray,
        *,
        counts: np.ndarray,
        input_table: np.ndarray,
        w_hh: np.ndarray,
        b_hh: np.ndarray,
        w_out: np.ndarray,
        b_out: np.ndarray,
        window: int,
        exclude_seen: bool,
    ) -> None:
        super().__init__(item_ids)
        self.counts = counts.astype(np.float32)
        self.input_table = input_table.astype(np.float32)  # (n_items, 3H): E W_ih^T + b_ih
        self.w_hh = w_hh.astype(np.float32)  # (3H, H), gates r, z, n as in torch.nn.GRU
        self.b_hh = b_hh.astype(np.float32)
        self.w_out = w_out.astype(np.float32)  # (n_items, H)
        self.b_out = b_out.astype(np.float32)
        self.window = int(window)
        self.exclude_seen = bool(exclude_seen)
        self.prior = np.log1p(self.counts)

    def hidden(self, history: np.ndarray) -> np.ndarray:
        """The GRU state after reading the newest `window` events."""
        size = self.w_hh.shape[1]
        h = np.zeros(size, dtype=np.float32)
        for item in history[-self.window :]:
            gi = self.input_table[item]
            gh = self.w_hh @ h + self.b_hh
            r = _sigmoid(gi[:size] + gh[:size])
            z = _sigmoid(gi[size : 2 * size] + gh[size : 2 * size])
            n = np.tanh(gi[2 * size :] + r * gh[2 * size :])
            h = (1.0 - z) * n + z * h
        return h

    def scores(self, history: np.ndarray) -> np.ndarray:
        history = np.asarray(history, dtype=np.int64)
        history = history[(history >= 0) & (history < self.n_items)]
        if len(history) == 0:
            return self.prior.copy()
        scores = (self.w_out @ self.hidden(history) + self.b_out).astype(np.float32)
        if self.exclude_seen:
            scores[history] = SEEN_SCORE
        return scores

    def recommend(
        self,
        *,
        history: np.ndarray,
        num: int,
        allowed: np.ndarray | None = None,
        user_features: dict[str, str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        scores = self.scores(history)
        top = top_k(scores, num, allowed)
        probabilities = softmax(np.where(scores > SEEN_SCORE, scores, -np.inf))
        return top, probabilities[top]

    def save_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {
            "counts": self.counts,
            "input_table": self.input_table,
            "w_hh": self.w_hh,
            "b_hh": self.b_hh,
            "w_out": self.w_out,
            "b_out": self.b_out,
        }
        return arrays, {"window": self.window, "exclude_seen": self.exclude_seen}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> HrnnModel:
        return cls(
            arrays["item_ids"],
            counts=arrays["counts"],
            input_table=arrays["input_table"],
            w_hh=arrays["w_hh"],
            b_hh=arrays["b_hh"],
            w_out=arrays["w_out"],
            b_out=arrays["b_out"],
            window=meta["window"],
            exclude_seen=meta["exclude_seen"],
        )


def training_windows(
    histories: list[np.ndarray], bptt: int, pad: int
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) windows of `bptt` steps over every history; `pad` fills the tail."""
    inputs: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    for seq in histories:
        if len(seq) < 2:
            continue
        for start in range(0, len(seq) - 1, bptt):
            x = seq[start : start + bptt]
            y = seq[start + 1 : start + bptt + 1]
            x = x[: len(y)]
            inputs.append(np.pad(x, (0, bptt - len(x)), constant_values=pad))
            targets.append(np.pad(y, (0, bptt - len(y)), constant_values=-100))
    if not inputs:
        return np.empty((0, bptt), np.int64), np.empty((0, bptt), np.int64)
    return np.stack(inputs).astype(np.int64), np.stack(targets).astype(np.int64)


class Hrnn(Recipe):
    name: ClassVar[str] = "aws-hrnn"
    recipe_type: ClassVar[RecipeType] = "USER_PERSONALIZATION"
    description: ClassVar[str] = (
        "Legacy HRNN: a GRU over each user's ordered history predicts the next item; new "
        "events change the answer without retraining. An itemId in the request is ignored."
    )
    hyperparameters: ClassVar[tuple[Hyperparameter, ...]] = (
        Hyperparameter("hidden_dimension", "43", "integer", 32, 256),
        Hyperparameter("bptt", "32", "integer", 1, 32),
        Hyperparameter("recency_mask", "true", "categorical", choices=("true", "false")),
        Hyperparameter("min_user_history_length_percentile", "0.0", "continuous", 0.0, 1.0),
        Hyperparameter("max_user_history_length_percentile", "0.99", "continuous", 0.0, 1.0),
        # Our own.
        Hyperparameter("epochs", "5", "integer", 1, 200),
        Hyperparameter("learning_rate", "0.01", "continuous", 1e-5, 1.0),
        Hyperparameter("embedding_dimension", "64", "integer", 8, 512),
        Hyperparameter("batch_size", "128", "integer", 1, 4096),
        Hyperparameter("dropout", "0.2", "continuous", 0.0, 0.9),
    )

    def fit(
        self,
        data: TrainingData,
        *,
        hyperparameters: dict[str, Any],
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> TrainedModel:
        epochs = hyperparameters["epochs"]
        for epoch, current in self.epochs(data, hyperparameters=hyperparameters, seed=seed):
            snapshot = current
            if progress:
                progress(epoch / epochs, f"epoch {epoch}")
        return snapshot()  # epochs >= 1 (the hyperparameter's range)

    def epochs(
        self, data: TrainingData, *, hyperparameters: dict[str, Any], seed: int
    ) -> Iterator[tuple[int, Callable[[], HrnnModel]]]:
        """Train, yielding (epoch, the model as it stands) after each epoch.

        The model after epoch e does not depend on the epoch budget, so one run gives every
        shorter budget's model too (bench/sequential.py scores them along the way)."""
        import torch

        hp = hyperparameters
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        users = set(
            filter_users_by_history(
                data,
                hp["min_user_history_length_percentile"],
                hp["max_user_history_length_percentile"],
            ).tolist()
        )
        histories = [h for u, h in enumerate(data.histories()) if u in users]
        n, size, dim = data.n_items, hp["hidden_dimension"], hp["embedding_dimension"]
        inputs, targets = training_windows(histories, hp["bptt"], pad=n)
        embedding = torch.nn.Embedding(n + 1, dim, padding_idx=n)
        gru = torch.nn.GRU(dim, size, batch_first=True)
        drop = torch.nn.Dropout(hp["dropout"])
        out = torch.nn.Linear(size, n)
        params = [*embedding.parameters(), *gru.parameters(), *out.parameters()]
        optimizer = torch.optim.Adam(params, lr=hp["learning_rate"])
        x_all, y_all = torch.from_numpy(inputs), torch.from_numpy(targets)
        batch = hp["batch_size"]

        def snapshot() -> HrnnModel:
            with torch.no_grad():
                table = embedding.weight[:n] @ gru.weight_ih_l0.T + gru.bias_ih_l0
                return HrnnModel(
                    data.item_ids,
                    counts=distinct_user_counts(data),
                    input_table=table.numpy(),
                    w_hh=gru.weight_hh_l0.numpy().copy(),
                    b_hh=gru.bias_hh_l0.numpy().copy(),
                    w_out=out.weight.numpy().copy(),
                    b_out=out.bias.numpy().copy(),
                    window=hp["bptt"] if hp["recency_mask"] == "true" else 4 * hp["bptt"],
                    exclude_seen=repeat_rate(data) < REPEAT_THRESHOLD,
                )

        for epoch in range(hp["epochs"]):
            order = torch.from_numpy(rng.permutation(len(inputs)))
            for start in range(0, len(order), batch):
                idx = order[start : start + batch]
                hidden, _ = gru(drop(embedding(x_all[idx])))
                logits = out(drop(hidden))
                loss = torch.nn.functional.cross_entropy(
                    logits.reshape(-1, n), y_all[idx].reshape(-1), ignore_index=-100
                )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            yield epoch + 1, snapshot
