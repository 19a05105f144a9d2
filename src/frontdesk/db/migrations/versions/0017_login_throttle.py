"""login throttle: per (source, username), source and account counters; lockout kinds

``login_throttle`` replaces ``answering_login_failures`` (one row per failure, counted after
the password check) with counters charged before the check, shared by tokenCreate and the
dashboard login. ``answering_lockouts`` records what a lock covers (``kind``, ``source``).

Revision ID: 0017
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import UTCDateTime

revision: str = "0017"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_login_throttle"),
    )
    op.create_index("ix_login_throttle_scope_subject", "login_throttle", ["scope", "subject"])
    op.create_index("ix_login_throttle_window_start", "login_throttle", ["window_start"])
    with op.batch_alter_table("answering_lockouts") as batch:
        batch.add_column(sa.Column("kind", sa.String(8), nullable=True))
        batch.add_column(sa.Column("source", sa.String(64), nullable=True))
    op.drop_index("ix_answering_login_failures_username_at", table_name="answering_login_failures")
    op.drop_table("answering_login_failures")


def downgrade() -> None:
    op.create_table(
        "answering_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(120), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_answering_login_failures"),
    )
    op.create_index(
        "ix_answering_login_failures_username_at",
        "answering_login_failures",
        ["username", "at"],
    )
    with op.batch_alter_table("answering_lockouts") as batch:
        batch.drop_column("source")
        batch.drop_column("kind")
    op.drop_index("ix_login_throttle_window_start", table_name="login_throttle")
    op.drop_index("ix_login_throttle_scope_subject", table_name="login_throttle")
    op.drop_table("login_throttle")
