"""Imported datasets stored columnar: each import's rows as Parquet files.

Interactions, items and users alike: an import writes its rows, checked and typed (items
and users in their schema's columns, interactions in the five stored ones), as Parquet
parts into a staging directory
of the artifact store and publishes them as one artifact (`datasets/<group name>/<TYPE>/<job
name>`), atomically as models are. The database holds only metadata (`DatasetFiles`: the
set's key, file names, row count). A FULL import replaces the dataset's sets with its
own in one transaction, so a reader sees the old rows or the new ones, never a mix, and
an import that dies before that commit leaves the previous set in force (its published
files are then garbage, removed with the dataset). An INCREMENTAL import adds a set; for
items and users a later row of the same id replaces the earlier one, as on AWS.

PutEvents rows are appended to the database's `interaction` table (durable at once, and
cheap one event at a time); readers take the Parquet sets and those rows together, the
sets first, then ordered by time. So do rows imported before this storage existed
(`interaction`, `item_record`, `user_record` rows), until a FULL import replaces them.

Why Parquet and not rows in SQL: 5M interactions took 213 s to insert through the ORM
and 872 MB of SQLite; as zstd Parquet they are written at memory speed, take a few
bytes a row, and load as whole columns (no Python object per row) for training and
histories alike.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import delete, select

from services.engine.arns import dataset_arn_of, dataset_type_of
from services.engine.models import DatasetFiles, Interaction, ItemRecord, UserRecord

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from services.engine.artifacts import ArtifactStore

# The stored columns, whatever the schema called them (fields match case-insensitively).
INTERACTIONS = pa.schema(
    [
        ("user_id", pa.string()),
        ("item_id", pa.string()),
        ("timestamp", pa.int64()),
        ("event_type", pa.string()),
        ("event_value", pa.float64()),
    ]
)
_FIELDS = {"USER_ID": 0, "ITEM_ID": 1, "TIMESTAMP": 2, "EVENT_TYPE": 3, "EVENT_VALUE": 4}
# Items and users: the id field of a record, and the table of rows imported before
# Parquet sets (read first, replaced by the next FULL import).
KEY_FIELDS = {"ITEMS": "ITEM_ID", "USERS": "USER_ID"}
_LEGACY: dict[str, Any] = {"ITEMS": ItemRecord, "USERS": UserRecord}
PART_ROWS = 2_000_000  # rows per Parquet file: a few tens of MB each
# Sets a dataset may gather (INCREMENTAL imports) before they are merged into one.
COMPACT_AFTER = 8
MARKER = "fileset.json"  # written last into the staging directory: the set is whole


@dataclass
class StagedSet:
    """Parquet parts written into a staging directory, not yet published."""

    directory: Path
    files: list[str]
    rows: int


class PartWriter:
    """Writes a dataset's checked batches as Parquet parts of at most PART_ROWS rows:
    interactions in the stored columns, items and users in their own (the first batch's
    schema; every batch of one import has it)."""

    def __init__(self, directory: Path, *, dataset_type: str = "INTERACTIONS") -> None:
        self.directory = directory
        self.interactions = dataset_type == "INTERACTIONS"
        self.files: list[str] = []
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._in_part = 0

    def write(self, batch: pa.RecordBatch) -> None:
        table = as_interactions(batch) if self.interactions else pa.Table.from_batches([batch])
        offset = 0
        while offset < table.num_rows:
            if self._writer is None or self._in_part >= PART_ROWS:
                self._roll(table.schema)
            assert self._writer is not None
            take = min(table.num_rows - offset, PART_ROWS - self._in_part)
            self._writer.write_table(table.slice(offset, take))
            offset += take
            self._in_part += take
            self.rows += take

    def _roll(self, schema: pa.Schema) -> None:
        if self._writer is not None:
            self._writer.close()
        name = f"part-{len(self.files):05d}.parquet"
        self.directory.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(self.directory / name, schema, compression="zstd")
        self.files.append(name)
        self._in_part = 0

    def finish(self) -> StagedSet:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / MARKER).write_text(json.dumps({"files": self.files, "rows": self.rows}))
        return StagedSet(self.directory, list(self.files), self.rows)


def as_interactions(batch: pa.RecordBatch | pa.Table) -> pa.Table:
    """A checked batch (columns named as the schema's fields) in the stored columns;
    other columns (contextual metadata) are not stored, as before."""
    by_upper = {name.upper(): i for i, name in enumerate(batch.schema.names)}
    columns = []
    for name, field in zip(_FIELDS, INTERACTIONS, strict=True):
        index = by_upper.get(name)
        if index is None:
            columns.append(pa.nulls(batch.num_rows, field.type))
        else:
            columns.append(batch.column(index).cast(field.type))
    return pa.Table.from_arrays(columns, schema=INTERACTIONS)


def dataset_folder(dataset_arn: str) -> str:
    """`datasets/<group name>/<TYPE>`: a dataset's ARN ends `dataset/<group name>/<TYPE>`."""
    return "datasets/" + dataset_arn.split(":", 5)[-1].removeprefix("dataset/")


def set_key(dataset_arn: str, job_arn: str) -> str:
    return f"{dataset_folder(dataset_arn)}/{job_arn.rsplit('/', 1)[-1]}"


async def install(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    artifacts: ArtifactStore,
    staged: StagedSet,
    dataset_arn: str,
    group_arn: str,
    job_arn: str,
    mode: str,
) -> None:
    """Publish the staged set and make it the dataset's rows (FULL) or part of them."""
    key = set_key(dataset_arn, job_arn)
    dataset_type = dataset_type_of(dataset_arn)
    await artifacts.publish(staged.directory, key)
    replaced: Sequence[str] = ()
    async with sessionmaker() as session, session.begin():
        if mode == "FULL":
            replaced = (
                await session.scalars(
                    select(DatasetFiles.key).where(
                        DatasetFiles.dataset_arn == dataset_arn, DatasetFiles.key != key
                    )
                )
            ).all()
            await session.execute(
                delete(DatasetFiles).where(DatasetFiles.dataset_arn == dataset_arn)
            )
            # Rows imported before this storage existed (PutEvents rows stay, as on AWS).
            if dataset_type == "INTERACTIONS":
                await session.execute(
                    delete(Interaction).where(
                        Interaction.dataset_group_arn == group_arn,
                        Interaction.from_events.is_(False),
                    )
                )
            else:
                legacy = _LEGACY[dataset_type]
                await session.execute(delete(legacy).where(legacy.dataset_group_arn == group_arn))
        else:
            await session.execute(delete(DatasetFiles).where(DatasetFiles.key == key))
        session.add(
            DatasetFiles(
                key=key,
                dataset_arn=dataset_arn,
                dataset_group_arn=group_arn,
                job_arn=job_arn,
                rows=staged.rows,
                files=json.dumps(staged.files),
                created=time.time(),
            )
        )
    for old in replaced:  # out of use now; a failure here only leaves garbage
        try:
            await artifacts.delete(old)
        except OSError:
            pass


async def compact(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    artifacts: ArtifactStore,
    dataset_arn: str,
) -> bool:
    """Merge the dataset's file sets into one (run in the background after INCREMENTAL
    imports), so that many small imports do not leave readers opening many small files.

    The merged set holds the same rows in the same order (the sets concatenated, oldest
    first, streamed part by part) and takes the oldest set's place in one transaction,
    only if the sets are still those it merged: a FULL import in between wins, and the
    merged files are dropped. False when there was nothing to merge or the sets changed.
    """
    async with sessionmaker() as session:
        sets = (
            await session.scalars(
                select(DatasetFiles)
                .where(DatasetFiles.dataset_arn == dataset_arn)
                .order_by(DatasetFiles.created, DatasetFiles.key)
            )
        ).all()
    if len(sets) < 2:
        return False
    paths = []
    for entry in sets:
        directory = await artifacts.fetch(entry.key, marker=MARKER)
        paths.extend(directory / name for name in json.loads(entry.files))
    staging = artifacts.staging_dir()
    dataset_type = dataset_type_of(dataset_arn)
    try:
        staged = await asyncio.to_thread(_concatenate, paths, staging, dataset_type)
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, staging, True)
        raise
    oldest, newest = sets[0], sets[-1]
    key = f"{dataset_folder(dataset_arn)}/merged-{uuid.uuid4().hex[:12]}"
    await artifacts.publish(staged.directory, key)
    old_keys = [entry.key for entry in sets]
    changed = False
    try:
        async with sessionmaker() as session, session.begin():
            gone = await session.execute(
                delete(DatasetFiles).where(DatasetFiles.key.in_(old_keys))
            )
            if gone.rowcount != len(old_keys):  # type: ignore[attr-defined]
                raise _SetsChanged  # rolls the transaction back
            session.add(
                DatasetFiles(
                    key=key,
                    dataset_arn=dataset_arn,
                    dataset_group_arn=oldest.dataset_group_arn,
                    job_arn=newest.job_arn,
                    rows=staged.rows,
                    files=json.dumps(staged.files),
                    created=oldest.created,  # its place among the sets: the oldest's
                )
            )
    except _SetsChanged:
        changed = True
    await discard(artifacts, [key] if changed else old_keys)
    return not changed


