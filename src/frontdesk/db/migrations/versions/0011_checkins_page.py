"""checkins: indexes of the dashboard's Check-ins page (keyset by appointment time)

The page lists one appointment day of a practice, a location or every tenant, ordered by
``(appointment_start, id)`` and paged by keyset; the two day indexes of 0005 are extended
with those columns (they stay usable as prefixes for every query that used them), one more
serves staff who see every tenant, and one finds an appointment id across days.

Revision ID: 0011
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DAY_START = ["appointment_day", "appointment_start", "id"]


def upgrade() -> None:
    op.drop_index("ix_checkins_scope_day", table_name="checkins")
    op.drop_index("ix_checkins_business_day", table_name="checkins")
    op.create_index("ix_checkins_scope_day_start", "checkins", ["scope_business_id", *DAY_START])
    op.create_index("ix_checkins_business_day_start", "checkins", ["business_id", *DAY_START])
    op.create_index("ix_checkins_day_start", "checkins", DAY_START)
    op.create_index("ix_checkins_appointment", "checkins", ["appointment_id"])


def downgrade() -> None:
    op.drop_index("ix_checkins_appointment", table_name="checkins")
    op.drop_index("ix_checkins_day_start", table_name="checkins")
    op.drop_index("ix_checkins_business_day_start", table_name="checkins")
    op.drop_index("ix_checkins_scope_day_start", table_name="checkins")
    op.create_index("ix_checkins_business_day", "checkins", ["business_id", "appointment_day"])
    op.create_index("ix_checkins_scope_day", "checkins", ["scope_business_id", "appointment_day"])
