"""API tokens: issue, authenticate, slide, revoke (spec §4.3 steps 6-8, §4.4).

A token is 16 characters of ``[A-Za-z0-9]`` from :mod:`secrets`, stored only as its SHA-256.
It is valid while ``now - last_activity_at < ttl`` (7200 s; reaching it exactly means expired)
and ``now - created_at < max_lifetime`` (``token_max_lifetime_s``, 12 h: sliding expiry alone
would keep a stolen token alive forever).
Every request that authenticates slides the window, but ``last_activity_at`` is *written* at
most once per ``activity_granularity_s`` (60 s): expiry slides with one-minute granularity, so
a token expires between 7140 s and 7200 s after the last request that used it, never later.
A user may hold several tokens; issuing one revokes none. Changing a user's password or key
and deactivating it revoke all its tokens (:func:`revoke_tokens`). Expired tokens are purged
lazily.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering.failures import AnsweringFailure, Failure
from frontdesk.answering.group_commit import BatchPlan
from frontdesk.answering.models import AnsweringCompany, AnsweringToken, AnsweringUser
from frontdesk.answering.runtime import AnsweringRuntime
from frontdesk.context import AppContext
from frontdesk.db.types import UTCDateTime

TOKEN_LENGTH = 16
_ALPHABET = string.ascii_letters + string.digits
_tokens = cast(Table, AnsweringToken.__table__)
_users = cast(Table, AnsweringUser.__table__)
_companies = cast(Table, AnsweringCompany.__table__)


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated API user behind a token."""

    token_id: int
    user_id: int
    username: str
    company_id: int
    company_name: str
    unassigned_practice_id: int | None


def random_alphanumeric(length: int) -> str:
    """``length`` characters of ``[A-Za-z0-9]`` from the CSPRNG, unbiased (rejection sampling)."""
    out: list[str] = []
    while len(out) < length:
        out.extend(_ALPHABET[b % 62] for b in secrets.token_bytes(2 * length) if b < 248)
    return "".join(out[:length])


def new_token() -> str:
    return random_alphanumeric(TOKEN_LENGTH)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def issue_token(
    session: AsyncSession, *, user_id: int, now: datetime, ttl_s: int, max_lifetime_s: int
) -> str:
    """Store a new token for ``user_id`` and purge that user's expired ones."""
    await session.execute(
        delete(AnsweringToken).where(
            AnsweringToken.user_id == user_id,
            or_(
                AnsweringToken.last_activity_at <= now - timedelta(seconds=ttl_s),
                AnsweringToken.created_at <= now - timedelta(seconds=max_lifetime_s),
            ),
        )
    )
    token = new_token()
    await session.execute(
        insert(_tokens).values(
            token_hash=hash_token(token), user_id=user_id, created_at=now, last_activity_at=now
        )
    )
    return token


async def revoke_tokens(session: AsyncSession, *, user_id: int) -> int:
    """Delete every token of ``user_id``; how many there were."""
    result = await session.execute(delete(AnsweringToken).where(AnsweringToken.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


_CALLER_QUERY = (
    select(
        _tokens.c.id,
        _tokens.c.last_activity_at,
        _tokens.c.created_at,
        _users.c.id,
        _users.c.username,
        _users.c.active,
        _companies.c.id,
        _companies.c.name,
        _companies.c.unassigned_practice_id,
    )
    .join(_users, _users.c.id == _tokens.c.user_id)
    .join(_companies, _companies.c.id == _users.c.company_id)
)


_TOUCH_STATEMENT = (
    update(_tokens)
    .where(_tokens.c.id == bindparam("token_pk"))
    .values(last_activity_at=bindparam("touched_at", type_=UTCDateTime()))
)


class TokenTouchWriter:
    """Group-commit writer of ``(token_id, now)`` activity updates."""

    def plan(self, items: Sequence[tuple[int, datetime]]) -> BatchPlan[None]:
        latest: dict[int, datetime] = {}
        for token_id, at in items:
            latest[token_id] = max(at, latest.get(token_id, at))
        rows = [{"token_pk": token_id, "touched_at": at} for token_id, at in latest.items()]
        return BatchPlan(steps=[(_TOUCH_STATEMENT, rows)], results=[None] * len(items))

    async def write_one(self, session: AsyncSession, item: tuple[int, datetime]) -> None:
        for statement, rows in self.plan([item]).steps:
            await session.execute(statement, rows)


TOUCH = TokenTouchWriter()


@dataclass(slots=True)
class TokenRecord:
    """What the token cache keeps: the caller, the user's state, the last recorded activity."""

    caller: Caller
    active: bool
    last_activity_at: datetime
    created_at: datetime


async def _load_token(ctx: AppContext, token_hash: str) -> TokenRecord | None:
    async with ctx.db.reader() as session:
        row = (
            await session.execute(_CALLER_QUERY.where(_tokens.c.token_hash == token_hash))
        ).first()
    if row is None:
        return None
    (
        token_id,
        last_activity,
        created,
        user_id,
        username,
        active,
        company_id,
        company,
        unassigned,
    ) = row
    caller = Caller(
        token_id=token_id,
        user_id=user_id,
        username=username,
        company_id=company_id,
        company_name=company,
        unassigned_practice_id=unassigned,
    )
    return TokenRecord(
        caller=caller, active=active, last_activity_at=last_activity, created_at=created
    )


async def authenticate(ctx: AppContext, runtime: AnsweringRuntime, token: str | None) -> Caller:
    """The caller behind ``token``, sliding its window; 408 when missing, unknown or expired."""
    if token is None or not token.strip() or len(token) > 256:
        raise AnsweringFailure(Failure.NOT_AUTHENTICATED)
    key = hash_token(token)
    now = ctx.clock.now()
    record: TokenRecord | None = await runtime.tokens.get(key, now, lambda: _load_token(ctx, key))
    if record is not None and _idle(record, now) >= runtime.options.token_ttl_s:
        # The cache may be behind another process's activity write: ask the database.
        record = await _load_token(ctx, key)
        if record is not None:
            runtime.tokens.put(key, record, now)
    if (
        record is None
        or not record.active
        or _idle(record, now) >= runtime.options.token_ttl_s
        or (now - record.created_at).total_seconds() >= runtime.options.token_max_lifetime_s
    ):
        runtime.tokens.discard(key)
        raise AnsweringFailure(Failure.NOT_AUTHENTICATED)
    if _idle(record, now) >= runtime.options.activity_granularity_s:
        record.last_activity_at = now  # first: concurrent requests of this token skip the write
        await runtime.committer.submit(TOUCH, (record.caller.token_id, now))
    return record.caller


def _idle(record: TokenRecord, now: datetime) -> float:
    return (now - record.last_activity_at).total_seconds()
