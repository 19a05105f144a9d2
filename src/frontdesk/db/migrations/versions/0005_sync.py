"""sync: runs, the mappings they cover, the decision log (check-ins)

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import EncryptedText, UTCDateTime

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade() -> None:
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("run_day", sa.Date(), nullable=False),
        sa.Column("window_first", sa.Date(), nullable=False),
        sa.Column("window_last", sa.Date(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", UTCDateTime(), nullable=False),
        sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(60), nullable=True),
        sa.Column("error_message", sa.String(500), nullable=True),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(120), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["integration_groups.id"],
            name="fk_sync_runs_group_id_integration_groups",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sync_runs"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sync_runs_group_id", "sync_runs", ["group_id"])
    op.create_index("ix_sync_runs_status_available_at", "sync_runs", ["status", "available_at"])
    op.create_index(
        "ux_sync_runs_one_active_per_group",
        "sync_runs",
        ["group_id"],
        unique=True,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_table(
        "sync_run_mappings",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("mapping_id", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sync_runs.id"],
            name="fk_sync_run_mappings_run_id_sync_runs",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mapping_id"],
            ["integration_mappings.id"],
            name="fk_sync_run_mappings_mapping",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "mapping_id", name="pk_sync_run_mappings"),
    )
    op.create_index("ix_sync_run_mappings_mapping_id", "sync_run_mappings", ["mapping_id"])
    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("trigger_id", sa.Integer(), nullable=True),
        sa.Column("mapping_id", sa.Integer(), nullable=True),
        sa.Column("business_id", sa.Integer(), nullable=True),
        sa.Column("scope_business_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("appointment_start", UTCDateTime(), nullable=False),
        sa.Column("appointment_day", sa.Date(), nullable=False),
        sa.Column("pms_appointment_status", sa.String(64), nullable=False),
        sa.Column("pms_appointment_type", sa.String(64), nullable=False),
        sa.Column("pms_appointment_practice_name", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("restriction_reason", sa.String(32), nullable=True),
        sa.Column("detail", sa.String(200), nullable=True),
        sa.Column("contact_hash", sa.String(64), nullable=True),
        sa.Column("patient_sealed", EncryptedText(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_runs.id"], name="fk_checkins_run_id_sync_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["integration_groups.id"],
            name="fk_checkins_group_id_integration_groups",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["integration_sources.id"],
            name="fk_checkins_source_id_integration_sources",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["trigger_id"],
            ["integration_triggers.id"],
            name="fk_checkins_trigger_id_integration_triggers",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["mapping_id"],
            ["integration_mappings.id"],
            name="fk_checkins_mapping",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name="fk_checkins_business_id_businesses",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["scope_business_id"],
            ["businesses.id"],
            name="fk_checkins_scope_business",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_checkins"),
        sa.UniqueConstraint(
            "group_id",
            "appointment_id",
            "appointment_day",
            name="uq_checkins_group_id_appointment_id_appointment_day",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_checkins_run_id", "checkins", ["run_id"])
    op.create_index("ix_checkins_scope_day", "checkins", ["scope_business_id", "appointment_day"])
    op.create_index("ix_checkins_scope_patient", "checkins", ["scope_business_id", "patient_id"])
    op.create_index("ix_checkins_scope_contact", "checkins", ["scope_business_id", "contact_hash"])
    op.create_index("ix_checkins_business_day", "checkins", ["business_id", "appointment_day"])


def downgrade() -> None:
    op.drop_table("checkins")
    op.drop_table("sync_run_mappings")
    op.drop_index("ux_sync_runs_one_active_per_group", table_name="sync_runs")
    op.drop_table("sync_runs")
