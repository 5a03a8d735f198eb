"""Admin sessions on the server; look-alike model names refused; model ids never reused.

- `admin_session`: signed-in sessions (by the SHA-256 of the cookie's session id), so a
  sign-out revokes the cookie on every replica and across restarts.
- `registered_model.name_key`: SHA-256 of NFKC(name).casefold(), unique, replacing the
  unique plain name ("Foo", "FOO" and "ｆｏｏ" are one name to a reader). Existing rows
  that fold to the same key keep the oldest name; later ones get " (#<id>)" appended.
- SQLite: the table is rebuilt with AUTOINCREMENT so a deleted id is never handed out
  again (PostgreSQL's sequence already never goes back).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import hashlib
import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger(__name__)
NAME_MAX = 64


def _name_key(name: str) -> str:
    # A copy of services.registry.models.name_key as of this revision: a migration must
    # not change meaning when the application code does.
    return hashlib.sha256(unicodedata.normalize("NFKC", name).casefold().encode()).hexdigest()


def _fill_name_keys() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, name FROM registered_model ORDER BY id"))
    seen: set[str] = set()
    for model_id, name in rows.fetchall():
        new_name, key, attempt = name, _name_key(name), 1
        # The unique index would refuse the clash and stop the service from starting.
        while key in seen:
            suffix = f" (#{model_id})" if attempt == 1 else f" (#{model_id}.{attempt})"
            new_name = name[: NAME_MAX - len(suffix)] + suffix
            key, attempt = _name_key(new_name), attempt + 1
        if new_name != name:
            logger.warning(
                "registered model %s renamed %r -> %r: its name clashed with an older one",
                model_id,
                name,
                new_name,
            )
        seen.add(key)
        connection.execute(
            sa.text("UPDATE registered_model SET name = :name, name_key = :key WHERE id = :id"),
            {"name": new_name, "key": key, "id": model_id},
        )


def _recreate() -> str:
    # SQLite can only gain AUTOINCREMENT by rebuilding the table.
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"


def upgrade() -> None:
    op.create_table(
        "admin_session",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_admin_session_expires_at", "admin_session", ["expires_at"])

    op.add_column("registered_model", sa.Column("name_key", sa.String(64), nullable=True))
    _fill_name_keys()
    with op.batch_alter_table(
        "registered_model",
        recreate=_recreate(),
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch:
        batch.alter_column("name_key", existing_type=sa.String(64), nullable=False)
        batch.drop_constraint("uq_registered_model_name", type_="unique")
        batch.create_unique_constraint("uq_registered_model_name_key", ["name_key"])


def downgrade() -> None:
    with op.batch_alter_table("registered_model", recreate=_recreate()) as batch:
        batch.drop_constraint("uq_registered_model_name_key", type_="unique")
        batch.create_unique_constraint("uq_registered_model_name", ["name"])
        batch.drop_column("name_key")
    op.drop_index("ix_admin_session_expires_at", table_name="admin_session")
    op.drop_table("admin_session")
