"""Alembic environment of the catalog (its own version table: alembic_version_catalog)."""

from sqlmodel import SQLModel

import services.catalog.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from services.common.migrations import run_env

run_env(SQLModel.metadata)
