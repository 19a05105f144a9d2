"""ticket desk: assignee, transition details, notes, re-filings, idempotency keys, webhooks

Revision ID: 0008
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import EncryptedText, UTCDateTime

revision: str = "0008"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ticket_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["ticket_pk"],
        ["answering_tickets.id"],
        name=f"fk_{table}_ticket_pk_answering_tickets",
        ondelete="CASCADE",
    )


def _company_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["company_id"],
        ["answering_companies.id"],
        name=f"fk_{table}_company_id_answering_companies",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    with op.batch_alter_table("answering_tickets") as batch:
        batch.add_column(sa.Column("assignee_user_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("assignee_name", sa.String(80), nullable=True))
        batch.create_index("ix_answering_tickets_assignee_user_id", ["assignee_user_id"])
    with op.batch_alter_table("answering_ticket_status_history") as batch:
        batch.add_column(sa.Column("from_status", sa.String(32), nullable=True))
        batch.add_column(sa.Column("actor_role", sa.String(32), nullable=True))
        batch.add_column(sa.Column("assignee", sa.String(80), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))

    op.create_table(
        "answering_ticket_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_pk", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(160), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        _ticket_fk("answering_ticket_notes"),
        sa.PrimaryKeyConstraint("id", name="pk_answering_ticket_notes"),
    )
    op.create_index(
        "ix_answering_ticket_notes_ticket_pk_id", "answering_ticket_notes", ["ticket_pk", "id"]
    )

    op.create_table(
        "answering_ticket_refilings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_pk", sa.Integer(), nullable=False),
        sa.Column("from_practice", sa.String(64), nullable=False),
        sa.Column("to_practice", sa.String(64), nullable=False),
        sa.Column("from_doctor", sa.String(64), nullable=True),
        sa.Column("to_doctor", sa.String(64), nullable=True),
        sa.Column("was_unassigned", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(160), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        _ticket_fk("answering_ticket_refilings"),
        sa.PrimaryKeyConstraint("id", name="pk_answering_ticket_refilings"),
    )
    op.create_index(
        "ix_answering_ticket_refilings_ticket_pk_id",
        "answering_ticket_refilings",
        ["ticket_pk", "id"],
    )

    op.create_table(
        "answering_idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("ticket_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _company_fk("answering_idempotency_keys"),
        _ticket_fk("answering_idempotency_keys"),
        sa.PrimaryKeyConstraint("id", name="pk_answering_idempotency_keys"),
        sa.UniqueConstraint(
            "company_id", "key_hash", name="uq_answering_idempotency_keys_company_id_key_hash"
        ),
    )
    op.create_index(
        "ix_answering_idempotency_keys_ticket_pk", "answering_idempotency_keys", ["ticket_pk"]
    )
    op.create_index(
        "ix_answering_idempotency_keys_created_at", "answering_idempotency_keys", ["created_at"]
    )

    op.create_table(
        "answering_company_webhooks",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", EncryptedText(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _company_fk("answering_company_webhooks"),
        sa.PrimaryKeyConstraint("company_id", name="pk_answering_company_webhooks"),
    )

    op.create_table(
        "answering_webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("ticket_pk", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        _company_fk("answering_webhook_deliveries"),
        _ticket_fk("answering_webhook_deliveries"),
        sa.PrimaryKeyConstraint("id", name="pk_answering_webhook_deliveries"),
    )
    op.create_index(
        "ix_answering_webhook_deliveries_company_id", "answering_webhook_deliveries", ["company_id"]
    )
    op.create_index(
        "ix_answering_webhook_deliveries_ticket_pk", "answering_webhook_deliveries", ["ticket_pk"]
    )
    op.create_index(
        "ix_answering_webhook_deliveries_state_next_attempt_at",
        "answering_webhook_deliveries",
        ["state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("answering_webhook_deliveries")
    op.drop_table("answering_company_webhooks")
    op.drop_table("answering_idempotency_keys")
    op.drop_table("answering_ticket_refilings")
    op.drop_table("answering_ticket_notes")
    # recreate="never": ALTER TABLE DROP COLUMN (SQLite >= 3.35). Recreating answering_tickets
    # would DROP it with foreign keys on, and cascade to its status history.
    with op.batch_alter_table("answering_ticket_status_history", recreate="never") as batch:
        for column in ("note", "assignee", "actor_role", "from_status"):
            batch.drop_column(column)
    with op.batch_alter_table("answering_tickets", recreate="never") as batch:
        batch.drop_index("ix_answering_tickets_assignee_user_id")
        batch.drop_column("assignee_name")
        batch.drop_column("assignee_user_id")
