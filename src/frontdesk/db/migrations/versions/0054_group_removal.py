"""group removal: integration_groups.removed_at (removed groups keep their history)

Revision ID: 0054
Revises: 0002
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import UTCDateTime

revision: str = "0054"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Deleting a group would cascade to its check-ins, review requests and runs: removal
    # marks the row instead (see integrations/removal.py).
    op.add_column("integration_groups", sa.Column("removed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("integration_groups") as batch:
        batch.drop_column("removed_at")
