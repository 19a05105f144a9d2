"""alerts: incidents of failed runs, parked requests, quiet components; heartbeats

Revision ID: 0052
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import UTCDateTime

revision: str = "0052"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("resolved_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.String(300), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("notified_at", UTCDateTime(), nullable=True),
        sa.Column("notification", sa.String(60), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(120), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ux_alerts_one_open_per_subject",
        "alerts",
        ["kind", "subject"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.create_index("ix_alerts_business_id_id", "alerts", ["business_id", "id"])
    op.create_table(
        "component_heartbeats",
        sa.Column("component", sa.String(40), nullable=False),
        sa.Column("instance", sa.String(120), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("beat_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("component", "instance", name="pk_component_heartbeats"),
    )


def downgrade() -> None:
    op.drop_table("component_heartbeats")
    op.drop_index("ix_alerts_business_id_id", table_name="alerts")
    op.drop_index("ux_alerts_one_open_per_subject", table_name="alerts")
    op.drop_table("alerts")
