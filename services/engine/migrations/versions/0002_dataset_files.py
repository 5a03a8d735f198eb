"""dataset files: imported rows as Parquet file sets in the artifact store

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 17:20:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_files",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("dataset_arn", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column(
            "dataset_group_arn", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False
        ),
        sa.Column("job_arn", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("files", sa.Text(), nullable=False),
        sa.Column("created", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_dataset_files_dataset_arn", "dataset_files", ["dataset_arn"])
    op.create_index("ix_dataset_files_dataset_group_arn", "dataset_files", ["dataset_group_arn"])


def downgrade() -> None:
    op.drop_index("ix_dataset_files_dataset_group_arn", table_name="dataset_files")
    op.drop_index("ix_dataset_files_dataset_arn", table_name="dataset_files")
    op.drop_table("dataset_files")
