"""bench.sequential's SASRec model saves and loads like a recipe's model, answers unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from bench.sequential import SasRec, SasRecModel


def test_a_saved_sasrec_loads_with_the_same_answers(tmp_path: Path) -> None:
    torch.manual_seed(0)
    item_ids = np.array([f"i{i}" for i in range(30)], dtype=object)
    net = SasRec(30, dim=16, blocks=1, heads=1, maxlen=10, dropout=0.1)
    net.eval()
    model = SasRecModel(item_ids, net, maxlen=10, exclude_seen=True)
    model.save(tmp_path)
    loaded = SasRecModel.load(tmp_path)
    assert list(loaded.item_ids) == list(item_ids)
    for history in (np.array([3, 7, 1]), np.array([], dtype=np.int64)):
        items, _ = model.recommend(history=history, num=5)
        again, _ = loaded.recommend(history=history, num=5)
        assert items.tolist() == again.tolist()
        assert not set(items.tolist()) & set(history.tolist())  # seen items go last
