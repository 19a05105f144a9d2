"""channel choices: the channels an eligible check-in's decision chose

Revision ID: 0055
Revises: 0022
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0055"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: older decisions go by their mapping's review.channel, as before.
    op.add_column("checkins", sa.Column("channels", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("checkins") as batch:
        batch.drop_column("channels")
