"""batch inference and batch segment jobs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 23:40:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _common() -> list[sa.Column]:
    string = sqlmodel.sql.sqltypes.AutoString
    return [
        sa.Column("arn", string(length=256), nullable=False),
        sa.Column("name", string(length=63), nullable=False),
        sa.Column("status", string(length=32), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
        sa.Column("solution_version_arn", string(length=256), nullable=False),
        sa.Column("num_results", sa.Integer(), nullable=False),
        sa.Column("input_path", string(length=256), nullable=False),
        sa.Column("output_path", string(length=256), nullable=False),
        sa.Column("role_arn", string(length=256), nullable=True),
    ]


def upgrade() -> None:
    string = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "batch_inference_job",
        *_common(),
        sa.Column("filter_arn", string(length=256), nullable=True),
        sa.Column("job_config", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("arn"),
    )
    op.create_table("batch_segment_job", *_common(), sa.PrimaryKeyConstraint("arn"))
    for table in ("batch_inference_job", "batch_segment_job"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_name"), ["name"], unique=False)
            batch_op.create_index(
                batch_op.f(f"ix_{table}_solution_version_arn"),
                ["solution_version_arn"],
                unique=False,
            )


def downgrade() -> None:
    op.drop_table("batch_segment_job")
    op.drop_table("batch_inference_job")
