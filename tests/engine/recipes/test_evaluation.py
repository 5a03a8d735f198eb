"""The evaluation functions against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.engine import evaluation as ev


def test_ndcg_documented_example():
    # AWS docs: relevant items at positions 2 and 5, K = 5, two relevant items.
    assert round(ev.ndcg_at_k([9, 1, 8, 7, 2], {1, 2}, 5), 4) == 0.6241


def test_ndcg_ideal_is_capped_at_k():
    # 3 relevant, K = 2, both top positions hit: perfect.
    assert ev.ndcg_at_k([1, 2, 9], {1, 2, 3}, 2) == pytest.approx(1.0)
    # one hit at position 3 of K = 5 with one relevant item: 1/log2(4) / 1.
    assert ev.ndcg_at_k([7, 8, 1, 9, 6], {1}, 5) == pytest.approx(0.5)


def test_precision_and_reciprocal_rank():
    recs = [5, 1, 6, 2, 7]
    assert ev.precision_at_k(recs, {1, 2}, 5) == pytest.approx(0.4)
    assert ev.precision_at_k(recs, {1, 2}, 10) == pytest.approx(0.2)
    assert ev.reciprocal_rank_at_k(recs, {2, 7}, 25) == pytest.approx(0.25)
    assert ev.reciprocal_rank_at_k(recs, {99}, 25) == 0.0


def test_personalize_metrics_by_hand():
    recs = [list(range(25)), list(range(10, 35))]
    relevant = [{1, 30}, {40}]
    metrics = ev.personalize_metrics(recs, relevant, n_catalogue=100)
    assert list(metrics) == list(ev.METRIC_KEYS)
    assert metrics["coverage"] == 0.35  # items 0..34
    assert metrics["mean_reciprocal_rank_at_25"] == 0.25  # (1/2 + 0) / 2
    assert metrics["precision_at_5"] == 0.1  # (1/5 + 0) / 2
    assert metrics["precision_at_25"] == 0.02
    ndcg5 = (1 / math.log2(3)) / (1 + 1 / math.log2(3)) / 2
    assert metrics["normalized_discounted_cumulative_gain_at_5"] == round(ndcg5, 4)


def test_metrics_are_rounded_to_four_decimals():
    metrics = ev.personalize_metrics([[0, 1, 2]], [{2}], n_catalogue=3)
    assert metrics["precision_at_25"] == 0.04
    assert all(round(v, 4) == v for v in metrics.values())
    assert ev.personalize_metrics([], [], 10) == dict.fromkeys(ev.METRIC_KEYS, 0.0)


def test_split_history_keeps_at_least_one_relevant():
    items = np.arange(15)
    given, held = ev.split_history(items)
    assert held.tolist() == [14] and len(given) == 14
    given, held = ev.split_history(np.arange(2))
    assert given.tolist() == [0] and held.tolist() == [1]
    given, held = ev.split_history(np.arange(30))
    assert held.tolist() == [27, 28, 29]


def test_split_users_is_seeded_and_ten_percent():
    users = np.arange(942)
    train, test = ev.split_users(users, seed=42)
    assert len(test) == 94 and len(train) == 848
    assert not set(train) & set(test)
    again_train, again_test = ev.split_users(users, seed=42)
    assert test.tolist() == again_test.tolist()
    assert ev.split_users(users, seed=43)[1].tolist() != test.tolist()


def test_stratified_split_per_item():
    items = np.repeat(np.arange(3), [4, 8, 1])
    users = np.arange(len(items))
    train = ev.stratified_split(users, items, ratio=0.75, seed=1)
    assert [int(train[items == i].sum()) for i in range(3)] == [3, 6, 1]


def test_full_ranking_metrics_match_recommenders_definitions():
    recs = [[1, 9, 2, 8, 7]]
    truth = [{1, 2, 3}]
    got = ev.full_ranking_metrics(recs, truth, k=5)
    assert got["precision"] == pytest.approx(2 / 5)
    assert got["recall"] == pytest.approx(2 / 3)
    ideal = 1 / math.log(2) + 1 / math.log(3) + 1 / math.log(4)
    assert got["ndcg"] == pytest.approx((1 / math.log(2) + 1 / math.log(4)) / ideal)
    assert got["map"] == pytest.approx((1 / 1 + 2 / 3) / 3)  # map: / |truth|
    assert got["map_at_k"] == pytest.approx((1 / 1 + 2 / 3) / 3)  # / min(|truth|, k) = 3
    long_truth = ev.full_ranking_metrics([[1, 9]], [set(range(1, 8))], k=2)
    assert long_truth["map"] == pytest.approx(1 / 7)
    assert long_truth["map_at_k"] == pytest.approx(1 / 2)
