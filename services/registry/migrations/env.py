"""Alembic environment of the registry: its own tables, its own version table."""

from sqlmodel import SQLModel

import services.registry.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from services.common.migrations import run_env

run_env(SQLModel.metadata)
