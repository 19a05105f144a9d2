"""hl7_messages: the HL7v2 message store (raw messages encrypted at rest)

Revision ID: 0040
Revises: 0001
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import EncryptedText, UTCDateTime

revision: str = "0040"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hl7_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("control_id", sa.String(200), nullable=False),
        sa.Column("sending_facility", sa.String(200), nullable=False),
        sa.Column("sending_application", sa.String(200), nullable=False),
        sa.Column("message_type", sa.String(20), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.String(300), nullable=True),
        sa.Column("appointment_id", sa.String(200), nullable=True),
        sa.Column("appointment_day", sa.Date(), nullable=True),
        sa.Column("location", sa.String(200), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
        sa.Column("raw", EncryptedText(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hl7_messages"),
        sa.UniqueConstraint(
            "sending_facility", "control_id", name="uq_hl7_messages_sending_facility_control_id"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_hl7_messages_facility_day", "hl7_messages", ["sending_facility", "appointment_day"]
    )
    op.create_index(
        "ix_hl7_messages_facility_appointment",
        "hl7_messages",
        ["sending_facility", "appointment_id"],
    )
    op.create_index("ix_hl7_messages_state", "hl7_messages", ["state"])
    op.create_index("ix_hl7_messages_received_at", "hl7_messages", ["received_at"])


def downgrade() -> None:
    op.drop_table("hl7_messages")
