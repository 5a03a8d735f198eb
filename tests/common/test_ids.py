"""Ids typed into query strings: ASCII digits within the database's range, nothing else."""

from __future__ import annotations

import pytest

from services.common.errors import BadRequest
from services.common.ids import MAX_ID, parse_id, quoted
from services.recommender.routes.users import parse_model_ids


@pytest.mark.parametrize(("text", "expected"), [("1", 1), ("007", 7), (str(MAX_ID), MAX_ID)])
def test_ascii_ids(text: str, expected: int) -> None:
    assert parse_id(text) == expected


@pytest.mark.parametrize(
    "text",
    ["²", "①", "١", "１", "0", "-1", "+1", " 1", "1_0", "1.0", str(MAX_ID + 1), str(2**63),
     "9" * 5000, ""],
)
def test_everything_else_is_refused(text: str) -> None:
    assert parse_id(text) is None


def test_quoted_keeps_messages_short() -> None:
    assert quoted("abc") == "'abc'"
    assert quoted("9" * 5000) == "'" + "9" * 24 + "'... (5000 chars)"


@pytest.mark.parametrize("raw", ["١", "1,²", "①", "9" * 5000, str(2**31), str(2**63)])
def test_recommender_model_ids_refuse_them(raw: str) -> None:
    with pytest.raises(BadRequest, match="models: expected comma-separated model ids"):
        parse_model_ids(raw)