class _SetsChanged(Exception):
    """Another import replaced or removed sets while they were being merged."""


def _concatenate(paths: list[Path], staging: Path, dataset_type: str) -> StagedSet:
    writer = PartWriter(staging, dataset_type=dataset_type)
    for path in paths:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=256_000):
            writer.write(batch)
    return writer.finish()


async def set_count(sessionmaker: async_sessionmaker[AsyncSession], dataset_arn: str) -> int:
    async with sessionmaker() as session:
        keys = await session.scalars(
            select(DatasetFiles.key).where(DatasetFiles.dataset_arn == dataset_arn)
        )
        return len(keys.all())


async def remove(
    session: AsyncSession, *, group_arn: str | None = None, dataset_arn: str | None = None
) -> list[str]:
    """Delete the file-set rows of a whole group or of one dataset in `session` (the caller
    commits); the keys, for `discard` once committed."""
    where = (
        DatasetFiles.dataset_group_arn == group_arn
        if dataset_arn is None
        else DatasetFiles.dataset_arn == dataset_arn
    )
    keys = (await session.scalars(select(DatasetFiles.key).where(where))).all()
    await session.execute(delete(DatasetFiles).where(where))
    return list(keys)


async def discard(artifacts: ArtifactStore, keys: Iterable[str]) -> None:
    for key in keys:
        try:
            await artifacts.delete(key)
        except OSError:
            pass


