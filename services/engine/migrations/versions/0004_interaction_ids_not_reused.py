"""interaction ids are never reused (SQLite AUTOINCREMENT)

The event feed (services/engine/runtime/event_feed.py) follows the table by id. Without
AUTOINCREMENT, SQLite gives a new row max(id) + 1, so deleting the newest rows (a dataset
group's) made the next events reuse ids the feed had already passed. PostgreSQL's
sequences never reuse ids: nothing to do there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 19:20:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # The table is copied into one declared with AUTOINCREMENT, ids kept.
    with op.batch_alter_table(
        "interaction", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "interaction", recreate="always", table_kwargs={"sqlite_autoincrement": False}
    ):
        pass
