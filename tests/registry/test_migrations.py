"""The registry's Alembic migrations: up, down, and no drift from the models."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import DateTime, MetaData, bindparam, insert, inspect, pool, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.common.db import create_engine, create_sessionmaker
from services.common.migrations import alembic_config, upgrade_to_head_async
from services.common.time import utc_now
from services.registry import crud
from services.registry.main import MIGRATIONS_DIR
from services.registry.models import AdminSessionRow, Model, name_key


def _inspect(sync_conn: Any) -> tuple[set[str], list[Any]]:
    # Compare against our tables only: other services' models share SQLModel.metadata.
    ours = MetaData()
    Model.__table__.to_metadata(ours)  # type: ignore[attr-defined]
    AdminSessionRow.__table__.to_metadata(ours)  # type: ignore[attr-defined]
    context = MigrationContext.configure(
        sync_conn, opts={"compare_type": True, "version_table": "alembic_version_registry"}
    )
    return set(inspect(sync_conn).get_table_names()), compare_metadata(context, ours)


async def _tables_and_drift(url: str) -> tuple[set[str], list[Any]]:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as conn:
        result = await conn.run_sync(_inspect)
    await engine.dispose()
    return result


async def test_upgrade_matches_the_models_and_downgrades(database_url: str) -> None:
    await upgrade_to_head_async(MIGRATIONS_DIR, database_url)
    tables, drift = await _tables_and_drift(database_url)
    assert {"registered_model", "admin_session", "alembic_version_registry"} <= tables
    assert drift == []

    config = alembic_config(MIGRATIONS_DIR, database_url)
    await asyncio.to_thread(command.downgrade, config, "base")
    tables, _ = await _tables_and_drift(database_url)
    assert "registered_model" not in tables and "admin_session" not in tables
    # And up again: the chain is repeatable.
    await upgrade_to_head_async(MIGRATIONS_DIR, database_url)
    tables, drift = await _tables_and_drift(database_url)
    assert "registered_model" in tables
    assert drift == []


VALUES = {"campaign_arn": "arn:aws:personalize:us-east-1:1:campaign/c", "type": "ranking"}


async def _migrated(url: str) -> AsyncEngine:
    await upgrade_to_head_async(MIGRATIONS_DIR, url)
    return create_engine(url)


async def test_deleted_ids_are_never_reused(database_url: str) -> None:
    # A client holding a deleted model's id must get a 404, never a newer model.
    engine = await _migrated(database_url)
    sessions = create_sessionmaker(engine)
    async with sessions() as db, db.begin():
        ids = [
            (await crud.create_model(session=db, values={**VALUES, "name": f"m{n}"})).id
            for n in range(3)
        ]
    assert ids == [1, 2, 3]
    async with sessions() as db, db.begin():
        model = await crud.get_model(session=db, model_id=3)
        assert model is not None
        await crud.delete_model(session=db, model=model)
    async with sessions() as db, db.begin():
        assert (await crud.create_model(session=db, values={**VALUES, "name": "m4"})).id == 4
    await engine.dispose()


async def test_the_database_refuses_look_alike_names_itself(database_url: str) -> None:
    # Two writes racing past the check would both insert: the unique index stops the second.
    engine = await _migrated(database_url)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Model.__table__),  # type: ignore[attr-defined]
            {**VALUES, "name": "Foo", "name_key": name_key("Foo"), **_stamps()},
        )
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(
                insert(Model.__table__),  # type: ignore[attr-defined]
                {**VALUES, "name": "ｆｏｏ", "name_key": name_key("ｆｏｏ"), **_stamps()},
            )
    await engine.dispose()


def _stamps() -> dict[str, Any]:
    now = utc_now()
    return {"created_at": now, "updated_at": now, "sort_order": 0}


async def test_upgrade_renames_names_that_already_clash(database_url: str) -> None:
    config = alembic_config(MIGRATIONS_DIR, database_url)
    await asyncio.to_thread(command.upgrade, config, "0001")
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        for name in ("Foo", "FOO", "Bar", "ｆｏｏ"):
            await conn.execute(
                text(
                    "INSERT INTO registered_model "
                    "(name, campaign_arn, type, sort_order, created_at, updated_at) "
                    "VALUES (:name, :arn, 'ranking', 0, :now, :now)"
                    # Typed, so SQLAlchemy converts it (sqlite3's own datetime adapter is
                    # deprecated since Python 3.12).
                ).bindparams(bindparam("now", type_=DateTime(timezone=True))),
                {"name": name, "arn": VALUES["campaign_arn"], "now": utc_now()},
            )
    await engine.dispose()
    engine = await _migrated(database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, name FROM registered_model ORDER BY id"))).all()
    await engine.dispose()
    assert [tuple(row) for row in rows] == [
        (1, "Foo"),
        (2, "FOO (#2)"),
        (3, "Bar"),
        (4, "ｆｏｏ (#4)"),
    ]
