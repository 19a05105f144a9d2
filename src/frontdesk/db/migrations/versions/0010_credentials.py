"""credentials: incidents (one open per group) and expiry warnings

Revision ID: 0010
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("resolved_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "credential_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("missed_from", sa.Date(), nullable=False),
        sa.Column("notified_at", UTCDateTime(), nullable=True),
        sa.Column("notification", sa.String(60), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(120), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["integration_groups.id"],
            name="fk_credential_incidents_group_id_integration_groups",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_credential_incidents"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_credential_incidents_group_id", "credential_incidents", ["group_id"])
    op.create_index(
        "ux_credential_incidents_one_open_per_group",
        "credential_incidents",
        ["group_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )
    op.create_table(
        "credential_warnings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("basis", sa.String(40), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("audited_on", sa.Date(), nullable=False),
        sa.Column("emailed_at", UTCDateTime(), nullable=True),
        sa.Column("notification", sa.String(60), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["integration_groups.id"],
            name="fk_credential_warnings_group_id_integration_groups",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_credential_warnings"),
        sa.UniqueConstraint("group_id", "kind", "basis", name="uq_credential_warnings_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_credential_warnings_group_id", "credential_warnings", ["group_id"])


def downgrade() -> None:
    op.drop_index("ix_credential_warnings_group_id", table_name="credential_warnings")
    op.drop_table("credential_warnings")
    op.drop_index("ux_credential_incidents_one_open_per_group", table_name="credential_incidents")
    op.drop_index("ix_credential_incidents_group_id", table_name="credential_incidents")
    op.drop_table("credential_incidents")
