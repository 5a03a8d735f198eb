"""Prestart step: `python -m services.catalog.migrate` applies the catalog's Alembic migrations."""

from __future__ import annotations

from services.catalog.config import get_settings
from services.catalog.loader import MIGRATIONS_DIR
from services.common.migrations import upgrade_to_head


def main() -> None:
    upgrade_to_head(MIGRATIONS_DIR, get_settings().DATABASE_URL)


if __name__ == "__main__":
    main()
