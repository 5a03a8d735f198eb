"""Personalize dataset schemas: the Avro record subset AWS accepts, checked by hand.

A full Avro library would accept far more than Personalize does (nested records,
enums, maps), and would not give the messages we want, so the check is written here:
a record with `fields`, each `{name, type}` where type is a primitive or a union
with "null"; `categorical: true` is allowed on string fields.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

PRIMITIVES = ("string", "int", "long", "float", "double", "boolean")
# Checked with fullmatch: `match` lets `$` match before a final newline ("ITEM_ID\n").
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
REQUIRED_FIELDS = {
    "INTERACTIONS": ("USER_ID", "ITEM_ID", "TIMESTAMP"),
    "ITEMS": ("ITEM_ID",),
    "USERS": ("USER_ID",),
}
MAX_FIELDS = 100
# A Personalize schema nests 4 levels (record, fields, field, type union). Python's json
# recurses once per level and a schema of 5,000 brackets overflowed its stack (a 500):
# the depth is measured on the text first, without recursion.
MAX_DEPTH = 16
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')


@dataclass(frozen=True)
class SchemaField:
    name: str
    type: str
    nullable: bool
    categorical: bool = False


@dataclass(frozen=True)
class AvroSchema:
    fields: tuple[SchemaField, ...]

    def get(self, name: str) -> SchemaField | None:
        return next((f for f in self.fields if f.name == name), None)


def _field_type(name: str, raw: object) -> tuple[str, bool]:
    if isinstance(raw, str):
        if raw not in PRIMITIVES:
            raise ValueError(f"field {name}: type {raw!r} is not one of {', '.join(PRIMITIVES)}")
        return raw, False
    if isinstance(raw, list):
        kinds = [k for k in raw if k != "null"]
        if (
            len(kinds) != 1
            or len(raw) != 2
            or not isinstance(kinds[0], str)
            or kinds[0] not in PRIMITIVES
        ):
            raise ValueError(f'field {name}: a union must be ["null", <primitive type>]')
        return kinds[0], True
    raise ValueError(f'field {name}: type must be a string or a ["null", type] union')


def _depth(text: str) -> int:
    """How deep the JSON text's arrays and objects nest (brackets inside strings ignored)."""
    depth = deepest = 0
    for char in _STRINGS.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_schema(text: str) -> AvroSchema:
    """Check an Avro schema string; ValueError says what is wrong."""
    if _depth(text) > MAX_DEPTH:
        raise ValueError(
            f"the schema nests deeper than {MAX_DEPTH} levels (a Personalize schema needs 4)"
        )
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the schema is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("type") != "record":
        raise ValueError(
            'the schema must be an Avro record: {"type": "record", "name": ..., "fields": [...]}'
        )
    if not isinstance(doc.get("name"), str):
        raise ValueError("the schema record needs a name")
    raw_fields = doc.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise ValueError("the schema needs a non-empty list of fields")
    if len(raw_fields) > MAX_FIELDS:
        raise ValueError(
            f"the schema has {len(raw_fields)} fields; at most {MAX_FIELDS} are allowed"
        )
    fields: list[SchemaField] = []
    for raw in raw_fields:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise ValueError("every field needs a name and a type")
        name = raw["name"]
        if not FIELD_NAME.fullmatch(name):
            raise ValueError(f"field name {name!r} is not valid")
        if any(f.name == name for f in fields):
            raise ValueError(f"field {name} appears twice")
        kind, nullable = _field_type(name, raw.get("type"))
        categorical = raw.get("categorical", False) is True
        if categorical and kind != "string":
            raise ValueError(f"field {name}: only string fields can be categorical")
        fields.append(SchemaField(name, kind, nullable, categorical))
    return AvroSchema(tuple(fields))


def check_for_dataset(schema: AvroSchema, dataset_type: str) -> None:
    """The fields a dataset type needs, with the types AWS requires."""
    for name in REQUIRED_FIELDS.get(dataset_type, ()):
        field = schema.get(name)
        if field is None:
            raise ValueError(f"a {dataset_type} schema needs the field {name}")
        wanted = ("long", "int") if name == "TIMESTAMP" else ("string",)
        if field.type not in wanted or field.nullable:
            raise ValueError(f"field {name} must be a non-null {' or '.join(wanted)}")
