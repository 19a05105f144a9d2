"""integration_sources.match_key: the location property a source routes by (from its spec)

The composition root upserts every registered source's catalog entry at start-up
(``integrations.catalog.upsert_specs``); the match key is part of it, so routing and the
mapping checks know a group's default match key without naming any vendor's keys.

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
    with op.batch_alter_table("integration_sources") as batch:
        batch.add_column(sa.Column("match_key", sa.String(120), nullable=True))
    op.execute(
        "UPDATE integration_sources SET match_key = 'allscripts.location.name' "
        "WHERE name = 'ALLSCRIPTS'"
    )


def downgrade() -> None:
    with op.batch_alter_table("integration_sources") as batch:
        batch.drop_column("match_key")
