"""Staff tables: users, the answering-service practices a nurse works, dashboard sessions.

Passwords are argon2id hashes; session ids are SHA-256 digests of the cookie token (the token
itself is never stored, so a database dump cannot be replayed as a cookie).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from frontdesk.db.base import Base
from frontdesk.db.types import UTCDateTime


class StaffUser(Base):
    """A person who logs in to the dashboard.

    ``business_id`` NULL means every tenant; otherwise the user sees that business and, for
    an enterprise, its locations. ``role`` is one of :data:`frontdesk.staff.roles.ROLES`.
    """

    __tablename__ = "staff_users"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean)
    business_id: Mapped[int | None] = mapped_column(
        ForeignKey("businesses.id", ondelete="RESTRICT"), index=True
    )
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffUserPractice(Base):
    """An answering-service practice whose tickets a (nurse) user works.

    The seam for the ticket desk: it fills and reads this table; ``practice_code`` is the
    answering service's practice identifier.
    """

    __tablename__ = "staff_user_practices"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    practice_code: Mapped[str] = mapped_column(String(64), primary_key=True)


class StaffSession(Base):
    """A dashboard login: ``id`` is the SHA-256 of the cookie token."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
