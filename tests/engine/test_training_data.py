"""The TrainingData a dataset group trains on: one builder, Items-only items in the catalogue."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlmodel import SQLModel

from services.engine.models import Interaction, ItemRecord, UserRecord
from services.engine.recipes.base import TrainingData
from services.engine.training_data import build_training_data

GROUP = "arn:aws:personalize:us-east-1:000000000000:dataset-group/g"
OTHER = "arn:aws:personalize:us-east-1:000000000000:dataset-group/other"


async def test_builder_keeps_items_only_in_the_items_dataset(tmp_path: Path) -> None:
    db = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}")
    tables = [Interaction.__table__, ItemRecord.__table__, UserRecord.__table__]
    async with db.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all, tables=tables)
        await conn.execute(
            insert(Interaction),
            [
                {
                    "dataset_group_arn": GROUP,
                    "user_id": u,
                    "item_id": i,
                    "timestamp": t,
                    "event_type": e,
                    "event_value": v,
                    "from_events": False,
                }
                for u, i, t, e, v in [
                    ("u2", "i1", 30, "watch", 4.0),
                    ("u1", "i2", 20, None, None),
                    ("u1", "i1", 10, "click", 1.0),
                ]
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
        data = await build_training_data(async_sessionmaker(db), GROUP)
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
