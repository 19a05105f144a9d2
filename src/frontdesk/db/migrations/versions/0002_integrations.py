"""integrations: catalog (seeded), groups, triggers, properties, mappings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import EncryptedText, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _property_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("secret_value", EncryptedText(), nullable=True),
        sa.Column("is_secure", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    trigger_types = op.create_table(
        "integration_trigger_types",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_integration_trigger_types"),
        sa.UniqueConstraint("name", name="uq_integration_trigger_types_name"),
    )
    sources = op.create_table(
        "integration_sources",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("source_category", sa.String(60), nullable=False),
        sa.Column("integration_type", sa.String(60), nullable=False),
        sa.Column("oauth_enabled", sa.Boolean(), nullable=False),
        sa.Column("lifecycle", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_integration_sources"),
        sa.UniqueConstraint("name", name="uq_integration_sources_name"),
    )
    triggers = op.create_table(
        "integration_triggers",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("trigger_service", sa.String(120), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("trigger_type_id", sa.Integer(), nullable=False),
        sa.Column("action_group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["integration_sources.id"],
            name="fk_integration_triggers_source_id_integration_sources",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["trigger_type_id"],
            ["integration_trigger_types.id"],
            name="fk_integration_triggers_trigger_type",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_integration_triggers"),
        sa.UniqueConstraint("trigger_service", name="uq_integration_triggers_trigger_service"),
    )
    op.create_index("ix_integration_triggers_source_id", "integration_triggers", ["source_id"])
    op.create_table(
        "integration_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.String(300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name="fk_integration_groups_business_id_businesses",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["integration_sources.id"],
            name="fk_integration_groups_source_id_integration_sources",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_integration_groups"),
        sa.UniqueConstraint(
            "business_id", "source_id", name="uq_integration_groups_business_id_source_id"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_integration_groups_source_id", "integration_groups", ["source_id"])
    op.create_table(
        "integration_group_triggers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("trigger_id", sa.Integer(), nullable=False),
        sa.Column("trigger_type_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["integration_groups.id"],
            name="fk_integration_group_triggers_group_id_integration_groups",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trigger_id"],
            ["integration_triggers.id"],
            name="fk_integration_group_triggers_trigger_id_integration_triggers",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["trigger_type_id"],
            ["integration_trigger_types.id"],
            name="fk_integration_group_triggers_trigger_type",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_integration_group_triggers"),
        sa.UniqueConstraint(
            "group_id", "trigger_id", name="uq_integration_group_triggers_group_id_trigger_id"
        ),
    )
    op.create_table(
        "integration_group_properties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        *_property_columns(),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["integration_groups.id"],
            name="fk_integration_group_properties_group_id_integration_groups",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_integration_group_properties"),
        sa.UniqueConstraint("group_id", "key", name="uq_integration_group_properties_group_id_key"),
    )
    op.create_table(
        "integration_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("frequency_value", sa.Integer(), nullable=False),
        sa.Column("frequency_unit", sa.String(8), nullable=False),
        sa.Column("next_run_at", UTCDateTime(), nullable=False),
        sa.Column("customer_fetch_delay_days", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["integration_groups.id"],
            name="fk_integration_mappings_group_id_integration_groups",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name="fk_integration_mappings_business_id_businesses",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_integration_mappings"),
        sa.UniqueConstraint(
            "group_id", "business_id", name="uq_integration_mappings_group_id_business_id"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_integration_mappings_business_id", "integration_mappings", ["business_id"])
    op.create_table(
        "integration_mapping_properties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mapping_id", sa.Integer(), nullable=False),
        *_property_columns(),
        sa.ForeignKeyConstraint(
            ["mapping_id"],
            ["integration_mappings.id"],
            name="fk_integration_mapping_properties_mapping",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_integration_mapping_properties"),
        sa.UniqueConstraint(
            "mapping_id", "key", name="uq_integration_mapping_properties_mapping_id_key"
        ),
    )

    # The catalog is data: a new source or trigger is a new migration with rows like these.
    op.bulk_insert(trigger_types, [{"id": 1, "name": "JOB"}])
    op.bulk_insert(
        sources,
        [
            {
                "id": 32,
                "name": "ALLSCRIPTS",
                "source_category": "Healthcare",
                "integration_type": "Birdeye API",
                "oauth_enabled": False,
                "lifecycle": "live",
            }
        ],
    )
    op.bulk_insert(
        triggers,
        [
            {
                "id": 56,
                "source_id": 32,
                "trigger_service": "allscriptsAppointmentTriggerService",
                "display_name": "Allscripts Appointment Trigger",
                "description": "This trigger is used to fetch appointments from Allscripts "
                "based upon the date specified",
                "active": True,
                "trigger_type_id": 1,
                "action_group_id": 1,
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("integration_mapping_properties")
    op.drop_table("integration_mappings")
    op.drop_table("integration_group_properties")
    op.drop_table("integration_group_triggers")
    op.drop_table("integration_groups")
    op.drop_table("integration_triggers")
    op.drop_table("integration_sources")
    op.drop_table("integration_trigger_types")
