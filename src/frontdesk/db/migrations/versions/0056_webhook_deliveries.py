"""one signed-webhook delivery: the outbound event store ``webhook_events`` replaces
``answering_webhook_deliveries`` (its rows move over with their ids)

Revision ID: 0056
Revises: 0008
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import EncryptedText, UTCDateTime

revision: str = "0056"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "answering_webhook_deliveries"
NEW = "webhook_events"
SHARED = (
    "id, event, company_id, ticket_pk, payload, state, attempts, next_attempt_at, "
    "last_status_code, last_error, created_at, updated_at, delivered_at"
)


def _fk(table: str, column: str, referred: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{referred}.id"], name=f"fk_{table}_{column}_{referred}", ondelete="CASCADE"
    )


def _state_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
    ]


def _reset_sequence(table: str) -> None:
    """PostgreSQL: the id sequence continues after the ids copied in."""
    if op.get_bind().dialect.name == "postgresql":
        sequence = f"pg_get_serial_sequence('{table}', 'id')"
        highest = f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1"  # noqa: S608 (a constant)
        op.execute(f"SELECT setval({sequence}, {highest}, false)")


def upgrade() -> None:
    op.create_table(
        NEW,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("ticket_pk", sa.Integer(), nullable=True),
        sa.Column("business_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("sealed", EncryptedText(), nullable=True),
        *_state_columns(),
        _fk(NEW, "company_id", "answering_companies"),
        _fk(NEW, "ticket_pk", "answering_tickets"),
        _fk(NEW, "business_id", "businesses"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{NEW}"),
        sa.UniqueConstraint("event_id", name=f"uq_{NEW}_event_id"),
    )
    for columns in (["company_id"], ["ticket_pk"], ["business_id"]):
        op.create_index(f"ix_{NEW}_{columns[0]}", NEW, columns)
    op.create_index(f"ix_{NEW}_state_next_attempt_at", NEW, ["state", "next_attempt_at"])
    op.create_index(f"ix_{NEW}_kind_state_id", NEW, ["kind", "state", "id"])
    # The desk's deliveries, pending or not, keep their ids: receivers dedupe by them
    # (X-Frontdesk-Delivery) and operators know them.
    rows = f"SELECT 'tkt_' || CAST(id AS VARCHAR(20)), 'ticket', {SHARED} FROM {OLD}"  # noqa: S608
    op.execute(f"INSERT INTO {NEW} (event_id, kind, {SHARED}) {rows}")
    _reset_sequence(NEW)
    op.drop_table(OLD)


def downgrade() -> None:
    op.create_table(
        OLD,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("ticket_pk", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        *_state_columns(),
        _fk(OLD, "company_id", "answering_companies"),
        _fk(OLD, "ticket_pk", "answering_tickets"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{OLD}"),
    )
    op.create_index(f"ix_{OLD}_company_id", OLD, ["company_id"])
    op.create_index(f"ix_{OLD}_ticket_pk", OLD, ["ticket_pk"])
    op.create_index(f"ix_{OLD}_state_next_attempt_at", OLD, ["state", "next_attempt_at"])
    op.execute(  # table and column names are this module's constants
        f"INSERT INTO {OLD} ({SHARED}) SELECT {SHARED} FROM {NEW} WHERE kind = 'ticket'"  # noqa: S608
    )
    _reset_sequence(OLD)
    op.drop_table(NEW)  # review events go with it: their requests stay sent in the ledger
