"""The usage table: what a business used, per day, as counted by the meter.

One row per (day, business, kind, subject): ``count`` adds up over flushes (every process adds
its own deltas, so several processes and hosts sum correctly), ``total_ms`` adds up durations
where a kind has one (sync runs). ``business_id`` 0 is work no business is known for
(answering-service calls, a staff key, a connection test); it is not a foreign key, so the
history of a deleted business stays until the retention purge removes it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base


class UsageCount(Base):
    """A daily counter of one kind of work for one business (see the module docstring)."""

    __tablename__ = "usage_counts"
    __table_args__ = (
        UniqueConstraint("day", "business_id", "kind", "subject"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    business_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(120))
    count: Mapped[int] = mapped_column(BigInteger)
    total_ms: Mapped[int] = mapped_column(BigInteger)
