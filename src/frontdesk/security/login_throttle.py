"""The login throttle of tokenCreate and the dashboard login: charge first, verify second.

**Atomic.** An attempt is *charged* as a failure before its password is verified, in one short
write transaction of conditional updates (``failures = failures + 1 WHERE failures < limit``),
and *settled* afterwards: a success refunds the charge, a failure keeps it and may lock the
key. So a failure is on record before the next verification for that key starts, and the
(limit + 1)-th concurrent attempt is refused without any password work — whatever the number
of processes: the database row is the point of serialisation (PostgreSQL re-checks the
``WHERE`` of a concurrent update after the other commits; SQLite has one writer).

**Three keys per attempt**, each with its own limit within ``window_s``:

* ``pair`` — (source address, username): ``pair_limit`` failures lock the pair for
  ``lock_s``. This is the brute-force stop, and it locks out only the source that failed.
* ``source`` — the address alone, over every username: ``source_limit`` (much higher: an
  answering service's agents share one outbound address) stops password spraying.
* ``account`` — the username alone, over every source: ``account_limit`` failures lock the
  account for ``lock_s`` against *sources that have failed for it*. While the account is
  locked (or its quota is taken by attempts in flight) a source with no failure for that
  username in the window still gets one attempt: the right password gets through, a wrong one
  marks that source. A distributed attacker gets one guess per address per window instead of
  ``pair_limit``; the user is never locked out by someone else's failures.

Rows hold a SHA-256 of the case-folded username, never the name as typed.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, delete, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.db.engine import Database
from frontdesk.security.throttle_models import LoginThrottle

_TABLE = cast(Table, LoginThrottle.__table__)
SOURCE_MAX_LENGTH = 64


class Kind(enum.StrEnum):
    PAIR = "pair"
    SOURCE = "source"
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """Limits of one scope (a login surface)."""

    pair_limit: int = 5
    """Failures from one source for one username that lock that pair."""
    source_limit: int = 100
    """Failures from one source over all usernames that lock that source."""
    account_limit: int = 20
    """Failures for one username over all sources that lock the account (to failed sources)."""
    window_s: int = 900
    lock_s: int = 900


@dataclass(frozen=True, slots=True)
class Attempt:
    """A charged attempt, to be settled with :func:`succeeded` or :func:`failed`."""

    scope: str
    keys: dict[Kind, str]
    """The keys this attempt charged (``account`` is absent when it came through a lock)."""
    policy: ThrottlePolicy


@dataclass(frozen=True, slots=True)
class Refused:
    """The attempt was refused without verification: ``kind`` is the key that is full."""

    kind: Kind


class _Full(Exception):
    def __init__(self, kind: Kind) -> None:
        self.kind = kind


def subject_of(username: str) -> str:
    """What the table keeps of a username: the SHA-256 of its case-folded form."""
    return hashlib.sha256(username.strip().casefold().encode("utf-8", "surrogatepass")).hexdigest()


def _key(scope: str, kind: Kind, source: str, subject: str) -> str:
    return hashlib.sha256(f"{scope}\0{kind}\0{source}\0{subject}".encode()).hexdigest()


def _limit(policy: ThrottlePolicy, kind: Kind) -> int:
    return {
        Kind.PAIR: policy.pair_limit,
        Kind.SOURCE: policy.source_limit,
        Kind.ACCOUNT: policy.account_limit,
    }[kind]


async def begin(
    db: Database,
    *,
    scope: str,
    source: str,
    username: str,
    policy: ThrottlePolicy,
    now: datetime,
) -> Attempt | Refused:
    """Charge one attempt before verifying it, or refuse it (nothing charged)."""
    source = source[:SOURCE_MAX_LENGTH]
    subject = subject_of(username)
    rows = {
        Kind.SOURCE: (source, ""),
        Kind.ACCOUNT: ("", subject),
        Kind.PAIR: (source, subject),
    }
    keys = {kind: _key(scope, kind, src, subj) for kind, (src, subj) in rows.items()}
    try:
        async with db.transaction() as session:
            await _ensure(session, scope=scope, rows=rows, keys=keys, now=now)
            await _reset_expired(session, keys=list(keys.values()), policy=policy, now=now)
            charged: dict[Kind, str] = {}
            if not await _charge(session, keys[Kind.SOURCE], policy.source_limit, now):
                raise _Full(Kind.SOURCE)
            charged[Kind.SOURCE] = keys[Kind.SOURCE]
            if await _charge(session, keys[Kind.ACCOUNT], policy.account_limit, now):
                charged[Kind.ACCOUNT] = keys[Kind.ACCOUNT]
                pair_limit = policy.pair_limit
            else:
                pair_limit = 1  # the account is locked or locking: clean sources only
            if not await _charge(session, keys[Kind.PAIR], pair_limit, now):
                raise _Full(Kind.PAIR if pair_limit > 1 else Kind.ACCOUNT)
            charged[Kind.PAIR] = keys[Kind.PAIR]
    except _Full as full:
        return Refused(full.kind)
    return Attempt(scope=scope, keys=charged, policy=policy)


async def succeeded(session: AsyncSession, attempt: Attempt) -> None:
    """Settle a verified attempt: refund its charges and clear the pair's failures."""
    refunds = [key for kind, key in attempt.keys.items() if kind is not Kind.PAIR]
    if refunds:
        await session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.key.in_(refunds), LoginThrottle.failures > 0)
            .values(failures=LoginThrottle.failures - 1)
        )
    await session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == attempt.keys[Kind.PAIR], LoginThrottle.locked_until.is_(None))
        .values(failures=0)
    )


