"""activations: client activation requests and their status history

Revision ID: 0050
Revises: 0002
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import UTCDateTime

revision: str = "0050"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activation_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("practice_name", sa.String(200), nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(254), nullable=True),
        sa.Column("contact_phone", sa.String(40), nullable=True),
        sa.Column("client_id", sa.String(120), nullable=True),
        sa.Column("service_user_secret", sa.Text(), nullable=True),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(160), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("changed_by", sa.String(160), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name="fk_activation_requests_business_id_businesses",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["integration_sources.id"],
            name="fk_activation_requests_source_id_integration_sources",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_activation_requests"),
        sa.UniqueConstraint(
            "business_id", "source_id", name="uq_activation_requests_business_source"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_activation_requests_business_id", "activation_requests", ["business_id"])
    op.create_table(
        "activation_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activation_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(160), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("notification", sa.String(60), nullable=True),
        sa.ForeignKeyConstraint(
            ["activation_id"],
            ["activation_requests.id"],
            name="fk_activation_events_activation_id_activation_requests",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_activation_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_activation_events_activation_id", "activation_events", ["activation_id"])


def downgrade() -> None:
    op.drop_index("ix_activation_events_activation_id", table_name="activation_events")
    op.drop_table("activation_events")
    op.drop_index("ix_activation_requests_business_id", table_name="activation_requests")
    op.drop_table("activation_requests")
