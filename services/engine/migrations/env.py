"""Alembic environment of the engine: its SQLModel metadata, run by the shared helper."""

from sqlmodel import SQLModel

import services.engine.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from services.common.migrations import run_env

run_env(SQLModel.metadata)
