"""A hand-written tokenizer and parser for Personalize filter expressions.

No library parses this grammar (it is AWS's own, documented only by prose and
examples), so it is a small recursive-descent parser:

    filter     := expression ("|" expression)*
    expression := ("INCLUDE" | "EXCLUDE") ("ItemID" | "UserID") "WHERE" condition
                  (("AND" | "OR") condition)* ["IF" condition]
    condition  := Dataset "." FIELD operator operand
    operator   := "IN" | "NOT" "IN" | "=" | "<" | "<=" | ">" | ">="
    operand    := "(" value ("," value)* ")" | value
    value      := "string" | number | $PARAM

AND binds tighter than OR. Errors raise FilterSyntaxError with a message that says what
is wrong and where; CreateFilter turns it into InvalidInputException.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_FIELDS = 5
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"[^"]*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<param>\$[A-Za-z0-9_]+)
      | (?P<op><=|>=|=|<|>)
      | (?P<punct>[().,|])
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
KEYWORDS = {"INCLUDE", "EXCLUDE", "WHERE", "AND", "OR", "IN", "NOT", "IF"}
ITEM_DATASETS = ("Interactions", "Items")
NUMERIC_OPS = ("=", "<", "<=", ">", ">=")


class FilterSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Param:
    name: str


Value = str | float | Param


@dataclass(frozen=True)
class Condition:
    dataset: str
    field: str
    op: str  # IN, NOT IN, =, <, <=, >, >=
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Expression:
    action: str  # INCLUDE or EXCLUDE
    target: str  # ItemID
    groups: tuple[tuple[Condition, ...], ...]  # OR of ANDs
    if_condition: Condition | None = None

    @property
    def params(self) -> set[str]:
        conds = [c for g in self.groups for c in g] + (
            [self.if_condition] if self.if_condition else []
        )
        return {v.name for c in conds for v in c.values if isinstance(v, Param)}


@dataclass(frozen=True)
class ParsedFilter:
    expressions: tuple[Expression, ...]


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FilterSyntaxError(
                f"Unexpected character {text[pos:].lstrip()[:1]!r} at position {pos + 1}"
            )
        kind = match.lastgroup or ""
        value, start = match.group(kind), match.start(kind) + 1
        if kind == "word" and value.upper() in KEYWORDS:
            kind, value = "kw", value.upper()
        tokens.append(_Tok(kind, value, start))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, text: str | None = None, what: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None or tok.kind != kind or (text is not None and tok.text != text):
            expected = what or text or kind
            found = f"{tok.text!r} at position {tok.pos}" if tok else "the end of the expression"
            raise FilterSyntaxError(f"Expected {expected} but found {found}")
        self.i += 1
        return tok

    def accept(self, kind: str, text: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == kind and tok.text == text:
            self.i += 1
            return True
        return False

    def filter(self) -> ParsedFilter:
        expressions = [self.expression()]
        while self.accept("punct", "|"):
            expressions.append(self.expression())
        tok = self.peek()
        if tok is not None:
            raise FilterSyntaxError(f"Unexpected {tok.text!r} at position {tok.pos}")
        return ParsedFilter(tuple(expressions))

    def expression(self) -> Expression:
        tok = self.peek()
        if tok is None or tok.kind != "kw" or tok.text not in ("INCLUDE", "EXCLUDE"):
            found = f"{tok.text!r} at position {tok.pos}" if tok else "nothing"
            raise FilterSyntaxError(
                f"An expression must start with INCLUDE or EXCLUDE, found {found}"
            )
        self.i += 1
        target_tok = self.take("word", what="ItemID or UserID")
        target = {"itemid": "ItemID", "userid": "UserID"}.get(target_tok.text.lower())
        if target is None:
            raise FilterSyntaxError(
                f"Expected ItemID or UserID after {tok.text}, found {target_tok.text!r}"
            )
        if target == "UserID":
            raise FilterSyntaxError(
                "UserID filters (user segmentation) are not supported by this engine; use ItemID"
            )
        self.take("kw", "WHERE")
        groups = [[self.condition()]]
        while True:
            if self.accept("kw", "AND"):
                groups[-1].append(self.condition())
            elif self.accept("kw", "OR"):
                groups.append([self.condition()])
            else:
                break
        if_condition = self.condition(current_user=True) if self.accept("kw", "IF") else None
        first = groups[0][0].dataset
        for cond in (c for g in groups for c in g):
            if cond.dataset != first:
                raise FilterSyntaxError(
                    "All conditions of an expression must use the same dataset: "
                    f"found {first} and {cond.dataset}"
                )
        return Expression(tok.text, target, tuple(tuple(g) for g in groups), if_condition)

    def condition(self, *, current_user: bool = False) -> Condition:
        dataset = self.take("word", what="a dataset name (Interactions, Items or CurrentUser)")
        self.take("punct", ".")
        field = self.take("word", what="a field name")
        if current_user:
            if dataset.text != "CurrentUser":
                raise FilterSyntaxError(
                    f"IF must be followed by CurrentUser.<FIELD>, found {dataset.text}"
                )
        elif dataset.text not in ITEM_DATASETS:
            raise FilterSyntaxError(
                f"Unknown dataset {dataset.text!r} at position {dataset.pos}: "
                f"an ItemID filter uses {' or '.join(ITEM_DATASETS)}"
            )
        if dataset.text == "Interactions" and field.text != "EVENT_TYPE":
            raise FilterSyntaxError(
                f"Interactions.{field.text} is not supported by this engine; "
                "use Interactions.EVENT_TYPE"
            )
        op_tok = self.peek()
        if op_tok is not None and op_tok.kind == "kw" and op_tok.text == "NOT":
            self.i += 1
            self.take("kw", "IN")
            op = "NOT IN"
        elif op_tok is not None and op_tok.kind == "kw" and op_tok.text == "IN":
            self.i += 1
            op = "IN"
        elif op_tok is not None and op_tok.kind == "op":
            self.i += 1
            op = op_tok.text
        else:
            found = (
                f"{op_tok.text!r} at position {op_tok.pos}"
                if op_tok
                else "the end of the expression"
            )
            raise FilterSyntaxError(
                f"Expected an operator (IN, NOT IN, =, <, <=, >, >=) but found {found}"
            )
        values = self.operand(list_required=op in ("IN", "NOT IN"))
        for value in values:
            if value == "*" and not (dataset.text == "Interactions" and field.text == "EVENT_TYPE"):
                raise FilterSyntaxError('"*" is allowed only with Interactions.EVENT_TYPE')
            if op in NUMERIC_OPS and op != "=" and isinstance(value, str):
                raise FilterSyntaxError(
                    f'The operator {op} needs a number or a $PARAMETER, found "{value}"'
                )
        return Condition(dataset.text, field.text, op, values)

    def operand(self, *, list_required: bool) -> tuple[Value, ...]:
        if list_required:
            self.take("punct", "(", what="'(' after IN")
            values = [self.value()]
            while self.accept("punct", ","):
                values.append(self.value())
            self.take("punct", ")", what="')' closing the value list")
            return tuple(values)
        return (self.value(),)

    def value(self) -> Value:
        tok = self.peek()
        if tok is None:
            raise FilterSyntaxError("Expected a value but the expression ended")
        self.i += 1
        if tok.kind == "string":
            return tok.text[1:-1]
        if tok.kind == "number":
            return float(tok.text)
        if tok.kind == "param":
            return Param(tok.text[1:])
        raise FilterSyntaxError(
            'Expected a value ("quoted string", number or $PARAMETER) '
            f"but found {tok.text!r} at position {tok.pos}"
        )


def parse_filter(text: str) -> ParsedFilter:
    """Parse and check a filter expression; FilterSyntaxError says what is wrong."""
    if not text.strip():
        raise FilterSyntaxError("The filter expression is empty")
    parsed = _Parser(text).filter()
    for expression in parsed.expressions:
        fields = {(c.dataset, c.field) for g in expression.groups for c in g}
        if expression.if_condition:
            fields.add((expression.if_condition.dataset, expression.if_condition.field))
        if len(fields) > MAX_FIELDS:
            raise FilterSyntaxError(
                f"A filter may reference at most {MAX_FIELDS} distinct fields, found {len(fields)}"
            )
    return parsed


_FILTER_VALUE = re.compile(r'\s*(?:"([^"]*)"|([^,"\s][^,]*?))\s*(?:,|$)')


def parse_filter_values(raw: str) -> list[str]:
    """`"\\"Comedy\\",\\"Drama\\""` -> ["Comedy", "Drama"] (unquoted values allowed too)."""
    values: list[str] = []
    pos = 0
    raw = raw.strip()
    while pos < len(raw):
        match = _FILTER_VALUE.match(raw, pos)
        if match is None or match.end() == pos:
            raise ValueError(f'cannot read the value list {raw!r} (use "a","b")')
        values.append(match.group(1) if match.group(1) is not None else match.group(2))
        pos = match.end()
    return values
