"""The ``login_throttle`` table: failure counters of the login throttle
(:mod:`frontdesk.security.login_throttle`), one row per key.

A key is a (scope, kind, source, subject) tuple hashed to ``key``: scope ``answering`` or
``staff``; kind ``pair`` (source address and username), ``source`` (address alone) or
``account`` (username alone). ``subject`` is the SHA-256 of the case-folded username, never the
name as typed (people type passwords into username fields); ``source`` is the client address.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import UTCDateTime


class LoginThrottle(Base):
    """Failures (and attempts in flight) of one throttle key in its current window."""

    __tablename__ = "login_throttle"
    __table_args__ = (
        Index("ix_login_throttle_scope_subject", "scope", "subject"),
        Index("ix_login_throttle_window_start", "window_start"),
    )

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer)
    """Failures in the window plus attempts charged and not yet settled."""
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
