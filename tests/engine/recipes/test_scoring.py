"""The shared numeric helpers: top-k selection and the byte-bounded memo."""

from __future__ import annotations

import numpy as np
import pytest

from services.engine.recipes.scoring import Memo, top_k


def reference_top(scores: np.ndarray, num: int, allowed: np.ndarray | None = None) -> list[int]:
    """The definition: by descending score, ties by index, disallowed items never."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return [i for i in order if allowed is None or allowed[i]][:num]


@pytest.mark.parametrize("seed", range(5))
def test_top_k_is_the_first_items_of_the_total_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, 300).astype(np.float32)  # many ties
    allowed = rng.random(300) < 0.4
    for num in (0, 1, 7, 50, 299, 300, 400):
        assert top_k(scores, num).tolist() == reference_top(scores, num)
        assert top_k(scores, num, allowed).tolist() == reference_top(scores, num, allowed)


def test_memo_is_least_recently_used_within_its_bytes() -> None:
    memo = Memo(max_bytes=300)
    for key in "abc":
        memo.put(key, key.upper(), 100)
    assert memo.get("a") == "A"  # now the most recently used
    memo.put("d", "D", 100)  # evicts b, the least recently used
    assert memo.get("b") is None
    assert [memo.get(k) for k in "acd"] == ["A", "C", "D"]
    assert memo.bytes == 300 and len(memo) == 3
    memo.put("c", "C2", 250)  # replacing an entry frees its bytes first
    assert memo.get("c") == "C2" and memo.bytes <= 300
    memo.put("huge", "H", 301)  # larger than the whole memo: not kept
    assert memo.get("huge") is None
