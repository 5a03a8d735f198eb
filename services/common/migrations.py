"""Alembic helpers shared by every service that owns tables.

Each service keeps its own `migrations/` folder (env.py plus versions); env.py calls
`run_env` with the service's metadata. `upgrade_to_head` runs them programmatically,
which is what the prestart step, the CLI and the tests use. Production paths never
call `create_all`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    # `%` is interpolation syntax in ConfigParser.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    # Each service gets its own version table, so services may share one database.
    cfg.set_main_option("version_table", f"alembic_version_{migrations_dir.parent.name}")
    return cfg


def upgrade_to_head(migrations_dir: Path, database_url: str) -> None:
    """Apply every migration of one service (blocking; call it off the event loop)."""
    command.upgrade(alembic_config(migrations_dir, database_url), "head")


async def upgrade_to_head_async(migrations_dir: Path, database_url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, migrations_dir, database_url)


def _do_run(connection: Connection, metadata: MetaData, version_table: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        version_table=version_table,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str, metadata: MetaData, version_table: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_do_run, metadata, version_table)
    await engine.dispose()


def run_env(metadata: MetaData) -> None:
    """Body of every service's alembic env.py (online mode only)."""
    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url")
    version_table = cfg.get_main_option("version_table") or "alembic_version"
    if not url:
        raise SystemExit("alembic: sqlalchemy.url is not set; use upgrade_to_head()")
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_run_async(url, metadata, version_table))
    else:  # pragma: no cover - called from a running loop; use a worker thread instead
        raise RuntimeError("run migrations with upgrade_to_head_async() from async code")
