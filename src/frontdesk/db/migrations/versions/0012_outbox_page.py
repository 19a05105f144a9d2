"""review_requests: indexes of the dashboard's Outbox page (newest first, by state)

The page lists the requests of every tenant, a practice or a location, newest first
(``id``), optionally of one state, with bounded counts per state. ``(state, id)``,
``(scope_business_id, state, id)`` and ``(business_id, state, id)`` make each of those
an index range in ``id`` order (a list without a state merges the five states' ranges);
``(appointment_id)`` finds an appointment's requests.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_review_requests_state_id": ["state", "id"],
    "ix_review_requests_scope_state_id": ["scope_business_id", "state", "id"],
    "ix_review_requests_business_state_id": ["business_id", "state", "id"],
    "ix_review_requests_appointment_id": ["appointment_id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "review_requests", columns)


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="review_requests")
