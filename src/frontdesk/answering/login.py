"""``tokenCreate``: username + PHP-encrypted password → token (spec §4.3), with lockout.

Every credential failure answers 413 and reveals nothing about which step failed (ambiguity
8): blank fields, an unknown user, a token that does not decrypt with the user's key, a
decrypted password that does not match the argon2 hash, a locked username. A successful
decrypt is never proof: only the argon2 comparison of the exact decrypted bytes is.

Lockout: more than ``lockout_failures`` (5) failures for one username within
``lockout_window_s`` (15 min) lock that username for ``lockout_duration_s`` (15 min). Unknown
usernames are counted and locked the same way. Attempts during a lock are refused without any
password work and are not counted (the lock does not extend itself). A lock is logged
(``answering.username_locked``) and listed for staff at ``/api/answering/lockouts``, where it can
be released. A successful tokenCreate clears the username's failures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.answering.failures import AnsweringFailure, Failure, is_blank
from frontdesk.answering.models import (
    AnsweringLockout,
    AnsweringLoginFailure,
    AnsweringUser,
    AnsweringUserPractice,
)
from frontdesk.answering.password_token import decrypt_password_token
from frontdesk.answering.runtime import AnsweringRuntime
from frontdesk.answering.tokens import issue_token
from frontdesk.audit.service import record_event
from frontdesk.clock import Clock
from frontdesk.context import AppContext
from frontdesk.errors import NotFound
from frontdesk.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Account:
    user_id: int
    username: str
    password_hash: str
    encryption_key: str
    active: bool


async def create_token(
    ctx: AppContext, runtime: AnsweringRuntime, *, username: str | None, login_password: str | None
) -> str:
    """A new token for valid credentials; raises :class:`AnsweringFailure` (413/408)."""
    if is_blank(username) or is_blank(login_password):
        if not is_blank(username):
            await _record_failure(ctx, runtime, username=str(username), reason="missing_password")
        raise AnsweringFailure(Failure.TOKEN_NOT_CREATED)
    assert username is not None
    assert login_password is not None
    now = ctx.clock.now()
    async with ctx.db.reader() as session:
        if await active_lockout(session, username=username, now=now) is not None:
            log.warning("answering.token_refused_locked", username=username)
            raise AnsweringFailure(Failure.TOKEN_NOT_CREATED)
        account = await _account(session, username=username, runtime=runtime)
        has_practices = account is not None and await _has_practices(session, account.user_id)
    if account is None:
        await runtime.verify_password(None, login_password.encode())
        await _record_failure(ctx, runtime, username=username, reason="unknown_user")
        raise AnsweringFailure(Failure.TOKEN_NOT_CREATED)
    key = ctx.secrets.decrypt(account.encryption_key).encode("utf-8")
    decrypted = decrypt_password_token(login_password, key)
    if not decrypted.decrypted:
        if " " in login_password:
            # Ambiguity 23: a form post without URL-encoding turns '+' into ' '; PHP fails too.
            log.info("answering.password_token_has_space", username=account.username)
        await _record_failure(ctx, runtime, username=username, reason="undecryptable")
        raise AnsweringFailure(Failure.TOKEN_NOT_CREATED)
    if not await runtime.verify_password(account.password_hash, decrypted.plaintext):
        await _record_failure(ctx, runtime, username=username, reason="wrong_password")
        raise AnsweringFailure(Failure.TOKEN_NOT_CREATED)
    if not account.active or not has_practices:
        log.info("answering.token_refused_no_access", username=account.username)
        raise AnsweringFailure(Failure.NO_API_ACCESS)
    async with ctx.db.transaction() as session:
        await session.execute(
            delete(AnsweringLoginFailure).where(AnsweringLoginFailure.username == username)
        )
        token = await issue_token(
            session, user_id=account.user_id, now=ctx.clock.now(), ttl_s=runtime.options.token_ttl_s
        )
    log.info("answering.token_created", username=account.username)
    return token


async def _account(
    session: AsyncSession, *, username: str, runtime: AnsweringRuntime
) -> _Account | None:
    column = AnsweringUser.username
    condition = (
        func.lower(column) == username.lower()
        if runtime.options.case_insensitive_usernames
        else column == username
    )
    query = select(
        AnsweringUser.id,
        AnsweringUser.username,
        AnsweringUser.password_hash,
        AnsweringUser.encryption_key,
        AnsweringUser.active,
    ).where(condition)
    rows = (await session.execute(query.limit(2))).all()
    if len(rows) != 1:  # unknown, or ambiguous under case-insensitive matching
        return None
    return _Account(*rows[0])


async def _has_practices(session: AsyncSession, user_id: int) -> bool:
    query = select(AnsweringUserPractice.practice_id).where(
        AnsweringUserPractice.user_id == user_id
    )
    return (await session.execute(query.limit(1))).first() is not None


async def active_lockout(
    session: AsyncSession, *, username: str, now: datetime
) -> AnsweringLockout | None:
    query = (
        select(AnsweringLockout)
        .where(
            AnsweringLockout.username == username,
            AnsweringLockout.locked_until > now,
            AnsweringLockout.released_at.is_(None),
        )
        .order_by(AnsweringLockout.locked_until.desc())
    )
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def _record_failure(
    ctx: AppContext, runtime: AnsweringRuntime, *, username: str, reason: str
) -> None:
    username = username[:120]
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        session.add(AnsweringLoginFailure(username=username, at=now, reason=reason))
        await session.flush()
        since = now - timedelta(seconds=runtime.options.lockout_window_s)
        count = (
            await session.execute(
                select(func.count())
                .select_from(AnsweringLoginFailure)
                .where(AnsweringLoginFailure.username == username, AnsweringLoginFailure.at > since)
            )
        ).scalar_one()
        log.info("answering.token_refused", username=username, reason=reason, failures=count)
        if (
            count > runtime.options.lockout_failures
            and await active_lockout(session, username=username, now=now) is None
        ):
            until = now + timedelta(seconds=runtime.options.lockout_duration_s)
            session.add(
                AnsweringLockout(
                    username=username, locked_at=now, locked_until=until, failures=count
                )
            )
            log.warning(
                "answering.username_locked",
                username=username,
                failures=count,
                locked_until=until.isoformat(),
            )


def matching_lockouts(*, now: datetime, active_only: bool = False) -> Select[AnsweringLockout]:
    """The query of lockouts (only the active ones at ``now`` with ``active_only``); page it
    with ``frontdesk.db.paging`` on ``AnsweringLockout.id``, newest first."""
    query = select(AnsweringLockout)
    if active_only:
        query = query.where(
            AnsweringLockout.locked_until > now, AnsweringLockout.released_at.is_(None)
        )
    return query


async def list_lockouts(
    session: AsyncSession, *, now: datetime, active_only: bool = False, limit: int = 200
) -> Sequence[AnsweringLockout]:
    query = matching_lockouts(now=now, active_only=active_only)
    return (
        (await session.execute(query.order_by(AnsweringLockout.id.desc()).limit(limit)))
        .scalars()
        .all()
    )


async def release_lockout(
    session: AsyncSession, *, principal: Principal, clock: Clock, username: str
) -> AnsweringLockout:
    """End the active lock of ``username`` now and forget its failures (404 when not locked)."""
    now = clock.now()
    lock = await active_lockout(session, username=username, now=now)
    if lock is None:
        raise NotFound(f"username {username!r} is not locked", field="username")
    lock.released_at = now
    lock.released_by = principal.label
    await session.execute(
        delete(AnsweringLoginFailure).where(AnsweringLoginFailure.username == username)
    )
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="answering.lockout.release",
        target_type="answering_lockout",
        target_id=str(lock.id),
        business_id=None,
        details={"username": username},
    )
    return lock
