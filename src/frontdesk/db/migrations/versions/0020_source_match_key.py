"""integration_sources: what a source's spec says the core needs (match key, password key)

The composition root upserts every registered source's catalog entry at start-up
(``integrations.catalog.upsert_specs``); these columns are part of it, so routing and the
mapping checks know a group's default match key, and the credential checks which property
is the password that ages and whether the app's own service credentials go along, without
naming any vendor's keys.

Revision ID: 0020
Revises: 0002
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy on SQLite: other tables' foreign keys point here).
    op.add_column("integration_sources", sa.Column("match_key", sa.String(120), nullable=True))
    op.add_column("integration_sources", sa.Column("password_key", sa.String(120), nullable=True))
    op.add_column(
        "integration_sources",
        sa.Column("uses_app_credentials", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        "UPDATE integration_sources SET match_key = 'allscripts.location.name', "
        "password_key = 'PM_Password', uses_app_credentials = TRUE WHERE name = 'ALLSCRIPTS'"
    )


def downgrade() -> None:
    with op.batch_alter_table("integration_sources") as batch:
        batch.drop_column("uses_app_credentials")
        batch.drop_column("password_key")
        batch.drop_column("match_key")
