"""Read a dataset group's data and index it with `TrainingData.from_interactions`.

That classmethod is the one builder of `TrainingData` (the recipe tests use it directly):
production only turns the stored columns (`dataset_files`: the Parquet sets and the
PutEvents rows) into its raw arrays, with no Python object per row, so both
index the catalogue the same way, with the items that exist only in an Items dataset kept
in it, as in Personalize.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.engine.artifacts import ArtifactStore
from services.engine.dataset_files import (
    InteractionParts,
    RecordParts,
    combine,
    interaction_parts,
    record_parts,
    records,
)
from services.engine.recipes.base import TrainingData


def _as_text(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]] | None:
    """{id: {column: value as text}}; None without rows. Recipes read metadata as strings
    (e.g. YEAR "1995"); a null is simply absent."""
    if not rows:
        return None
    return {key: {name: str(v) for name, v in row.items()} for key, row in rows.items()}


@dataclass(frozen=True)
class TrainingSource:
    """What a training worker needs to build a group's `TrainingData` (`assemble`): where
    the interactions are and the metadata rows; small and picklable, so the heavy work
    (reading Parquet, indexing millions of ids) happens in the worker, not the API."""

    interactions: InteractionParts
    items: RecordParts
    users: RecordParts
    event_type: str | None = None
    event_value_threshold: float | None = None


async def training_source(
    sessionmaker: async_sessionmaker[AsyncSession],
    artifacts: ArtifactStore,
    group_arn: str,
    *,
    event_type: str | None = None,
    event_value_threshold: float | None = None,
) -> TrainingSource:
    where = {"sessionmaker": sessionmaker, "artifacts": artifacts, "group_arn": group_arn}
    return TrainingSource(
        await interaction_parts(**where),
        await record_parts(**where, dataset_type="ITEMS"),
        await record_parts(**where, dataset_type="USERS"),
        event_type,
        event_value_threshold,
    )


def assemble(source: TrainingSource) -> TrainingData:
    """The group's `TrainingData`, with whole-column operations (runs in the worker)."""
    table = combine(source.interactions)
    if source.event_type:
        table = table.filter(pc.equal(table["event_type"], source.event_type))
    if source.event_value_threshold is not None:
        table = table.filter(
            pc.greater_equal(table["event_value"], source.event_value_threshold)
        )
    # Columns only when some row has them: recipes treat None as "the dataset has no such
    # column"; within a column a missing type is "" and a missing value NaN.
    types, values = table["event_type"], table["event_value"]
    has_types, has_values = types.null_count < len(types), values.null_count < len(values)
    return TrainingData.from_interactions(
        _strings(table["user_id"]),
        _strings(table["item_id"]),
        table["timestamp"].to_numpy(),
        event_types=_strings(pc.fill_null(types, "")) if has_types else None,
        event_values=pc.fill_null(values, float("nan")).to_numpy() if has_values else None,
        item_metadata=_as_text(records(source.items)),
        user_metadata=_as_text(records(source.users)),
    )


def _strings(column: pa.ChunkedArray) -> np.ndarray:
    """A string column as a numpy array of str (what `from_interactions` indexes)."""
    if len(column) == 0:
        return np.array([], dtype=str)
    return column.to_numpy(zero_copy_only=False).astype(str)
