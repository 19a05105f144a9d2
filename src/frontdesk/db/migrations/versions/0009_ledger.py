"""ledger: review_requests (one row per review request, claim → send → record)

Revision ID: 0009
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("scope_business_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("trigger_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("message_id", sa.String(200), nullable=True),
        sa.Column("last_error_code", sa.String(64), nullable=True),
        sa.Column("last_error", sa.String(300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkins.id"],
            name="fk_review_requests_checkin_id_checkins",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name="fk_review_requests_business_id_businesses",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["scope_business_id"],
            ["businesses.id"],
            name="fk_review_requests_scope_business",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["integration_sources.id"],
            name="fk_review_requests_source_id_integration_sources",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_review_requests"),
        sa.UniqueConstraint(
            "business_id",
            "source_id",
            "appointment_id",
            "trigger_id",
            "channel",
            name="uq_review_requests_key",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_review_requests_checkin_id", "review_requests", ["checkin_id"])
    op.create_index(
        "ix_review_requests_state_next_attempt_at", "review_requests", ["state", "next_attempt_at"]
    )
    op.create_index(
        "ix_review_requests_business_id_created_at",
        "review_requests",
        ["business_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_table("review_requests")
