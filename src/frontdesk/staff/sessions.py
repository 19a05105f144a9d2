"""Server-side dashboard sessions: revocable, with idle and absolute expiry.

The browser holds a random token in the ``frontdesk_session`` cookie (``HttpOnly``,
``SameSite=Lax``, ``Secure`` behind https); the database holds its SHA-256 as the session id,
the session's CSRF token and its times. A session ends at logout, at lockout, when idle for
``IDLE_TIMEOUT`` or ``ABSOLUTE_TIMEOUT`` after login, whichever comes first. ``last_seen_at``
is written at most once per ``TOUCH_EVERY`` so that reading pages does not mean a write per
request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.clock import Clock
from frontdesk.db.engine import Database
from frontdesk.staff.models import StaffSession, StaffUser

COOKIE_NAME = "frontdesk_session"
IDLE_TIMEOUT = timedelta(hours=2)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class ActiveSession:
    """A resolved session: the user and the CSRF token every form must carry."""

    session_id: str
    user: StaffUser
    csrf_token: str


def session_id_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(session: AsyncSession, *, clock: Clock, user: StaffUser) -> str:
    """A new session for ``user``; returns the cookie token (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        StaffSession(
            id=session_id_of(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + ABSOLUTE_TIMEOUT,
            last_seen_at=now,
        )
    )
    await session.flush()
    return token


async def resolve_session(db: Database, *, clock: Clock, token: str) -> ActiveSession | None:
    """The live session of a cookie token, or None (unknown, expired, user inactive/locked)."""
    if not token or len(token) > 200:
        return None
    sid = session_id_of(token)
    now = clock.now()
    async with db.reader() as session:
        row = await session.get(StaffSession, sid)
        user = await session.get(StaffUser, row.user_id) if row is not None else None
        # Detach before the reader rolls back, so the values stay loaded for the request.
        session.expunge_all()
    if row is None or user is None:
        return None
    locked = user.locked_until is not None and user.locked_until > now
    if row.expires_at <= now or row.last_seen_at + IDLE_TIMEOUT <= now or not user.active or locked:
        async with db.transaction() as session:
            await session.execute(delete(StaffSession).where(StaffSession.id == sid))
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        async with db.transaction() as session:
            fresh = await session.get(StaffSession, sid)
            if fresh is not None:
                fresh.last_seen_at = now
    return ActiveSession(session_id=sid, user=user, csrf_token=row.csrf_token)


async def end_session(session: AsyncSession, *, session_id: str) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.id == session_id))


async def end_sessions_of(session: AsyncSession, *, user_id: int) -> None:
    """End every session of a user (lockout, deactivation, password change)."""
    await session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))


async def purge_expired(session: AsyncSession, *, clock: Clock) -> int:
    """Delete sessions past their absolute expiry; returns how many."""
    now = clock.now()
    result = await session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