async def failed(db: Database, attempt: Attempt, *, now: datetime) -> list[Kind]:
    """Settle a failed attempt (its charges stay); the kinds this failure locked."""
    locked: list[Kind] = []
    until = now + timedelta(seconds=attempt.policy.lock_s)
    async with db.transaction() as session:
        for kind, key in attempt.keys.items():
            if kind is Kind.PAIR and Kind.ACCOUNT not in attempt.keys:
                continue  # a clean-source attempt through an account lock: blocked by its mark
            result = await session.execute(
                update(LoginThrottle)
                .where(
                    LoginThrottle.key == key,
                    LoginThrottle.failures >= _limit(attempt.policy, kind),
                    or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
                )
                .values(locked_until=until)
            )
            if _rowcount(result):
                locked.append(kind)
    return locked


async def release(session: AsyncSession, *, scope: str, username: str) -> int:
    """Forget the failures and locks of ``username`` from every source; rows touched."""
    result = await session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.scope == scope, LoginThrottle.subject == subject_of(username))
        .values(failures=0, locked_until=None)
    )
    return _rowcount(result)


async def forget_expired(session: AsyncSession, *, window_s: int, now: datetime) -> int:
    """Delete rows whose window and lock are over (they count nothing any more)."""
    since = now - timedelta(seconds=window_s)
    result = await session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.window_start <= since,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        )
    )
    return _rowcount(result)


async def _ensure(
    session: AsyncSession,
    *,
    scope: str,
    rows: dict[Kind, tuple[str, str]],
    keys: dict[Kind, str],
    now: datetime,
) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = [
        {
            "key": keys[kind],
            "scope": scope,
            "kind": kind.value,
            "source": src,
            "subject": subj,
            "failures": 0,
            "window_start": now,
            "locked_until": None,
        }
        for kind, (src, subj) in rows.items()
    ]
    await session.execute(insert(_TABLE).values(values).on_conflict_do_nothing())


async def _reset_expired(
    session: AsyncSession, *, keys: list[str], policy: ThrottlePolicy, now: datetime
) -> None:
    since = now - timedelta(seconds=policy.window_s)
    await session.execute(
        update(LoginThrottle)
        .where(
            LoginThrottle.key.in_(keys),
            or_(
                and_(LoginThrottle.locked_until.is_not(None), LoginThrottle.locked_until <= now),
                and_(LoginThrottle.locked_until.is_(None), LoginThrottle.window_start <= since),
            ),
        )
        .values(failures=0, window_start=now, locked_until=None)
    )


async def _charge(session: AsyncSession, key: str, limit: int, now: datetime) -> bool:
    result = await session.execute(
        update(LoginThrottle)
        .where(
            LoginThrottle.key == key,
            LoginThrottle.failures < limit,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        )
        .values(failures=LoginThrottle.failures + 1)
    )
    return _rowcount(result) == 1


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
