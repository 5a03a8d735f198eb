"""The TrainingData a dataset group trains on: one builder, Items-only items in the catalogue,
imported Parquet sets and database rows (PutEvents) together."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlmodel import SQLModel

from services.engine import dataset_files
from services.engine.artifacts import FileArtifactStore
from services.engine.models import DatasetFiles, Interaction, ItemRecord, UserRecord
from services.engine.recipes.base import TrainingData
from services.engine.training_data import assemble, training_source

GROUP = "arn:aws:personalize:us-east-1:000000000000:dataset-group/g"
OTHER = "arn:aws:personalize:us-east-1:000000000000:dataset-group/other"


async def test_builder_keeps_items_only_in_the_items_dataset(tmp_path: Path) -> None:
    db = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}")
    store = FileArtifactStore(tmp_path / "artifacts")
    sessionmaker = async_sessionmaker(db)
    tables = [
        Interaction.__table__,
        ItemRecord.__table__,
        UserRecord.__table__,
        DatasetFiles.__table__,
    ]
    async with db.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all, tables=tables)
    # Two interactions imported (a Parquet set, columns named as the schema spells them)...
    writer = dataset_files.PartWriter(store.staging_dir())
    writer.write(
        pa.record_batch(
            {
                "USER_ID": ["u2", "u1"],
                "ITEM_ID": ["i1", "i2"],
                "TIMESTAMP": pa.array([30, 20], pa.int64()),
                "EVENT_TYPE": ["watch", None],
                "EVENT_VALUE": [4.0, None],
            }
        )
    )
    await dataset_files.install(
        sessionmaker=sessionmaker,
        artifacts=store,
        staged=writer.finish(),
        dataset_arn=GROUP.replace("dataset-group/g", "dataset/g/INTERACTIONS"),
        group_arn=GROUP,
        job_arn=GROUP.replace("dataset-group/g", "dataset-import-job/j"),
        mode="FULL",
    )
    async with db.begin() as conn:
        # ... and one from PutEvents, in the database.
        await conn.execute(
            insert(Interaction),
            [
                {
                    "dataset_group_arn": GROUP,
                    "user_id": "u1",
                    "item_id": "i1",
                    "timestamp": 10,
                    "event_type": "click",
                    "event_value": 1.0,
                    "from_events": True,
                }
            ]
            + [
                {
                    "dataset_group_arn": OTHER,
                    "user_id": "u9",
                    "item_id": "i-other",
                    "timestamp": 1,
                    "event_type": None,
                    "event_value": None,
                    "from_events": False,
                }
            ],
        )
        await conn.execute(
            insert(ItemRecord),
            [
                {
                    "dataset_group_arn": GROUP,
                    "item_id": "i1",
                    "attributes": json.dumps({"GENRES": "Comedy", "YEAR": 1995}),
                },
                # In the Items dataset only: nobody has interacted with it yet.
                {
                    "dataset_group_arn": GROUP,
                    "item_id": "i0-new",
                    "attributes": json.dumps({"GENRES": "Drama", "YEAR": None}),
                },
                {"dataset_group_arn": OTHER, "item_id": "i-other-item", "attributes": "{}"},
            ],
        )
        await conn.execute(
            insert(UserRecord),
            [
                {"dataset_group_arn": GROUP, "user_id": "u1", "attributes": '{"AGE": 30}'},
                {"dataset_group_arn": GROUP, "user_id": "u3", "attributes": '{"AGE": 40}'},
            ],
        )
    try:
        data = assemble(await training_source(sessionmaker, store, GROUP))
    finally:
        await db.dispose()

    assert data.item_ids.tolist() == ["i0-new", "i1", "i2"]
    assert data.item_metadata is not None
    assert data.item_metadata["GENRES"].tolist() == ["Drama", "Comedy", None]
    assert data.item_metadata["YEAR"].tolist() == [None, "1995", None]
    # Users come from interactions only (u3 has none), as on Personalize.
    assert data.user_ids.tolist() == ["u1", "u2"]
    assert data.user_features(0) == {"AGE": "30"} and data.user_features(1) == {}
    assert [data.item_ids[i] for i in data.items] == ["i1", "i2", "i1"]  # by user, then time
    assert data.event_types is not None and data.event_types.tolist() == ["click", "", "watch"]
    assert data.event_values is not None
    assert data.event_values[0] == 1.0 and math.isnan(data.event_values[1])
    # The same indexing as the builder the recipe tests use: there is only one.
    direct = TrainingData.from_interactions(
        ["u2", "u1", "u1"],
        ["i1", "i2", "i1"],
        [30, 20, 10],
        event_types=["watch", "", "click"],
        event_values=[4.0, float("nan"), 1.0],
        item_metadata={"i1": {"GENRES": "Comedy", "YEAR": "1995"}, "i0-new": {"GENRES": "Drama"}},
        user_metadata={"u1": {"AGE": "30"}, "u3": {"AGE": "40"}},
    )
    for name in ("user_ids", "item_ids", "users", "items", "timestamps", "event_types"):
        assert getattr(data, name).tolist() == getattr(direct, name).tolist(), name
    assert np.array_equal(data.event_values, direct.event_values, equal_nan=True)
