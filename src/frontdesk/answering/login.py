"""``tokenCreate``: username + PHP-encrypted password → token (spec §4.3), with lockout.

Every credential failure answers 413 and reveals nothing about which step failed (ambiguity
8): blank fields, an unknown user, a token that does not decrypt with the user's key, a
decrypted password that does not match the argon2 hash, a locked username. A successful
decrypt is never proof: only the argon2 comparison of the exact decrypted bytes is.

Lockout (docs/answering.md, "Lockout"): every attempt goes through the login throttle
(:mod:`frontdesk.security.login_throttle`), which *charges* it as a failure before any
password work and settles it afterwards, per (source address, username), per source address
and per username. More than ``lockout_failures`` (5) failures for one username from one
source within ``lockout_window_s`` (15 min) lock that pair for ``lockout_duration_s``
(15 min); ``lockout_source_failures`` (100) failures from one source lock the source;
``lockout_account_failures`` (20) from anywhere lock the account against the sources that
failed for it (a source without failures still gets through with the right password).
Unknown usernames are counted and locked the same way. Refused attempts cost no password work
and are not counted. A lock is logged (``answering.locked``, with the user id for known
accounts and never the name as typed) and listed for staff at ``/api/answering/lockouts``,
where it can be released. A successful tokenCreate clears the pair's failures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.answering.failures import AnsweringFailure, Failure, is_blank
from frontdesk.answering.models import AnsweringLockout, AnsweringUser, AnsweringUserPractice
from frontdesk.answering.password_token import decrypt_password_token
from frontdesk.answering.runtime import AnsweringRuntime
from frontdesk.answering.tokens import issue_token
from frontdesk.audit.service import record_event
from frontdesk.clock import Clock
from frontdesk.context import AppContext
from frontdesk.errors import NotFound
from frontdesk.logs import get_logger
from frontdesk.security import login_throttle
from frontdesk.security.login_throttle import Attempt, Kind, Refused, ThrottlePolicy

log = get_logger(__name__)
SCOPE = "answering"
UNKNOWN_SOURCE = "unknown"


@dataclass(frozen=True, slots=True)
class _Account:
    user_id: int
    username: str
    password_hash: str
    encryption_key: str
    active: bool


def throttle_policy(runtime: AnsweringRuntime) -> ThrottlePolicy:
    """The throttle limits of tokenCreate (``lockout_failures`` is "more than", so +1)."""
    return ThrottlePolicy(
        pair_limit=runtime.options.lockout_failures + 1,
        source_limit=runtime.options.lockout_source_failures,
        account_limit=runtime.options.lockout_account_failures,
        window_s=runtime.options.lockout_window_s,
        lock_s=runtime.options.lockout_duration_s,
    )


async def create_token(
    ctx: AppContext,
    runtime: AnsweringRuntime,
    *,
    username: str | None,
    login_password: str | None,
    source: str = UNKNOWN_SOURCE,
) -> str:
    """A new token for valid credentials; raises :class:`AnsweringFailure` (413/408).

    ``source`` is the client's address (the throttle's key with the username).
    """
    if is_blank(username):
        raise AnsweringFailure(Failure.TOKEN_NOT_CREATED)
    assert username is not None
    username = username[:120]
    policy = throttle_policy(runtime)
    attempt = await login_throttle.begin(
        ctx.db, scope=SCOPE, source=source, username=username, policy=policy, now=ctx.clock.now()
    )
    if isinstance(attempt, Refused):
        log.info("answering.token_refused_locked", source=source, lock=attempt.kind.value)
        raise AnsweringFailure(Failure.TOKEN_NOT_CREATED)
    try:
        account = await _verified_account(ctx, runtime, username, login_password)
    except AnsweringFailure as failure:
        if failure.failure is Failure.TOKEN_NOT_CREATED:
            await _record_failure(ctx, attempt, username=username, source=source)
        else:  # the password was right: the attempt is no failure
            async with ctx.db.transaction() as session:
                await login_throttle.succeeded(session, attempt)
        raise
    # Any other error leaves the charge in place: it counts as a failure.
    async with ctx.db.transaction() as session:
        await login_throttle.succeeded(session, attempt)
        token = await issue_token(
            session,
            user_id=account.user_id,
            now=ctx.clock.now(),
            ttl_s=runtime.options.token_ttl_s,
            max_lifetime_s=runtime.options.token_max_lifetime_s,
        )
        await login_throttle.forget_expired(
            session, window_s=runtime.options.lockout_window_s, now=ctx.clock.now()
        )
    log.info("answering.token_created", user_id=account.user_id)
    return token


async def _verified_account(
    ctx: AppContext, runtime: AnsweringRuntime, username: str, login_password: str | None
) -> _Account:
    """The account whose password ``login_password`` is, or :class:`AnsweringFailure`."""
    async with ctx.db.reader() as session:
        account = await _account(session, username=username, runtime=runtime)
        has_practices = account is not None and await _has_practices(session, account.user_id)
    if is_blank(login_password):
        raise AnsweringFailure(Failure.TOKEN_NOT_CREATED)
    assert login_password is not None
    if account is None:
        await runtime.verify_password(None, login_password.encode())
        log.info("answering.token_refused", reason="unknown_user")
        raise AnsweringFailure(Failure.TOKEN_NOT_CREATED)
    key = ctx.secrets.decrypt(account.encryption_key).encode("utf-8")
    decrypted = decrypt_password_token(login_password, key)
    if not decrypted.decrypted:
        if " " in login_password:
            # Ambiguity 23: a form post without URL-encoding turns '+' into ' '; PHP fails too.
            log.info("answering.password_token_has_space", user_id=account.user_id)
        log.info("answering.token_refused", reason="undecryptable", user_id=account.user_id)
        raise AnsweringFailure(Failure.TOKEN_NOT_CREATED)
    if not await runtime.verify_password(account.password_hash, decrypted.plaintext):
        log.info("answering.token_refused", reason="wrong_password", user_id=account.user_id)
        raise AnsweringFailure(Failure.TOKEN_NOT_CREATED)
    if not account.active or not has_practices:
        log.info("answering.token_refused_no_access", user_id=account.user_id)
        raise AnsweringFailure(Failure.NO_API_ACCESS)
    return account


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


async def _active_lockouts(
    session: AsyncSession, *, username: str, now: datetime
) -> Sequence[AnsweringLockout]:
    query = (
        select(AnsweringLockout)
        .where(
            AnsweringLockout.username == username,
            AnsweringLockout.locked_until > now,
            AnsweringLockout.released_at.is_(None),
        )
        .order_by(AnsweringLockout.id.desc())
    )
    return (await session.execute(query)).scalars().all()


async def _record_failure(ctx: AppContext, attempt: Attempt, *, username: str, source: str) -> None:
    """Keep the attempt's charge; record (and log) the locks this failure set."""
    now = ctx.clock.now()
    locked = await login_throttle.failed(ctx.db, attempt, now=now)
    if not locked:
        return
    until = now + timedelta(seconds=attempt.policy.lock_s)
    async with ctx.db.transaction() as session:
        user_id = await _user_id(session, username=username)
        for kind in locked:
            session.add(
                AnsweringLockout(
                    username="*" if kind is Kind.SOURCE else username,
                    locked_at=now,
                    locked_until=until,
                    failures={
                        Kind.PAIR: attempt.policy.pair_limit,
                        Kind.SOURCE: attempt.policy.source_limit,
                        Kind.ACCOUNT: attempt.policy.account_limit,
                    }[kind],
                    kind=kind.value,
                    source=None if kind is Kind.ACCOUNT else source,
                )
            )
            log.warning(
                "answering.locked",
                lock=kind.value,
                source=None if kind is Kind.ACCOUNT else source,
                user_id=user_id if kind is not Kind.SOURCE else None,
                locked_until=until.isoformat(),
            )


async def _user_id(session: AsyncSession, *, username: str) -> int | None:
    query = select(AnsweringUser.id).where(AnsweringUser.username == username)
    return (await session.execute(query.limit(1))).scalar_one_or_none()


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
    """End the active locks of ``username`` (from every source) now and forget its failures
    (404 when not locked); the newest lock is returned."""
    now = clock.now()
    locks = await _active_lockouts(session, username=username, now=now)
    if not locks:
        raise NotFound("that username is not locked", field="username")
    for lock in locks:
        lock.released_at = now
        lock.released_by = principal.label
    await login_throttle.release(session, scope=SCOPE, username=username)
    lock = locks[0]
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
