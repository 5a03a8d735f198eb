"""Dataset import jobs: read a CSV, check every row against the schema, load it in one transaction.

Sources: `s3://bucket/key` (or `s3://bucket/prefix/` for every object under it) through
aiobotocore at S3_ENDPOINT_URL, and `file:///abs/path` (our documented extension for the
embedded mode: read on the engine's host, only inside IMPORT_ROOTS). A failure names the
row and leaves the dataset untouched; it quotes at most EXCERPT characters of the file.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert

from services.engine import import_roots
from services.engine.avro import AvroSchema, SchemaField, check_for_dataset, parse_schema
from services.engine.lifecycle import StepFailed
from services.engine.models import (
    Dataset,
    DatasetImportJob,
    Interaction,
    ItemRecord,
    Schema,
    UserRecord,
)
from services.engine.s3 import list_keys, s3_client, split_s3_url

if TYPE_CHECKING:
    from services.engine.context import EngineContext

MAX_ID_LENGTH = 256
INSERT_BATCH = 5000
STANDARD_INTERACTION_COLUMNS = {"USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE", "EVENT_VALUE"}
# A failureReason quotes at most this much of one value of the file.
EXCERPT = 100
# Avro's int is 32 bits and long 64: larger values would overflow the database's columns.
INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
# Objects of an s3:// prefix read at the same time.
S3_READ_CONCURRENCY = 16


@dataclass(frozen=True)
class ImportPlan:
    dataset_type: str
    group_arn: str
    mode: str
    rows: list[dict[str, Any]]


async def read_source(ctx: EngineContext, location: str) -> list[tuple[str, bytes]]:
    """The files at `location` as (s3:// or file:// url, bytes), in key order; StepFailed says
    why they cannot be read."""
    if location.startswith("file://"):
        # Checked again here, on the file actually opened: the roots may have changed since
        # the job was created, or a symlink been swapped in (services/engine/import_roots.py).
        try:
            data = await asyncio.to_thread(
                import_roots.read_inside, location, ctx.settings.IMPORT_ROOTS
            )
        except (import_roots.OutsideRoots, import_roots.Unreadable) as exc:
            raise StepFailed(str(exc)) from None
        if data is None:
            raise StepFailed(f"Input file {location} does not exist.")
        return [(location, data)]
    if not location.startswith("s3://"):
        raise StepFailed(
            f"Unsupported data location {location}: use s3://bucket/key or file:///path."
        )
    bucket, key = split_s3_url(location)
    try:
        async with s3_client(ctx.settings.S3_ENDPOINT_URL, ctx.settings.AWS_REGION) as s3:
            keys = [key]
            if not key or key.endswith("/"):
                # Folder markers (keys ending in "/") hold no rows.
                keys = [k for k in await list_keys(s3, bucket, key) if not k.endswith("/")]
                if not keys:
                    raise StepFailed(f"No objects found under {location}.")
            # A prefix may hold thousands of small files: fetch several at once, one round
            # trip each, and keep them in key order.
            gate = asyncio.Semaphore(S3_READ_CONCURRENCY)

            async def get(name: str) -> bytes:
                async with gate:
                    response = await s3.get_object(Bucket=bucket, Key=name)
                    async with response["Body"] as stream:
                        return await stream.read()

            tasks = [asyncio.ensure_future(get(name)) for name in keys]
            try:
                blobs = await asyncio.gather(*tasks)
            except BaseException:
                # The first failure decides the job: stop the other reads before the client
                # closes under them.
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            return [(f"s3://{bucket}/{name}", data) for name, data in zip(keys, blobs, strict=True)]
    except StepFailed:
        raise
    except Exception as exc:  # botocore's errors carry the S3 code in their text
        raise StepFailed(f"Cannot read {location}: {exc}") from None


def excerpt(text: str) -> str:
    """`text` quoted, shortened to EXCERPT characters (a reason never carries a whole file)."""
    return repr(text if len(text) <= EXCERPT else text[:EXCERPT] + "...")


def _convert(field: SchemaField, raw: str, line: int) -> Any:
    if raw == "":
        if field.nullable:
            return None
        raise StepFailed(f"Row {line}: the required column {field.name} is empty.")
    try:
        if field.type in ("int", "long"):
            value = int(raw)
            low, high = INT_RANGES[field.type]
            if not low <= value <= high:
                raise ValueError
            return value
        if field.type in ("float", "double"):
            number = float(raw)
            if not math.isfinite(number):  # nan, inf and 1e999 would poison training
                raise ValueError
            return number
        if field.type == "boolean":
            lowered = raw.lower()
            if lowered not in ("true", "false"):
                raise ValueError
            return lowered == "true"
    except ValueError:
        raise StepFailed(
            f"Row {line}: {field.name} value {excerpt(raw)} is not a valid {field.type}."
        ) from None
    if field.name in ("USER_ID", "ITEM_ID") and len(raw) > MAX_ID_LENGTH:
        raise StepFailed(f"Row {line}: {field.name} is longer than {MAX_ID_LENGTH} characters.")
    return raw


def parse_csv(data: bytes, schema: AvroSchema) -> list[dict[str, Any]]:
    """Every row checked against the schema, as dicts keyed by schema field name."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StepFailed(f"The file is not UTF-8 (byte {exc.start}).") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise StepFailed(f"Row 1: {exc}.") from None
    if not header:
        raise StepFailed("The file is empty: a CSV with a header row is required.")
    by_upper = {f.name.upper(): f for f in schema.fields}
    columns: list[SchemaField] = []
    for name in header:
        field = by_upper.get(name.strip().upper())
        if field is None:
            raise StepFailed(f"Row 1: column {excerpt(name)} is not a field of the schema.")
        columns.append(field)
    present = {f.name for f in columns}
    for field in schema.fields:
        if field.name not in present and not field.nullable:
            raise StepFailed(f"Row 1: the required column {field.name} is missing from the header.")
    rows: list[dict[str, Any]] = []
    width = len(columns)
    try:
        for line, values in enumerate(reader, start=2):
            if not values:
                continue
            if len(values) != width:
                raise StepFailed(f"Row {line}: expected {width} values, found {len(values)}.")
            rows.append(
                {f.name: _convert(f, v, line) for f, v in zip(columns, values, strict=True)}
            )
    except csv.Error as exc:  # e.g. a field over csv's size limit; the text quotes no data
        raise StepFailed(f"Row {reader.line_num}: {exc}.") from None
    return rows


def parse_sources(sources: list[tuple[str, bytes]], schema: AvroSchema) -> list[dict[str, Any]]:
    """The rows of every file, each file with its own header, as one dataset.

    Rows are numbered within their file; when there are several files a failure also names
    the file, so `Row N` can be found.
    """
    rows: list[dict[str, Any]] = []
    for name, data in sources:
        if len(sources) > 1 and not data.strip():
            continue  # an empty object under a prefix, e.g. a _SUCCESS marker, holds no rows
        try:
            rows.extend(parse_csv(data, schema))
        except StepFailed as exc:
            if len(sources) == 1:
                raise
            raise StepFailed(f"In {name}: {exc}") from None
    return rows


def _interaction(row: dict[str, Any], group_arn: str) -> dict[str, Any]:
    return {
        "dataset_group_arn": group_arn,
        "user_id": str(row["USER_ID"]),
        "item_id": str(row["ITEM_ID"]),
        "timestamp": int(row["TIMESTAMP"]),
        "event_type": row.get("EVENT_TYPE"),
        "event_value": row.get("EVENT_VALUE"),
        "from_events": False,
    }


def _record(row: dict[str, Any], key: str, group_arn: str, id_column: str) -> dict[str, Any]:
    attributes = {k: v for k, v in row.items() if k != key and v is not None}
    return {
        "dataset_group_arn": group_arn,
        id_column: str(row[key]),
        "attributes": json.dumps(attributes),
    }


async def _load(ctx: EngineContext, plan: ImportPlan) -> None:
    """Replace (FULL) or extend (INCREMENTAL) the dataset's rows in one transaction."""
    model: Any
    if plan.dataset_type == "INTERACTIONS":
        model, payload = Interaction, [_interaction(r, plan.group_arn) for r in plan.rows]
    elif plan.dataset_type == "ITEMS":
        unique = {str(r["ITEM_ID"]): r for r in plan.rows}  # a repeated id: the last row wins
        model, payload = (
            ItemRecord,
            [_record(r, "ITEM_ID", plan.group_arn, "item_id") for r in unique.values()],
        )
    else:
        unique = {str(r["USER_ID"]): r for r in plan.rows}
        model, payload = (
            UserRecord,
            [_record(r, "USER_ID", plan.group_arn, "user_id") for r in unique.values()],
        )
    async with ctx.sessionmaker() as session, session.begin():
        if plan.mode == "FULL" or model is not Interaction:
            stmt = delete(model).where(model.dataset_group_arn == plan.group_arn)
            if model is Interaction:
                stmt = stmt.where(Interaction.from_events.is_(False))  # PutEvents rows stay
            elif plan.mode == "INCREMENTAL":
                key = model.item_id if model is ItemRecord else model.user_id
                ids = [p["item_id" if model is ItemRecord else "user_id"] for p in payload]
                stmt = delete(model).where(model.dataset_group_arn == plan.group_arn, key.in_(ids))
            await session.execute(stmt)
        for start in range(0, len(payload), INSERT_BATCH):
            await session.execute(insert(model), payload[start : start + INSERT_BATCH])
    ctx.metrics.imported_rows.labels(plan.dataset_type).inc(len(payload))


async def run_import(ctx: EngineContext, job_arn: str) -> None:
    """The work of CREATE IN_PROGRESS for a dataset import job."""
    async with ctx.sessionmaker() as session:
        job = await session.get(DatasetImportJob, job_arn)
        dataset = await session.get(Dataset, job.dataset_arn) if job else None
        schema = await session.get(Schema, dataset.schema_arn) if dataset else None
    if job is None or dataset is None or schema is None:
        raise StepFailed("The dataset or its schema was deleted during the import.")
    parsed = parse_schema(schema.definition)
    check_for_dataset(parsed, dataset.dataset_type)
    sources = await read_source(ctx, job.data_location)
    rows = await asyncio.to_thread(parse_sources, sources, parsed)
    minimum = ctx.settings.MIN_INTERACTIONS_PER_IMPORT
    if dataset.dataset_type == "INTERACTIONS" and job.import_mode == "FULL" and len(rows) < minimum:
        raise StepFailed(
            f"The file has {len(rows)} records; "
            f"a FULL import of interactions needs at least {minimum}."
        )
    if not rows:
        raise StepFailed("The file has no records.")
    await _load(
        ctx, ImportPlan(dataset.dataset_type, dataset.dataset_group_arn, job.import_mode, rows)
    )
    await ctx.serving.reload_group(dataset.dataset_group_arn)
