"""Alert tables: ``alerts`` and ``component_heartbeats``.

An alert is one stretch of time a condition held (a group's runs failing, review requests
parked too long, a listener or worker gone quiet), from ``opened_at`` to ``resolved_at``.
At most one is open per ``(kind, subject)`` (a partial unique index, SQLite and PostgreSQL
alike): that is what makes "one e-mail per incident" hold when two processes evaluate at
once. A heartbeat row is one running instance of a long-lived component (the MLLP listener,
a job runner) and the last time it said it was alive; a clean stop deletes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import UTCDateTime

_OPEN = text("resolved_at IS NULL")


class Alert(Base):
    """One incident of one kind about one subject (``group:12``, ``business:3``, ...)."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "ux_alerts_one_open_per_subject",
            "kind",
            "subject",
            unique=True,
            sqlite_where=_OPEN,
            postgresql_where=_OPEN,
        ),
        Index("ix_alerts_business_id_id", "business_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    """``run_failed``, ``requests_parked``, ``component_quiet``."""
    subject: Mapped[str] = mapped_column(String(80))
    business_id: Mapped[int | None] = mapped_column(Integer)
    """The tenant the alert is about (None: the installation's, e.g. a quiet worker)."""
    summary: Mapped[str] = mapped_column(String(300))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notification: Mapped[str | None] = mapped_column(String(60))
    """``sent``, ``no_support_email`` or ``failed: <code>`` (None: not tried yet)."""
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Ids, counts, error codes, times: never a secret, never patient data."""


class ComponentHeartbeat(Base):
    """The last sign of life of one instance of a long-lived component."""

    __tablename__ = "component_heartbeats"

    component: Mapped[str] = mapped_column(String(40), primary_key=True)
    instance: Mapped[str] = mapped_column(String(120), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime())
