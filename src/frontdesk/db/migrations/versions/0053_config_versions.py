"""config_versions: a snapshot of an integration group after each change

Revision ID: 0053
Revises: 0002
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import EncryptedText, UTCDateTime

revision: str = "0053"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "config_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_config_versions"),
        sa.UniqueConstraint("group_id", "number", name="uq_config_versions_group_id_number"),
    )
    op.create_index("ix_config_versions_group_id", "config_versions", ["group_id"])
    op.create_index("ix_config_versions_business_id", "config_versions", ["business_id"])
    op.create_table(
        "config_version_secrets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("secret_value", EncryptedText(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_config_version_secrets"),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["config_versions.id"],
            name="fk_config_version_secrets_version_id_config_versions",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "version_id", "scope", "key", name="uq_config_version_secrets_version_id_scope_key"
        ),
    )
    op.create_index(
        "ix_config_version_secrets_version_id", "config_version_secrets", ["version_id"]
    )


def downgrade() -> None:
    op.drop_table("config_version_secrets")
    op.drop_table("config_versions")
