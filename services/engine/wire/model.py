"""botocore's Personalize models as the engine's request validator: one walker for all.

The engine is tested with botocore, so it checks requests against the same service models
botocore ships (required members, types, lengths, ranges, patterns, enums), loaded once
when the engine starts. botocore checks only part of this on the client side
(`parameter_validation` covers required members, types and minimums, never maximums,
patterns or enums), and a raw HTTP client checks nothing: the body may hold anything, so
every check here answers InvalidInputException (400), never a 500.

The walker also applies the coverage table (`coverage.py`): a member the engine does not
honour is refused after its value has been checked. Members the model does not know are
ignored, as AWS's JSON protocols ignore them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session
from botocore.model import Shape

from services.engine.wire.errors import InvalidInput

SERVICES = ("personalize", "personalize-runtime", "personalize-events")

# Patterns the model words for Java that Python's `re` lacks; a pattern that still does not
# compile is left to the handler (only `\p{L}`-style tag patterns, and tags are refused).
JAVA_CLASSES = {r"\p{ASCII}": r"[\x00-\x7F]"}

# Where the engine deliberately accepts more than the model (documented extensions):
# (service, shape name) -> the pattern used instead.
PATTERN_OVERRIDES = {
    # `file://` imports inside IMPORT_ROOTS (README "Imports"); the model allows s3/http(s).
    ("personalize", "S3Location"): r"(s3|http|https|file)://.+",
}

NUMBERS = frozenset({"integer", "long", "float", "double", "timestamp"})


@dataclass(slots=True)
class Node:
    """One shape of the model, compiled to what the walker needs."""

    kind: str
    shape: str
    required: tuple[str, ...] = ()
    members: dict[str, Node] = field(default_factory=dict)
    member: Node | None = None  # list element
    key: Node | None = None  # map key
    value: Node | None = None  # map value
    low: float | None = None
    high: float | None = None
    pattern: re.Pattern[str] | None = None
    pattern_text: str = ""
    enum: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Refused:
    """A member the engine does not honour; `why` completes the message."""

    why: str = "is not supported by this engine."


@dataclass(frozen=True, slots=True)
class DefaultOnly:
    """A member accepted only with the value that is what the engine does anyway."""

    value: Any
    why: str


HONOURED = "honoured"
Rule = str | Refused | DefaultOnly


def _compile_pattern(service: str, shape: Shape) -> tuple[re.Pattern[str] | None, str]:
    text = PATTERN_OVERRIDES.get((service, shape.name), shape.metadata.get("pattern"))
    if text is None:
        return None, ""
    translated = text
    for java, python in JAVA_CLASSES.items():
        translated = translated.replace(java, python)
    try:
        return re.compile(translated), text
    except re.error:
        return None, ""


def _compile(service: str, shape: Shape, seen: dict[str, Node]) -> Node:
    if shape.name in seen:  # a recursive shape reuses its node
        return seen[shape.name]
    meta = shape.metadata
    node = Node(kind=shape.type_name, shape=shape.name)
    seen[shape.name] = node
    node.low, node.high = meta.get("min"), meta.get("max")
    if shape.type_name == "string":
        node.pattern, node.pattern_text = _compile_pattern(service, shape)
        node.enum = tuple(getattr(shape, "enum", None) or ())
    elif shape.type_name == "structure":
        node.required = tuple(meta.get("required", ()))
        node.members = {
            name: _compile(service, member, seen) for name, member in shape.members.items()
        }
    elif shape.type_name == "list":
        node.member = _compile(service, shape.member, seen)
    elif shape.type_name == "map":
        node.key = _compile(service, shape.key, seen)
        node.value = _compile(service, shape.value, seen)
    return node


@cache
def operations(service: str) -> dict[str, Node]:
    """Every operation of `service` in the installed botocore, to its compiled input shape."""
    model = botocore.session.get_session().get_service_model(service)
    seen: dict[str, Node] = {}
    out = {}
    for name in model.operation_names:
        shape = model.operation_model(name).input_shape
        out[name] = _compile(service, shape, seen) if shape is not None else Node("structure", "")
    return out


def _fail(path: str, value: Any, constraint: str) -> InvalidInput:
    text = value if isinstance(value, str) else str(value)  # a list or map can be long too
    shown = text if len(text) <= 100 else text[:100] + "..."
    return InvalidInput(
        f"1 validation error detected: Value '{shown}' at '{path}' failed to satisfy "
        f"constraint: {constraint}"
    )


def _bounds(node: Node, path: str, value: Any, size: float, what: str) -> None:
    if node.low is not None and size < node.low:
        raise _fail(path, value, f"Member must have {what} greater than or equal to {node.low}")
    if node.high is not None and size > node.high:
        raise _fail(path, value, f"Member must have {what} less than or equal to {node.high}")


def walk(node: Node, value: Any, *, path: str, key: str, rules: dict[str, Rule] | None) -> None:
    """Check `value` against `node`; `key` is the member's dotted path in `rules` (None: no
    coverage below here, e.g. inside a map)."""
    kind = node.kind
    if kind == "structure":
        if not isinstance(value, dict):
            raise _fail(path or "body", value, "Member must be an object")
        for name in node.required:
            if value.get(name) is None:
                where = f"{path}.{name}" if path else name
                raise InvalidInput(f"1 validation error detected: '{where}' is required.")
        for name, child in value.items():
            member = node.members.get(name)
            if member is None or child is None:  # unknown members are ignored, as AWS does
                continue
            where = f"{path}.{name}" if path else name
            member_key = f"{key}.{name}" if key else name
            if rules is None:
                walk(member, child, path=where, key=member_key, rules=None)
                continue
            rule = rules.get(member_key)
            # Below a member that is not honoured, only its value is checked: the refusal
            # names the member itself rather than the first of its parts.
            below = rules if rule == HONOURED else None
            walk(member, child, path=where, key=member_key, rules=below)
            _covered(rule, where, child)
    elif kind == "string":
        if not isinstance(value, str):
            raise _fail(path, value, "Member must be a string")
        _bounds(node, path, value, len(value), "length")
        if node.pattern is not None and not node.pattern.fullmatch(value):
            raise _fail(
                path, value, f"Member must satisfy regular expression pattern: {node.pattern_text}"
            )
        if node.enum and value not in node.enum:
            raise _fail(
                path, value, f"Member must satisfy enum value set: [{', '.join(node.enum)}]"
            )
    elif kind in NUMBERS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            what = "an integer" if kind in ("integer", "long") else "a number"
            raise _fail(path, value, f"Member must be {what}")
        if kind in ("integer", "long") and not isinstance(value, int):
            raise _fail(path, value, "Member must be an integer")
        _bounds(node, path, value, value, "value")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise _fail(path, value, "Member must be a boolean")
    elif kind == "list":
        if not isinstance(value, list):
            raise _fail(path, value, "Member must be a list")
        _bounds(node, path, value, len(value), "length")
        assert node.member is not None
        for i, item in enumerate(value):
            if item is None:
                raise _fail(f"{path}[{i}]", item, "Member must not be null")
            walk(node.member, item, path=f"{path}[{i}]", key=key, rules=rules)
    elif kind == "map":
        if not isinstance(value, dict):
            raise _fail(path, value, "Member must be a map")
        _bounds(node, path, value, len(value), "length")
        assert node.key is not None and node.value is not None
        for map_key, item in value.items():
            walk(node.key, map_key, path=f"{path}.{map_key}", key="", rules=None)
            if item is None:
                raise _fail(f"{path}.{map_key}", item, "Member must not be null")
            walk(node.value, item, path=f"{path}.{map_key}", key="", rules=None)
    elif kind == "blob":
        if not isinstance(value, str):
            raise _fail(path, value, "Member must be a base64 string")


def _covered(rule: Rule | None, where: str, value: Any) -> None:
    if rule == HONOURED:
        return
    if isinstance(rule, DefaultOnly):
        if value == rule.value and type(value) is type(rule.value):
            return
        raise InvalidInput(
            f"{where} = {_shown(value)} is not supported by this engine: only "
            f"{_shown(rule.value)} is accepted ({rule.why})."
        )
    why = rule.why if isinstance(rule, Refused) else Refused().why
    raise InvalidInput(f"{where} {why}")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, str) else str(value)
