"""delivery: message templates, captured mail, opt-outs, the contact-hash pepper

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import EncryptedText, UTCDateTime

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name="fk_message_templates_business_id_businesses",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_message_templates"),
        sa.UniqueConstraint(
            "business_id", "channel", name="uq_message_templates_business_id_channel"
        ),
    )
    op.create_table(
        "captured_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("mail_from", sa.String(320), nullable=False),
        sa.Column("rcpt_tos", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_captured_mail"),
    )
    op.create_index("ix_captured_mail_message_id", "captured_mail", ["message_id"])
    op.create_table(
        "opt_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("contact_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("request_key", sa.String(255), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name="fk_opt_outs_business_id_businesses",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_opt_outs"),
        sa.UniqueConstraint(
            "business_id",
            "channel",
            "contact_hash",
            name="uq_opt_outs_business_id_channel_contact_hash",
        ),
    )
    op.create_table(
        "contact_peppers",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", EncryptedText(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_contact_peppers"),
    )


def downgrade() -> None:
    op.drop_table("contact_peppers")
    op.drop_table("opt_outs")
    op.drop_index("ix_captured_mail_message_id", table_name="captured_mail")
    op.drop_table("captured_mail")
    op.drop_table("message_templates")
