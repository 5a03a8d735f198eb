"""Create the registered_model table.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registered_model",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("campaign_arn", sa.String(256), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_registered_model_name"),
        sa.CheckConstraint(
            "type IN ('recommendations', 'ranking', 'similar-items')",
            name="ck_registered_model_type",
        ),
    )
    op.create_index("ix_registered_model_type", "registered_model", ["type"])


def downgrade() -> None:
    op.drop_index("ix_registered_model_type", table_name="registered_model")
    op.drop_table("registered_model")
