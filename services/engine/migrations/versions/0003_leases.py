"""leases: which engine replica runs a resource's background work

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 16:40:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lease",
        sa.Column("arn", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("expires", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("arn"),
    )


def downgrade() -> None:
    op.drop_table("lease")
