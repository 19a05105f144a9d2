"""Credential tables: ``credential_incidents`` and ``credential_warnings``.

An incident is one stretch of time a group could not run because a human must act
(rejected credentials, a missing licence). At most one is open per group (a partial unique
index, SQLite and PostgreSQL alike), which is what makes "one e-mail per incident" hold
when two runs fail at once. A warning row is one expiry warning of a group for one
``basis`` (the time the PM password was set, the service credentials' expiry date): it is
audited once per day and e-mailed once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import UTCDateTime

_OPEN = text("resolved_at IS NULL")


class CredentialIncident(Base):
    """A group stopped by its credentials or licence, from ``opened_at`` to ``resolved_at``."""

    __tablename__ = "credential_incidents"
    __table_args__ = (
        Index(
            "ux_credential_incidents_one_open_per_group",
            "group_id",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("integration_groups.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(40))
    """``wrong_pm_password``, ``pm_password_expired``, ``wrong_service_credentials``, ...,
    or ``missing_license``."""
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    missed_from: Mapped[date] = mapped_column(Date)
    """The first window day no run covered (the failed run's first day)."""
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notification: Mapped[str | None] = mapped_column(String(60))
    """``sent``, ``no_support_email`` or ``failed: <code>`` (None: not tried yet)."""
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Run id, message, missing action: never a secret."""


class CredentialWarning(Base):
    """One expiry warning of a group for one basis (audited daily, e-mailed once)."""

    __tablename__ = "credential_warnings"
    __table_args__ = (
        UniqueConstraint("group_id", "kind", "basis", name="uq_credential_warnings_key"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("integration_groups.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    basis: Mapped[str] = mapped_column(String(40))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    audited_on: Mapped[date] = mapped_column(Date)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notification: Mapped[str | None] = mapped_column(String(60))
