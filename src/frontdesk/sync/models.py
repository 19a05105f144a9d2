"""Sync tables: ``sync_runs`` (one pull of a group's schedule) and the mappings it covers.

At most one run per group is ``queued`` or ``running``: a partial unique index enforces it
(SQLite and PostgreSQL alike), so two dispatchers racing for a group cannot both win. Runs
that must wait for their turn (backfill chunks, a second window) are ``waiting``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import UTCDateTime

WAITING, QUEUED, RUNNING = "waiting", "queued", "running"
SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
ACTIVE_STATUSES = (QUEUED, RUNNING)
OPEN_STATUSES = (WAITING, QUEUED, RUNNING)
KINDS = ("scheduled", "manual", "backfill")

_ACTIVE = text("status IN ('queued', 'running')")


class SyncRun(Base):
    """One run of a group over one window of days, for some of its mappings."""

    __tablename__ = "sync_runs"
    __table_args__ = (
        Index(
            "ux_sync_runs_one_active_per_group",
            "group_id",
            unique=True,
            sqlite_where=_ACTIVE,
            postgresql_where=_ACTIVE,
        ),
        Index("ix_sync_runs_status_available_at", "status", "available_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("integration_groups.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    run_day: Mapped[date] = mapped_column(Date)
    window_first: Mapped[date] = mapped_column(Date)
    window_last: Mapped[date] = mapped_column(Date)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(60))
    error_message: Mapped[str | None] = mapped_column(String(500))
    cursor: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SyncRunMapping(Base):
    """A mapping a run covers, with the rule settings it used (written at the first claim)."""

    __tablename__ = "sync_run_mappings"

    run_id: Mapped[int] = mapped_column(
        ForeignKey("sync_runs.id", ondelete="CASCADE"), primary_key=True
    )
    mapping_id: Mapped[int] = mapped_column(
        ForeignKey(
            "integration_mappings.id",
            ondelete="CASCADE",
            name="fk_sync_run_mappings_mapping",
        ),
        primary_key=True,
        index=True,
    )
    rules: Mapped[dict[str, Any] | None] = mapped_column(JSON)
