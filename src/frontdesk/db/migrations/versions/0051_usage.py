"""usage_counts: daily usage per business, kind and subject (the meter's flushes)

Revision ID: 0051
Revises: 0001
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0051"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_counts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("total_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_usage_counts"),
        sa.UniqueConstraint(
            "day",
            "business_id",
            "kind",
            "subject",
            name="uq_usage_counts_day_business_id_kind_subject",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_usage_counts_day", "usage_counts", ["day"])


def downgrade() -> None:
    op.drop_table("usage_counts")