async def stored_rows(session: AsyncSession, dataset_arn: str) -> int:
    """Rows in the dataset's Parquet sets."""
    sets = await session.scalars(
        select(DatasetFiles.rows).where(DatasetFiles.dataset_arn == dataset_arn)
    )
    return int(sum(sets))


async def _set_paths(
    session: AsyncSession, artifacts: ArtifactStore, dataset_arn: str
) -> list[str]:
    """The local paths of the dataset's Parquet files, oldest set first (S3: cached copies)."""
    sets = (
        await session.execute(
            select(DatasetFiles.key, DatasetFiles.files)
            .where(DatasetFiles.dataset_arn == dataset_arn)
            .order_by(DatasetFiles.created, DatasetFiles.key)
        )
    ).all()
    paths: list[str] = []
    for key, files in sets:
        directory = await artifacts.fetch(key, marker=MARKER)
        paths.extend(str(directory / name) for name in json.loads(files))
    return paths


@dataclass(frozen=True)
class InteractionParts:
    """Where a group's interactions are: local Parquet files (oldest set first) and the
    database's rows (PutEvents, older imports) in the stored columns. Picklable, so a
    training worker can `combine` them itself."""

    paths: list[str]
    rows: list[tuple[Any, ...]]
    last_id: int = 0  # the highest `interaction` id among `rows` (0: none)


