"""messaging: SMS consent per sender (and its history), delivery statuses, webhook endpoints,
tracked links

Revision ID: 0022
Revises: 0009
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import UTCDateTime

revision: str = "0022"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_consents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sender", sa.String(40), nullable=False),
        sa.Column("contact_hash", sa.String(64), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("keyword", sa.String(20), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("sender", "contact_hash", name="uq_sms_consents_key"),
    )
    op.create_table(
        "sms_consent_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sender", sa.String(40), nullable=False),
        sa.Column("contact_hash", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("keyword", sa.String(20), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_sms_consent_events_key", "sms_consent_events", ["sender", "contact_hash"])
    op.create_table(
        "delivery_statuses",
        sa.Column("message_id", sa.String(200), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(16), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column(
            "business_id",
            sa.Integer(),
            sa.ForeignKey("businesses.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("rotated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "tracked_links",
        sa.Column("token", sa.String(16), primary_key=True),
        sa.Column("ledger_key", sa.String(255), nullable=False, unique=True),
        sa.Column("target_url", sa.String(1000), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("first_clicked_at", UTCDateTime(), nullable=True),
        sa.Column("last_clicked_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("tracked_links")
    op.drop_table("webhook_endpoints")
    op.drop_table("delivery_statuses")
    op.drop_index("ix_sms_consent_events_key", table_name="sms_consent_events")
    op.drop_table("sms_consent_events")
    op.drop_table("sms_consents")
