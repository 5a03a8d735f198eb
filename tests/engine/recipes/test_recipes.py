"""Every recipe against the shared contract, plus each recipe's own behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from services.engine.recipes import RECIPES, get_recipe, load_model
from tests.engine.recipes.conftest import item_index
from tests.engine.recipes.contract import RecipeContract


class TestPopularityCount(RecipeContract):
    recipe_name = "aws-popularity-count"
    knows_clusters = False

    def test_same_list_for_everybody_without_scores(self, model, small_data):
        a, scores = model.recommend(history=np.array([1, 2]), num=10)
        b, _ = model.recommend(history=np.array([45]), num=10)
        assert a.tolist() == b.tolist()
        assert scores is None

    def test_ranks_by_distinct_users(self, small_data):
        counts = np.bincount(
            np.unique(small_data.users.astype(np.int64) * small_data.n_items + small_data.items)
            % small_data.n_items,
            minlength=small_data.n_items,
        )
        top, _ = self.fit(small_data).recommend(history=np.array([], dtype=np.int64), num=5)
        assert counts[top].tolist() == sorted(counts, reverse=True)[:5]

    def test_serves_no_related_items(self, model):
        with pytest.raises(ValueError, match="does not serve related items"):
            model.similar_items(item=0, num=5)


class TestSims(RecipeContract):
    recipe_name = "aws-sims"

    def test_unknown_item_gets_popular_items(self, model, small_data):
        items, scores = model.similar_items(item=None, num=4)
        assert scores is None
        assert set(items.tolist()) <= {item_index(small_data, n) for n in (0, 1, 2, 30, 31, 32)}

    def test_never_lists_the_query_item(self, model, small_data):
        for item in range(small_data.n_items):
            items, _ = model.similar_items(item=item, num=30)
            assert item not in items.tolist()

    def test_min_cointeraction_count_falls_back_to_popular(self, small_data):
        recipe = get_recipe("aws-sims")
        strict = recipe.fit(
            small_data,
            seed=1,
            hyperparameters=recipe.parse_hyperparameters({"min_cointeraction_count": "10"}),
        )
        loose = recipe.fit(
            small_data,
            seed=1,
            hyperparameters=recipe.parse_hyperparameters({"min_cointeraction_count": "0"}),
        )
        assert (strict.neighbours >= 0).sum() < (loose.neighbours >= 0).sum()

    def test_defaults_are_personalizes_documented_ones(self):
        """Asked for with no hyperparameters, aws-sims is Personalize's SIMS (issue 16: the
        app's tuned similar items come from the pipeline's solutionConfig instead)."""
        assert get_recipe("aws-sims").parse_hyperparameters({}) == {
            "popularity_discount_factor": 0.5,
            "min_cointeraction_count": 3,
            "min_user_history_length_percentile": 0.005,
            "max_user_history_length_percentile": 0.995,
            "min_item_interaction_count_percentile": 0.01,
            "max_item_interaction_count_percentile": 0.9,
        }

    def test_bad_value_is_explained(self):
        with pytest.raises(ValueError, match="popularity_discount_factor must be between 0 and 1"):
            get_recipe("aws-sims").parse_hyperparameters({"popularity_discount_factor": "2"})


class TestUserPersonalization(RecipeContract):
    recipe_name = "aws-user-personalization"

    def test_scores_are_a_softmax_over_the_catalogue(self, model, small_data):
        items, scores = model.recommend(
            history=self.cluster_a_history(small_data), num=small_data.n_items
        )
        assert scores is not None
        assert 0.99 < float(scores.sum()) <= 1.0001
        top, top_scores = model.recommend(history=self.cluster_a_history(small_data), num=5)
        assert top_scores.sum() < 1

    def test_new_events_change_the_answer(self, model, small_data):
        history = self.cluster_a_history(small_data)
        before, _ = model.recommend(history=history, num=10)
        after, _ = model.recommend(
            history=np.concatenate(
                [history, [item_index(small_data, n) for n in (40, 41, 42, 43, 44, 45)]]
            ),
            num=10,
        )
        assert before.tolist() != after.tolist()

    def test_seen_items_go_last_when_repeats_are_rare(self, model, small_data):
        history = self.cluster_a_history(small_data)
        items, _ = model.recommend(history=history, num=small_data.n_items - len(history))
        assert not set(items.tolist()) & set(history.tolist())

    def test_large_catalogue_switches_to_als(self, small_data):
        recipe = get_recipe(self.recipe_name)
        params = recipe.parse_hyperparameters(
            {"max_dense_items": "10", "hidden_dimension": "32", "iterations": "5"}
        )
        model = recipe.fit(small_data, hyperparameters=params, seed=1)
        assert model.weights is None and model.item_factors is not None
        items, _ = model.recommend(history=self.cluster_a_history(small_data), num=10)
        assert np.mean([int(str(small_data.item_ids[i])[1:]) < 30 for i in items]) >= 0.8

    def test_ranking_only_recipe_refuses_user_lists(self, small_data):
        recipe = get_recipe("aws-personalized-ranking")
        model = recipe.fit(small_data, hyperparameters=recipe.parse_hyperparameters({}), seed=1)
        with pytest.raises(ValueError, match="does not serve user recommendations"):
            model.recommend(history=np.array([1]), num=3)


class TestUserPersonalizationWithMetadata(RecipeContract):
    recipe_name = "aws-user-personalization"
    hyperparameters = {"item_metadata_weight": "1", "user_metadata_weight": "1"}

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls, small_data_with_metadata):
        return cls.fit(small_data_with_metadata)

    def test_user_features_alone_personalise(self, model, small_data_with_metadata):
        items, _ = model.recommend(
            history=np.array([], dtype=np.int64), num=10, user_features={"GENDER": "F", "AGE": "30"}
        )
        # Even users (cluster A) are "F" in the fixture.
        share = np.mean([int(str(small_data_with_metadata.item_ids[i])[1:]) < 30 for i in items])
        assert share >= 0.8


class TestPersonalizedRanking(RecipeContract):
    recipe_name = "aws-personalized-ranking"

    def test_scores_are_a_softmax_over_the_candidates(self, model, small_data):
        candidates = np.array([item_index(small_data, n) for n in (35, 4, 50, 8, 20)])
        ordered, scores = model.rank(
            history=self.cluster_a_history(small_data), candidates=candidates
        )
        assert sorted(ordered.tolist()) == sorted(candidates.tolist())
        assert abs(float(scores.sum()) - 1.0) < 1e-5
        assert {int(str(small_data.item_ids[i])[1:]) for i in ordered[:3]} == {4, 8, 20}


class TestHrnn(RecipeContract):
    recipe_name = "aws-hrnn"
    hyperparameters = {"epochs": "15", "hidden_dimension": "32", "bptt": "8"}

    def test_scores_are_a_softmax_over_the_catalogue(self, model, small_data):
        _, scores = model.recommend(
            history=self.cluster_a_history(small_data), num=small_data.n_items
        )
        assert scores is not None and 0.99 < float(scores.sum()) <= 1.0001


def test_registry_names_and_types():
    assert set(RECIPES) == {
        "aws-user-personalization",
        "aws-hrnn",
        "aws-sims",
        "aws-similar-items",
        "aws-personalized-ranking",
        "aws-popularity-count",
        "aws-item-affinity",
        "aws-item-attribute-affinity",
    }
    assert get_recipe("aws-sims").recipe_type == "RELATED_ITEMS"
    assert get_recipe("aws-item-affinity").recipe_type == "USER_SEGMENTATION"
    assert get_recipe("aws-similar-items").recipe_type == "RELATED_ITEMS"
    with pytest.raises(KeyError, match="Unknown recipe 'aws-nope'"):
        get_recipe("aws-nope")


def test_load_model_rejects_unknown_recipe(tmp_path):
    (tmp_path / "model.json").write_text('{"recipe": "aws-nope"}')
    with pytest.raises(ValueError, match="unknown recipe 'aws-nope'"):
        load_model(tmp_path)


def test_metadata_tokens_skip_id_like_columns():
    from services.engine.recipes.features import one_hot

    n = 300
    columns = {
        "GENRES": np.array(["Action|Comedy", "Drama", None] * 100, dtype=object),
        "YEAR": np.array([str(1950 + i % 50) for i in range(n)], dtype=object),
        "TITLE": np.array([f"Film {i}" for i in range(n)], dtype=object),
    }
    matrix, vocab = one_hot(columns, n)
    assert not any(tok.startswith("TITLE=") for tok in vocab)
    assert {"GENRES=action", "GENRES=comedy", "GENRES=drama", "YEAR=1950s"} <= set(vocab)
    assert matrix.shape == (n, len(vocab))
    assert matrix[0].sum() == 3  # action, comedy, its decade
