"""answering service: companies, practices, doctors, API users, tokens, tickets, lockouts

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.db.types import EncryptedText, UTCDateTime

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "answering_practices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_answering_practices"),
        sa.UniqueConstraint("code", name="uq_answering_practices_code"),
    )
    op.create_table(
        "answering_companies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("unassigned_practice_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unassigned_practice_id"],
            ["answering_practices.id"],
            name="fk_answering_companies_unassigned_practice_id",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_answering_companies"),
        sa.UniqueConstraint("name", name="uq_answering_companies_name"),
    )
    op.create_index(
        "ix_answering_companies_unassigned_practice_id",
        "answering_companies",
        ["unassigned_practice_id"],
    )
    op.create_table(
        "answering_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(120), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("encryption_key", EncryptedText(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["answering_companies.id"],
            name="fk_answering_users_company_id_answering_companies",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_answering_users"),
        sa.UniqueConstraint("username", name="uq_answering_users_username"),
    )
    op.create_index("ix_answering_users_company_id", "answering_users", ["company_id"])
    op.create_table(
        "answering_user_practices",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["answering_users.id"],
            name="fk_answering_user_practices_user_id_answering_users",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["answering_practices.id"],
            name="fk_answering_user_practices_practice_id_answering_practices",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "practice_id", name="pk_answering_user_practices"),
    )
    op.create_index(
        "ix_answering_user_practices_practice_id", "answering_user_practices", ["practice_id"]
    )
    op.create_table(
        "answering_doctors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("secure_messaging", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["answering_practices.id"],
            name="fk_answering_doctors_practice_id_answering_practices",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_answering_doctors"),
        sa.UniqueConstraint("practice_id", "code", name="uq_answering_doctors_practice_id_code"),
    )
    op.create_index("ix_answering_doctors_code", "answering_doctors", ["code"])
    op.create_table(
        "answering_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_activity_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["answering_users.id"],
            name="fk_answering_tokens_user_id_answering_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_answering_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_answering_tokens_token_hash"),
    )
    op.create_index("ix_answering_tokens_user_id", "answering_tokens", ["user_id"])
    op.create_table(
        "answering_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(16), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("practice_id", sa.Integer(), nullable=False),
        sa.Column("doctor_id", sa.Integer(), nullable=True),
        sa.Column("unassigned", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        *(
            sa.Column(name, sa.Text(), nullable=False)
            for name in ("prac", "client_code", "dc", "patient_lname", "patient_fname")
        ),
        sa.Column("dob", sa.String(8), nullable=False),
        *(
            sa.Column(name, sa.Text(), nullable=False)
            for name in (
                "sex",
                "complaint",
                "caller_lname",
                "caller_fname",
                "relationship",
                "contact_phone",
                "contact_phone_2",
                "email",
                "address",
                "city",
                "state",
                "zip",
                "comments",
                "txt",
                "call_type",
                "field_mr",
                "notes",
            )
        ),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["answering_companies.id"],
            name="fk_answering_tickets_company_id_answering_companies",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["answering_users.id"],
            name="fk_answering_tickets_user_id_answering_users",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["answering_practices.id"],
            name="fk_answering_tickets_practice_id_answering_practices",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["doctor_id"],
            ["answering_doctors.id"],
            name="fk_answering_tickets_doctor_id_answering_doctors",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_answering_tickets"),
        sa.UniqueConstraint("ticket_id", name="uq_answering_tickets_ticket_id"),
    )
    for column in ("company_id", "user_id", "practice_id", "doctor_id", "content_hash"):
        op.create_index(f"ix_answering_tickets_{column}", "answering_tickets", [column])
    op.create_table(
        "answering_ticket_status_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_pk", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(160), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_pk"],
            ["answering_tickets.id"],
            name="fk_answering_ticket_status_history_ticket_pk_answering_tickets",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_answering_ticket_status_history"),
    )
    op.create_index(
        "ix_answering_ticket_status_history_ticket_pk_id",
        "answering_ticket_status_history",
        ["ticket_pk", "id"],
    )
    op.create_table(
        "answering_login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(120), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_answering_login_failures"),
    )
    op.create_index(
        "ix_answering_login_failures_username_at", "answering_login_failures", ["username", "at"]
    )
    op.create_table(
        "answering_lockouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(120), nullable=False),
        sa.Column("locked_at", UTCDateTime(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("released_by", sa.String(160), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_answering_lockouts"),
    )
    op.create_index(
        "ix_answering_lockouts_username_locked_until",
        "answering_lockouts",
        ["username", "locked_until"],
    )


def downgrade() -> None:
    op.drop_table("answering_lockouts")
    op.drop_table("answering_login_failures")
    op.drop_table("answering_ticket_status_history")
    op.drop_table("answering_tickets")
    op.drop_table("answering_tokens")
    op.drop_table("answering_doctors")
    op.drop_table("answering_user_practices")
    op.drop_table("answering_users")
    op.drop_table("answering_companies")
    op.drop_table("answering_practices")
