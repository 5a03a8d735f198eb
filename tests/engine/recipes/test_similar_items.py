"""aws-similar-items: windowed co-occurrence blended with item metadata (GENRES, YEAR)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from services.cli.pipeline import SIMILAR_ITEMS_SOLUTION_CONFIG
from services.engine.arns import recipe_arn
from services.engine.controlplane.recipes import describe_recipe, list_recipes
from services.engine.recipes import MODELS, RECIPES, get_recipe, load_model
from services.engine.recipes.base import TrainedModel, TrainingData
from services.engine.recipes.similar_items import SimilarItemsModel
from tests.engine.recipes.conftest import item_index
from tests.engine.recipes.contract import RecipeContract

RECIPE = "aws-similar-items"


def fit(data: TrainingData, **raw: str) -> TrainedModel:
    recipe = get_recipe(RECIPE)
    return recipe.fit(data, hyperparameters=recipe.parse_hyperparameters(raw), seed=0)


def neighbours(model: TrainedModel, data: TrainingData, item: str, num: int = 5) -> list[str]:
    items, _ = model.similar_items(item=model.item_index[item], num=num)
    return [str(data.item_ids[i]) for i in items.tolist()]


def own_neighbours(model: TrainedModel, item: str) -> list[int]:
    assert isinstance(model, SimilarItemsModel)
    row = model.neighbours[model.item_index[item]]
    return row[row >= 0].tolist()


class TestSimilarItems(RecipeContract):
    recipe_name = RECIPE

    def test_never_lists_the_query_item(self, model, small_data):
        for item in range(small_data.n_items):
            items, _ = model.similar_items(item=item, num=30)
            assert item not in items.tolist()

    def test_unknown_item_gets_popular_items(self, model, small_data):
        items, scores = model.similar_items(item=None, num=4)
        assert scores is None
        assert set(items.tolist()) <= {item_index(small_data, n) for n in (0, 1, 2, 30, 31, 32)}


class TestSimilarItemsWithMetadata(RecipeContract):
    recipe_name = RECIPE

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls, small_data_with_metadata: TrainingData) -> TrainedModel:
        return cls.fit(small_data_with_metadata)


def test_is_listed_and_loaded_as_a_related_items_recipe(tmp_path, small_data):
    assert RECIPES[RECIPE].recipe_type == "RELATED_ITEMS"
    assert MODELS[RECIPE] is SimilarItemsModel
    model = fit(small_data)
    model.save(tmp_path)
    loaded = load_model(tmp_path)
    assert type(loaded) is SimilarItemsModel
    for item in range(small_data.n_items):
        assert np.array_equal(
            loaded.similar_items(item=item, num=10)[0], model.similar_items(item=item, num=10)[0]
        )


def test_list_and_describe_recipes_show_it():
    listed = asyncio.run(list_recipes(None, {"maxResults": 100}))  # type: ignore[arg-type]
    assert RECIPE in [r["name"] for r in listed["recipes"]]
    body = {"recipeArn": recipe_arn(RECIPE)}
    described = asyncio.run(describe_recipe(None, body))["recipe"]  # type: ignore[arg-type]
    assert described["recipeType"] == "RELATED_ITEMS"
    assert described["recipeArn"] == "arn:aws:personalize:::recipe/aws-similar-items"
    assert "metadata" in described["description"]


def sessions(*, gap_filler: int) -> TrainingData:
    """30 users take a, b, then `gap_filler` films of their own, then c (plus noise users)."""
    users, items, times = [], [], []
    for u in range(30):
        history = ["a", "b", *[f"f{u}_{k}" for k in range(gap_filler)], "c"]
        for step, item in enumerate(history):
            users.append(f"u{u}")
            items.append(item)
            times.append(1000 * u + step)
    for u in range(30, 40):  # some users of c alone, so that c is the more popular
        users.append(f"u{u}")
        items.append("c")
        times.append(1000 * u)
    return TrainingData.from_interactions(users, items, times)


def test_window_favours_films_taken_in_the_same_sitting():
    data = sessions(gap_filler=8)
    near = fit(data, cooccurrence_window="1", popularity_discount_factor="0")
    assert neighbours(near, data, "a", 1) == ["b"]
    # c came 9 positions after a: beyond 4 windows of 1, it is not a neighbour of its own.
    assert data.item_ids.tolist().index("c") not in own_neighbours(near, "a")
    whole = fit(data, cooccurrence_window="0", popularity_discount_factor="0")
    # Counting every pair alike, b and c co-occur with a equally (30 users each).
    assert set(neighbours(whole, data, "a", 2)) == {"b", "c"}
    assert len(own_neighbours(whole, "a")) > len(own_neighbours(near, "a"))


def test_popularity_discount_is_honoured():
    data = sessions(gap_filler=0)  # a, b, c adjacent; c has 40 users, b 30
    raw = fit(data, cooccurrence_window="0", popularity_discount_factor="0")
    discounted = fit(data, cooccurrence_window="0", popularity_discount_factor="1")
    # Equal co-counts (30): raw ties go to index order, the discount favours the rarer b.
    assert neighbours(raw, data, "a", 2) == ["b", "c"]
    assert neighbours(discounted, data, "a", 1) == ["b"]
    assert neighbours(discounted, data, "b", 2) == ["a", "c"]


def catalogue_with_a_lone_film(*, comedy0_fans: int = 0) -> TrainingData:
    """Two co-watched families of films, and "lone": one user, nothing else in the history
    (`comedy0_fans` more users who took comedy0 alone make it the best known comedy)."""
    users, items, times, meta = [], [], [], {}
    for u in range(comedy0_fans):
        users.append(f"fan{u}")
        items.append("comedy0")
        times.append(u)
    for u in range(40):
        family = "drama" if u % 2 else "comedy"
        for step in range(5):
            users.append(f"u{u}")
            items.append(f"{family}{step}")
            times.append(1000 * u + step)
    for family, genre in (("drama", "Drama"), ("comedy", "Comedy")):
        for step in range(5):
            meta[f"{family}{step}"] = {"GENRES": genre, "YEAR": str(1950 + 10 * step)}
    users.append("u99")
    items.append("lone")
    times.append(5)
    meta["lone"] = {"GENRES": "Comedy", "YEAR": "1991"}
    return TrainingData.from_interactions(users, items, times, item_metadata=meta)


def test_metadata_gives_long_tail_films_neighbours():
    data = catalogue_with_a_lone_film()
    without = fit(data, metadata_weight="0")
    assert own_neighbours(without, "lone") == []  # no co-occurrence: popular backfill only
    with_metadata = fit(data, metadata_weight="1", year_scale="3")
    found = neighbours(with_metadata, data, "lone", 5)
    assert found[0] == "comedy4"  # same genre, nearest year (1990)
    assert set(found) == {f"comedy{k}" for k in range(5)}
    assert len(own_neighbours(with_metadata, "lone")) == 5  # genre overlap 0 with dramas


def test_year_scale_is_honoured():
    data = catalogue_with_a_lone_film(comedy0_fans=10)
    # Only the metadata speaks for the lone film (1991): with a short year scale the comedy
    # of 1990 comes first; with a huge one the years hardly differ and the better known
    # comedy0 (1950, 30 users against 20) wins.
    flat = fit(data, metadata_weight="1", year_scale="1000")
    sharp = fit(data, metadata_weight="1", year_scale="3")
    assert neighbours(sharp, data, "lone", 1) == ["comedy4"]
    assert neighbours(flat, data, "lone", 1) == ["comedy0"]


def test_shrinkage_lets_co_occurrence_speak_for_well_watched_films():
    """a (drama) was co-watched with b (comedy) by 30 users, with c (drama) by 20."""
    users, items, times = [], [], []
    for u in range(30):
        for step, item in enumerate(["a", "b", "c"] if u < 20 else ["a", "b"]):
            users.append(f"u{u}")
            items.append(item)
            times.append(1000 * u + step)
    meta = {
        "a": {"GENRES": "Drama", "YEAR": "1980"},
        "b": {"GENRES": "Comedy", "YEAR": "1980"},
        "c": {"GENRES": "Drama", "YEAR": "1980"},
    }
    data = TrainingData.from_interactions(users, items, times, item_metadata=meta)
    common = {"cooccurrence_window": "0", "popularity_discount_factor": "0", "metadata_weight": "3"}
    # 30 users of a against a shrinkage of 1: metadata weighs 3/31 and only breaks ties.
    assert neighbours(fit(data, **common, metadata_shrinkage="1"), data, "a", 2) == ["b", "c"]
    # A huge shrinkage treats a as if it had no history: the genre decides.
    assert neighbours(fit(data, **common, metadata_shrinkage="10000"), data, "a", 2) == ["c", "b"]


def test_lab_films_name_their_sequels(lab_data):
    """The app's configuration on the lab's data (interactions only, as the pipeline imports)."""
    model = fit(lab_data, **SIMILAR_ITEMS_SOLUTION_CONFIG["algorithmHyperParameters"])
    # ml-100k ids: 50 Star Wars, 172 The Empire Strikes Back, 181 Return of the Jedi,
    # 127 The Godfather, 187 The Godfather: Part II, 174 Raiders, 210 Indiana Jones and
    # the Last Crusade.
    assert {"172", "181"} <= set(neighbours(model, lab_data, "50", 10))
    assert "187" in neighbours(model, lab_data, "127", 10)
    assert "210" in neighbours(model, lab_data, "174", 10)
