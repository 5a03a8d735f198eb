"""Input checks botocore leaves to the server: maximums, patterns and enums.

Messages follow AWS's wording ("Value ... at 'name' failed to satisfy constraint: ...").
Types are checked too, because a raw HTTP client may send anything.
"""

from __future__ import annotations

import re
from typing import Any

from services.engine.wire.errors import InvalidInput

# Patterns as AWS words them (the error message quotes them). Always checked with fullmatch:
# with `match`, `$` also matches before a final newline, so "name\n" would pass.
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]*$")
ARN = re.compile(r"^arn:([a-z\d-]+):personalize:.*:.*:.+$")
ROLE_ARN = re.compile(r"^arn:([a-z\d-]+):iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
DATA_LOCATION = re.compile(r"^(s3|http|https|file)://.+$")
DATASET_TYPES = ("INTERACTIONS", "ITEMS", "USERS", "ACTIONS", "ACTION_INTERACTIONS")
SUPPORTED_DATASET_TYPES = ("INTERACTIONS", "ITEMS", "USERS")
DOMAINS = ("ECOMMERCE", "VIDEO_ON_DEMAND")
# AWS's request shapes nest a few levels (campaignConfig.rankingInfluence is 3). A deeper
# body is refused as it is read, before json.dumps or repr recurse through it and run out
# of stack (a 500); orjson itself stops at 1,024 levels.
MAX_DEPTH = 32


def check_depth(body: Any) -> None:
    """Refuse a parsed body whose arrays and objects nest deeper than MAX_DEPTH (no recursion)."""
    pending: list[tuple[Any, int]] = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, dict) else value
        for child in children:
            if isinstance(child, dict | list):
                if depth >= MAX_DEPTH:
                    raise InvalidInput(
                        f"The request body nests deeper than {MAX_DEPTH} levels."
                    )
                pending.append((child, depth + 1))


def _fail(field: str, value: Any, constraint: str) -> InvalidInput:
    text = value if isinstance(value, str) else str(value)  # a list or map can be long too
    shown = text if len(text) <= 100 else text[:100] + "..."
    return InvalidInput(
        f"1 validation error detected: Value '{shown}' at '{field}' failed to satisfy "
        f"constraint: {constraint}"
    )


def string(
    body: dict[str, Any],
    field: str,
    *,
    required: bool = False,
    min_len: int = 0,
    max_len: int | None = None,
    pattern: re.Pattern[str] | None = None,
    enum: tuple[str, ...] | None = None,
) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise InvalidInput(f"1 validation error detected: '{field}' is required.")
        return None
    if not isinstance(value, str):
        raise _fail(field, value, "Member must be a string")
    if len(value) < min_len:
        raise _fail(field, value, f"Member must have length greater than or equal to {min_len}")
    if max_len is not None and len(value) > max_len:
        raise _fail(field, value, f"Member must have length less than or equal to {max_len}")
    if pattern is not None and not pattern.fullmatch(value):
        raise _fail(
            field, value, f"Member must satisfy regular expression pattern: {pattern.pattern}"
        )
    if enum is not None and value not in enum:
        raise _fail(field, value, f"Member must satisfy enum value set: [{', '.join(enum)}]")
    return value


def required_string(body: dict[str, Any], field: str, **kwargs: Any) -> str:
    value = string(body, field, required=True, **kwargs)
    assert value is not None
    return value


def name(body: dict[str, Any], field: str = "name") -> str:
    return required_string(body, field, min_len=1, max_len=63, pattern=NAME)


def arn(body: dict[str, Any], field: str, *, required: bool = True) -> str | None:
    return string(body, field, required=required, max_len=256, pattern=ARN)


def required_arn(body: dict[str, Any], field: str) -> str:
    value = arn(body, field, required=True)
    assert value is not None
    return value


def role_arn(body: dict[str, Any]) -> str | None:
    return string(body, "roleArn", max_len=256, pattern=ROLE_ARN)


def boolean(body: dict[str, Any], field: str, default: bool = False) -> bool:
    value = body.get(field)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _fail(field, value, "Member must be a boolean")
    return value


def integer(
    body: dict[str, Any],
    field: str,
    *,
    default: int,
    low: int | None = None,
    high: int | None = None,
) -> int:
    value = body.get(field)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(field, value, "Member must be an integer")
    if low is not None and value < low:
        raise _fail(field, value, f"Member must have value greater than or equal to {low}")
    if high is not None and value > high:
        raise _fail(field, value, f"Member must have value less than or equal to {high}")
    return value


def string_map(
    body: dict[str, Any],
    field: str,
    *,
    max_entries: int = 100,
    max_key: int = 256,
    max_value: int = 1000,
    key_pattern: re.Pattern[str] | None = None,
) -> dict[str, str] | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _fail(field, value, "Member must be a map")
    if len(value) > max_entries:
        raise _fail(field, value, f"Member must have at most {max_entries} entries")
    for key, item in value.items():
        if len(key) > max_key or (key_pattern is not None and not key_pattern.fullmatch(key)):
            raise _fail(f"{field}.{key}", key, "Map key is not valid")
        if not isinstance(item, str):
            raise _fail(f"{field}.{key}", item, "Member must be a string")
        if len(item) > max_value:
            raise _fail(
                f"{field}.{key}", item, f"Member must have length less than or equal to {max_value}"
            )
    return value


def tags(body: dict[str, Any]) -> None:
    value = body.get("tags")
    if value is None:
        return
    if not isinstance(value, list) or len(value) > 200:
        raise _fail("tags", value, "Member must be a list of at most 200 tags")
    for i, tag in enumerate(value):
        if not isinstance(tag, dict):
            raise _fail(f"tags.{i + 1}", tag, "Member must be a tag object")
        string(tag, "tagKey", required=True, min_len=1, max_len=128)
        string(tag, "tagValue", required=True, max_len=256)


def max_results(body: dict[str, Any]) -> int:
    return integer(body, "maxResults", default=100, low=1, high=100)


def next_token(body: dict[str, Any]) -> str | None:
    return string(body, "nextToken", max_len=1500)
