"""Turn a parsed filter plus filterValues into the boolean `allowed` mask a model takes."""

from __future__ import annotations

import numpy as np

from services.engine.runtime.deployment import Deployment
from services.engine.runtime.filter_parser import (
    Condition,
    Expression,
    Param,
    ParsedFilter,
    Value,
    parse_filter_values,
)
from services.engine.wire.errors import InvalidInput

_SKIP = object()  # an EXCLUDE condition whose parameter was not given


def _resolve(
    cond: Condition, expression: Expression, values: dict[str, str]
) -> list[Value] | object:
    out: list[Value] = []
    for value in cond.values:
        if not isinstance(value, Param):
            out.append(value)
            continue
        raw = values.get(value.name)
        if raw is None:
            if expression.action == "EXCLUDE":
                return _SKIP
            raise InvalidInput(
                f"filterValues is missing the parameter {value.name} that the filter needs"
            )
        try:
            out.extend(parse_filter_values(raw))
        except ValueError as exc:
            raise InvalidInput(f"filterValues.{value.name}: {exc}") from None
    return out


def _numeric(values: list[Value], cond: Condition) -> float:
    try:
        return float(values[0])  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{cond.dataset}.{cond.field} {cond.op} needs a number, got {values[0]!r}"
        ) from None


def _compare(left: np.ndarray, op: str, right: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if op == "<":
            return left < right
        if op == "<=":
            return left <= right
        if op == ">":
            return left > right
        if op == ">=":
            return left >= right
        return left == right


def _items_mask(dep: Deployment, cond: Condition, values: list[Value]) -> np.ndarray:
    numeric = cond.op in ("<", "<=", ">", ">=") or (cond.op == "=" and isinstance(values[0], float))
    key = (cond.field, cond.op, tuple(values))
    cached = dep.masks.get(key)
    if cached is not None:
        return cached
    if numeric:
        mask = _compare(dep.item_numbers(cond.field), cond.op, _numeric(values, cond))
    else:
        wanted = frozenset(_as_text(v) for v in values)
        mask = np.fromiter(
            (bool(s & wanted) for s in dep.item_values(cond.field)), bool, dep.model.n_items
        )
        if cond.op == "NOT IN":
            mask = ~mask
    return dep.cache_mask(key, mask)


def _as_text(value: Value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _interactions_mask(
    dep: Deployment, cond: Condition, values: list[Value], user_id: str | None, window: int
) -> np.ndarray:
    mask = np.zeros(dep.model.n_items, bool)
    stored = dep.group.histories.get(user_id) if user_id is not None else None
    if stored is None:
        return mask
    wanted = {_as_text(v).lower() for v in values}
    codes = dep.group.event_codes
    if "*" in wanted:
        selected = set(codes.values())
    else:
        selected = {code for name, code in codes.items() if name in wanted}
    if cond.op == "NOT IN":
        selected = set(codes.values()) - selected
    to_model = dep.code_map()
    for code in selected:
        # Interaction filters see the `window` most recent interactions per event type.
        items = stored.items[stored.events == code][-window:]
        mapped = to_model[items]
        mask[mapped[mapped >= 0]] = True
    return mask


def _condition_mask(
    dep: Deployment, cond: Condition, values: list[Value], user_id: str | None, window: int
) -> np.ndarray:
    if cond.dataset == "Interactions":
        return _interactions_mask(dep, cond, values, user_id, window)
    return _items_mask(dep, cond, values)


def _current_user_matches(
    dep: Deployment, cond: Condition, values: list[Value], user_id: str | None
) -> bool:
    raw = dep.group.user_attributes.get(user_id or "", {}).get(cond.field)
    if raw is None:
        return False
    if cond.op in ("IN", "NOT IN"):
        found = bool(set(str(raw).split("|")) & {_as_text(v) for v in values})
        return found if cond.op == "IN" else not found
    try:
        left = float(raw)
    except ValueError:
        return cond.op == "=" and str(raw) == _as_text(values[0])
    return bool(_compare(np.array([left]), cond.op, _numeric(values, cond))[0])


def allowed_mask(
    dep: Deployment,
    parsed: ParsedFilter,
    filter_values: dict[str, str] | None,
    user_id: str | None,
    window: int,
) -> np.ndarray | None:
    """The items a filter lets through for this request (None: the filter did nothing)."""
    values = filter_values or {}
    allowed: np.ndarray | None = None
    for expression in parsed.expressions:
        if expression.if_condition is not None:
            resolved = _resolve(expression.if_condition, expression, values)
            if resolved is _SKIP or not _current_user_matches(
                dep, expression.if_condition, resolved, user_id
            ):  # type: ignore[arg-type]
                continue
        matched: np.ndarray | None = None
        for group in expression.groups:
            group_mask: np.ndarray | None = None
            for cond in group:
                resolved = _resolve(cond, expression, values)
                if resolved is _SKIP:
                    continue
                mask = _condition_mask(dep, cond, resolved, user_id, window)  # type: ignore[arg-type]
                group_mask = mask if group_mask is None else group_mask & mask
            if group_mask is not None:
                matched = group_mask if matched is None else matched | group_mask
        if matched is None:
            continue
        keep = matched if expression.action == "INCLUDE" else ~matched
        allowed = keep if allowed is None else allowed & keep
    return allowed
