"""Type checks, block assembly and concurrency helpers, on small hand-made data."""

from __future__ import annotations

import asyncio

import pytest

from services.common.errors import BadRequest, NotFound
from services.recommender.blocks import RawBlock, require_type, run_together, timed, to_block
from services.recommender.clients.personalize import CampaignError, ScoredItem
from services.recommender.models import RecommendedItem, RegisteredModel
from services.recommender.routes.users import parse_model_ids


def _model(model_type: str = "recommendations", recipe: str | None = None) -> RegisteredModel:
    return RegisteredModel(
        id=3,
        name="HRNN",
        campaign_arn="arn:aws:personalize:us-east-1:000000000000:campaign/c",
        type=model_type,
        sort_order=1,
        recipe=recipe,
    )


def _movie(movie_id: int) -> RecommendedItem:
    return RecommendedItem(id=movie_id, title=f"Film {movie_id}", genres=["drama"])


class TestRequireType:
    def test_valid(self) -> None:
        require_type(_model("recommendations", "aws-hrnn"), "recommendations")
        require_type(_model("similar-items", None), "similar-items")

    def test_wrong_type(self) -> None:
        with pytest.raises(BadRequest) as caught:
            require_type(_model("ranking"), "recommendations")
        assert caught.value.message == (
            "model 3 (HRNN) is a ranking model; this endpoint needs a recommendations model"
        )

    def test_recipe_does_not_fit_registered_type(self) -> None:
        with pytest.raises(BadRequest, match="uses recipe aws-sims, which gives similar-items"):
            require_type(
                _model("recommendations", "arn:aws:personalize:::recipe/aws-sims"),
                "recommendations",
            )


class TestParseModelIds:
    def test_valid(self) -> None:
        assert parse_model_ids("1, 2") == [1, 2]

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            pytest.param("", "at least one", id="empty"),
            pytest.param("1,x", "expected comma-separated model ids", id="not-int"),
            pytest.param("0", "positive integers", id="zero"),
            pytest.param("1,2,3,4,5,6", "at most 5", id="too-many"),
        ],
    )
    def test_invalid(self, raw: str, message: str) -> None:
        with pytest.raises(BadRequest, match=message):
            parse_model_ids(raw)


async def test_timed_turns_a_campaign_error_into_the_block_error() -> None:
    async def failing() -> list[ScoredItem]:
        await asyncio.sleep(0.02)
        raise CampaignError("GetRecommendations: no answer within 2 s")

    raw = await timed(_model(), failing)
    assert raw.error == "GetRecommendations: no answer within 2 s"
    assert raw.items == []
    assert raw.elapsed_ms >= 20


async def test_timed_skips_non_numeric_ids() -> None:
    async def answer() -> list[ScoredItem]:
        return [ScoredItem("5", 0.5), ScoredItem("x", 0.1), ScoredItem("7", None)]

    raw = await timed(_model(), answer)
    assert raw.items == [(5, 0.5), (7, None)] and raw.error is None


def test_to_block_keeps_campaign_order_scores_and_skips_unknown_ids() -> None:
    raw = RawBlock(_model(recipe="aws-hrnn"), [(9, 0.3), (404, 0.2), (1, None)], 12.345)
    block = to_block(raw, {1: _movie(1), 9: _movie(9)})
    assert [(item.id, item.score) for item in block.items] == [(9, 0.3), (1, None)]
    assert block.elapsed_ms == 12.35
    assert block.model.recipe == "aws-hrnn" and block.error is None


async def test_run_together_raises_the_first_failure_itself() -> None:
    cancelled = asyncio.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def missing() -> None:
        raise NotFound("user 9999 not found")

    with pytest.raises(NotFound, match="user 9999 not found"):
        await run_together(slow(), missing())
    assert cancelled.is_set()
    assert await run_together(asyncio.sleep(0, result=1), asyncio.sleep(0, result=2)) == [1, 2]