async def interaction_parts(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    artifacts: ArtifactStore,
    group_arn: str,
) -> InteractionParts:
    async with sessionmaker() as session:
        paths = await _set_paths(
            session, artifacts, dataset_arn_of(group_arn, "INTERACTIONS")
        )
        rows = (
            await session.execute(
                select(
                    Interaction.id,
                    Interaction.user_id,
                    Interaction.item_id,
                    Interaction.timestamp,
                    Interaction.event_type,
                    Interaction.event_value,
                )
                .where(Interaction.dataset_group_arn == group_arn)
                .order_by(Interaction.id)
            )
        ).all()
    return InteractionParts(
        paths, [tuple(row[1:]) for row in rows], max((row[0] for row in rows), default=0)
    )


def combine(parts: InteractionParts) -> pa.Table:
    """Every interaction in the stored columns, stably sorted by time: the Parquet sets
    first, then the database's rows in the order they came."""
    tables = [pq.read_table(path, schema=INTERACTIONS) for path in parts.paths]
    if parts.rows:
        columns = list(zip(*parts.rows, strict=True))
        arrays = [
            pa.array(column, type=field.type)
            for column, field in zip(columns, INTERACTIONS, strict=True)
        ]
        tables.append(pa.Table.from_arrays(arrays, schema=INTERACTIONS))
    if not tables:
        return INTERACTIONS.empty_table()
    table = pa.concat_tables(tables)
    # Stable: rows of equal time keep their order (sets, then events as they came).
    return table.take(pc.sort_indices(table, sort_keys=[("timestamp", "ascending")]))


@dataclass(frozen=True)
class RecordParts:
    """Where a group's items or users are: local Parquet files (oldest set first) and the
    rows imported before this storage existed, as (id, attributes JSON). Picklable."""

    dataset_type: str
    paths: list[str]
    legacy: list[tuple[str, str]]


async def record_parts(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    artifacts: ArtifactStore,
    group_arn: str,
    dataset_type: str,
) -> RecordParts:
    legacy_model = _LEGACY[dataset_type]
    id_column = legacy_model.item_id if dataset_type == "ITEMS" else legacy_model.user_id
    async with sessionmaker() as session:
        paths = await _set_paths(session, artifacts, dataset_arn_of(group_arn, dataset_type))
        legacy = (
            await session.execute(
                select(id_column, legacy_model.attributes).where(
                    legacy_model.dataset_group_arn == group_arn
                )
            )
        ).all()
    return RecordParts(dataset_type, paths, [(row[0], row[1]) for row in legacy])


def records(parts: RecordParts, ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """{id: {field: value}} for every record (or only `ids`), nulls left out; of several
    rows with one id, the last imported wins."""
    key = KEY_FIELDS[parts.dataset_type]
    wanted = None if ids is None else set(ids)
    out: dict[str, dict[str, Any]] = {}
    for record_id, text in parts.legacy:
        if wanted is None or record_id in wanted:
            row = json.loads(text)
            out[record_id] = {name: value for name, value in row.items() if value is not None}
    for path in parts.paths:
        table = pq.read_table(path)
        if wanted is not None:
            table = table.filter(pc.is_in(table[key], pa.array(sorted(wanted), pa.string())))
        for row in table.to_pylist():
            record_id = str(row.pop(key))
            out[record_id] = {name: value for name, value in row.items() if value is not None}
    return out


def count_records(parts: RecordParts) -> int:
    """Distinct ids among the records (only the id column is read)."""
    key = KEY_FIELDS[parts.dataset_type]
    columns = [pa.array([record_id for record_id, _ in parts.legacy], pa.string())]
    columns.extend(
        pq.read_table(path, columns=[key])[key].combine_chunks().cast(pa.string())
        for path in parts.paths
    )
    return int(pc.count_distinct(pa.chunked_array(columns, pa.string())).as_py())
