"""Tracked links: the short ``/r/{token}`` link a message carries, and its clicks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import UTCDateTime


class TrackedLink(Base):
    """One request's link: where it leads, when it was first and last clicked, how often."""

    __tablename__ = "tracked_links"

    token: Mapped[str] = mapped_column(String(16), primary_key=True)
    ledger_key: Mapped[str] = mapped_column(String(255), unique=True)
    target_url: Mapped[str] = mapped_column(String(1000))
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
