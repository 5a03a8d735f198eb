"""What the engine checks of a request body beyond botocore's model (`model.py`).

Every member's type, length, range, pattern and enum is checked once, by the model walker,
before an operation runs (`coverage.check`); handlers read members already checked and keep
only what the model cannot say: the nesting limit below, and their own semantic checks
(an Avro schema, a filter expression, a dataset type the engine supports, ...).
"""

from __future__ import annotations

from typing import Any

from services.engine.wire.errors import InvalidInput

DATASET_TYPES = ("INTERACTIONS", "ITEMS", "USERS", "ACTIONS", "ACTION_INTERACTIONS")
SUPPORTED_DATASET_TYPES = ("INTERACTIONS", "ITEMS", "USERS")
# AWS's request shapes nest a few levels (solutionConfig.hpoConfig.algorithmHyperParameter
# Ranges... is 5). A deeper body is refused as it is read, before the walker, json.dumps or
# repr recurse through it and run out of stack (a 500); orjson itself stops at 1,024 levels.
MAX_DEPTH = 32
DEFAULT_MAX_RESULTS = 100


def check_depth(body: Any) -> None:
    """Refuse a parsed body whose arrays and objects nest deeper than MAX_DEPTH (no recursion)."""
    pending: list[tuple[Any, int]] = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, dict) else value
        for child in children:
            if isinstance(child, dict | list):
                if depth >= MAX_DEPTH:
                    raise InvalidInput(f"The request body nests deeper than {MAX_DEPTH} levels.")
                pending.append((child, depth + 1))


def required(body: dict[str, Any], field: str) -> Any:
    """A member the engine needs though the model leaves it optional (e.g. runtime's
    campaignArn, which is optional only because recommenderArn may replace it)."""
    value = body.get(field)
    if value is None:
        raise InvalidInput(f"1 validation error detected: '{field}' is required.")
    return value
