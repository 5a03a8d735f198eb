"""The hand-written filter-expression parser (pure functions)."""

from __future__ import annotations

import pytest

from services.engine.runtime.filter_parser import (
    Condition,
    FilterSyntaxError,
    Param,
    parse_filter,
    parse_filter_values,
)


def test_exclude_watched() -> None:
    parsed = parse_filter('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")')
    (expression,) = parsed.expressions
    assert expression.action == "EXCLUDE"
    assert expression.groups == ((Condition("Interactions", "EVENT_TYPE", "IN", ("*",)),),)


def test_include_with_parameter_and_combinations() -> None:
    parsed = parse_filter(
        "INCLUDE ItemID WHERE Items.GENRES IN ($GENRES) AND Items.YEAR >= 1990 OR Items.YEAR < 1950"
        ' | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch", "click")'
    )
    first, second = parsed.expressions
    assert first.groups == (
        (
            Condition("Items", "GENRES", "IN", (Param("GENRES"),)),
            Condition("Items", "YEAR", ">=", (1990.0,)),
        ),
        (Condition("Items", "YEAR", "<", (1950.0,)),),
    )
    assert first.params == {"GENRES"}
    assert second.action == "EXCLUDE"


def test_not_in_and_if_current_user() -> None:
    parsed = parse_filter(
        'include itemid where Items.GENRES not in ("Horror") IF CurrentUser.AGE > $AGE'
    )
    (expression,) = parsed.expressions
    assert expression.groups[0][0].op == "NOT IN"
    assert expression.if_condition == Condition("CurrentUser", "AGE", ">", (Param("AGE"),))


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param('DROP ItemID WHERE Items.A IN ("x")', "INCLUDE or EXCLUDE", id="action"),
        pytest.param('EXCLUDE ItemID Items.A IN ("x")', "Expected WHERE", id="where"),
        pytest.param("EXCLUDE ItemID WHERE Items.GENRES", "operator", id="operator"),
        pytest.param('EXCLUDE ItemID WHERE Items.GENRES IN "x"', "'(' after IN", id="paren"),
        pytest.param('EXCLUDE ItemID WHERE Items.GENRES IN ("x"', "')'", id="close"),
        pytest.param(
            'EXCLUDE ItemID WHERE Movies.GENRES IN ("x")', "Unknown dataset 'Movies'", id="dataset"
        ),
        pytest.param(
            'EXCLUDE ItemID WHERE Items.GENRES IN ("*")', '"*" is allowed only', id="star"
        ),
        pytest.param('EXCLUDE ItemID WHERE Items.YEAR > "old"', "needs a number", id="numeric"),
        pytest.param(
            'EXCLUDE ItemID WHERE Items.A IN ("x") AND Interactions.EVENT_TYPE IN ("*")',
            "same dataset",
            id="mixed-datasets",
        ),
        pytest.param(
            'EXCLUDE ItemID WHERE Items.A IN ("x") trailing', "Unexpected 'trailing'", id="trailing"
        ),
        pytest.param(
            'EXCLUDE ItemID WHERE Items.A IN ("x") ; ', "Unexpected character", id="character"
        ),
        pytest.param("EXCLUDE UserID WHERE Users.AGE > 3", "not supported", id="user-filter"),
        pytest.param(
            'INCLUDE ItemID WHERE Items.A IN ("x") AND Items.B IN ("x") AND Items.C IN ("x") '
            'AND Items.D IN ("x")'
            ' AND Items.E IN ("x") AND Items.F IN ("x")',
            "at most 5 distinct fields",
            id="fields",
        ),
    ],
)
def test_errors_say_what_is_wrong(text: str, needle: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    assert needle in str(info.value)


def test_filter_values() -> None:
    assert parse_filter_values('"Comedy","Drama"') == ["Comedy", "Drama"]
    assert parse_filter_values(' "Sci-Fi" ') == ["Sci-Fi"]
    assert parse_filter_values("1990") == ["1990"]
    with pytest.raises(ValueError):
        parse_filter_values('"unclosed')
