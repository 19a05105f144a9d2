"""Staff users: creation, login with lockout, and the principal a user acts as.

Login (:func:`authenticate`) runs in steps so that no transaction is held while argon2
spends its CPU: charge the attempt to the login throttle (:mod:`frontdesk.security.login_throttle`:
a locked or locking username is refused here, without verifying), read the user (reader),
verify the password in a worker thread, then settle and record the outcome in short write
transactions (refund or lock, last login, audit). See docs/dashboard.md, "Sign-in".

- ``LOCKOUT_AFTER`` (5) failures for a username from one source address lock that pair for
  ``LOCKOUT_FOR`` (15 min): that source is refused even the right password until then.
- ``ACCOUNT_LOCKOUT_AFTER`` (20) failures from anywhere lock the account against the sources
  that failed for it, and end its sessions; a source without failures still signs in with the
  right password, so nobody can lock a user out by failing on purpose.
- ``SOURCE_LOCKOUT_AFTER`` (100) failures from one address over every username lock it.
- An unknown username costs the same argon2 verification (against a dummy hash), so response
  time does not tell which usernames exist; the caller shows one message for every failure.
- Audit events (``staff.login``, ``staff.login_failed``, ``staff.locked``) never carry the
  password, and a failure for an unknown username does not record the typed name (people
  type passwords into the username field).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

import anyio
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.businesses.service import visible_business
from frontdesk.clock import Clock
from frontdesk.db.engine import Database
from frontdesk.errors import Conflict, InvalidInput
from frontdesk.security import login_throttle
from frontdesk.security.login_throttle import Kind, Refused, ThrottlePolicy
from frontdesk.security.passwords import hash_password, needs_rehash, verify_password
from frontdesk.staff.models import StaffSession, StaffUser, StaffUserPractice
from frontdesk.staff.roles import parse_role

SCOPE = "staff"
LOCKOUT_AFTER = 5
"""Failures for one username from one source address that lock that pair."""
ACCOUNT_LOCKOUT_AFTER = 20
"""Failures for one username from any source that lock it against the sources that failed."""
SOURCE_LOCKOUT_AFTER = 100
"""Failures from one source address over every username that lock the address."""
LOCKOUT_FOR = timedelta(minutes=15)
POLICY = ThrottlePolicy(
    pair_limit=LOCKOUT_AFTER,
    source_limit=SOURCE_LOCKOUT_AFTER,
    account_limit=ACCOUNT_LOCKOUT_AFTER,
    window_s=int(LOCKOUT_FOR.total_seconds()),
    lock_s=int(LOCKOUT_FOR.total_seconds()),
)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-@")


class LoginOutcome(enum.StrEnum):
    OK = "ok"
    BAD_PASSWORD = "bad_password"  # noqa: S105 - an outcome name
    UNKNOWN_USER = "unknown_user"
    LOCKED = "locked"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: StaffUser | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is LoginOutcome.OK


def normalise_username(username: str) -> str:
    """Usernames compare case-insensitively: stored and looked up in lower case."""
    return username.strip().lower()


def principal_of(user: StaffUser) -> Principal:
    """The principal a staff user acts as (tenant scope = the user's business)."""
    return Principal(
        kind="user", id=user.id, name=user.username, role=user.role, business_scope=user.business_id
    )


def check_password_shape(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at least {MIN_PASSWORD_LENGTH} characters", field=field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(f"a password has at most {MAX_PASSWORD_LENGTH} characters", field=field)


async def create_user(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    username: str,
    password: str,
    role: str,
    business_number: int | None = None,
) -> StaffUser:
    """A new active user; ``business_number`` limits it to one tenant (None: all tenants)."""
    name = normalise_username(username)
    if not 1 <= len(name) <= 80 or not set(name) <= USERNAME_CHARS:
        raise InvalidInput(
            "a username has 1-80 letters, digits, '.', '_', '-' or '@'", field="username"
        )
    try:
        parsed = parse_role(role)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="role") from None
    check_password_shape(password)
    business_id = None
    if business_number is not None:
        business = await visible_business(session, principal=principal, number=business_number)
        business_id = business.id
    taken = await session.execute(select(StaffUser.id).where(StaffUser.username == name))
    if taken.scalar_one_or_none() is not None:
        raise Conflict("a user of that username already exists", field="username")
    user = StaffUser(
        username=name,
        password_hash=await anyio.to_thread.run_sync(hash_password, password),
        role=parsed.value,
        active=True,
        business_id=business_id,
        failed_logins=0,
        locked_until=None,
        created_at=clock.now(),
        last_login_at=None,
    )
    session.add(user)
    await session.flush()
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="staff.create",
        target_type="staff_user",
        target_id=str(user.id),
        business_id=business_id,
        details={"username": name, "role": parsed.value, "businessNumber": business_number},
    )
    return user


async def set_password(
    session: AsyncSession, *, principal: Principal, clock: Clock, user: StaffUser, password: str
) -> None:
    """Replace a user's password: clears failures and any lock, ends every open session."""
    from frontdesk.staff.sessions import end_sessions_of

    check_password_shape(password)
    user.password_hash = await anyio.to_thread.run_sync(hash_password, password)
    user.failed_logins = 0
    user.locked_until = None
    await login_throttle.release(session, scope=SCOPE, username=user.username)
    await end_sessions_of(session, user_id=user.id)
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="staff.password_set",
        target_type="staff_user",
        target_id=str(user.id),
        business_id=user.business_id,
        details={"username": user.username},
    )


async def get_user_by_name(session: AsyncSession, *, username: str) -> StaffUser | None:
    found = await session.execute(
        select(StaffUser).where(StaffUser.username == normalise_username(username))
    )
    return found.scalar_one_or_none()


async def get_user(session: AsyncSession, *, user_id: int) -> StaffUser | None:
    return await session.get(StaffUser, user_id)


async def list_users(session: AsyncSession) -> Sequence[StaffUser]:
    return (await session.execute(select(StaffUser).order_by(StaffUser.username))).scalars().all()


async def practices_of(session: AsyncSession, *, user_id: int) -> list[str]:
    """The answering-service practice codes linked to a user (the ticket desk's seam)."""
    query = select(StaffUserPractice.practice_code).where(StaffUserPractice.user_id == user_id)
    return sorted((await session.execute(query)).scalars().all())


@cache
def _dummy_hash() -> str:
    # Verified for unknown usernames so that they cost what a real verification costs.
    return hash_password("frontdesk-dummy-password-for-timing")


async def authenticate(
    db: Database, *, clock: Clock, username: str, password: str, source: str = "unknown"
) -> LoginResult:
    """Check a login from ``source`` (the client address) through the login throttle.

    The attempt is charged before the password is verified (a locked or locking username is
    refused without verifying) and settled after; the outcome is audited.
    """
    name = normalise_username(username)
    attempt = await login_throttle.begin(
        db, scope=SCOPE, source=source, username=name, policy=POLICY, now=clock.now()
    )
    if isinstance(attempt, Refused):
        async with db.transaction() as session:
            user = await get_user_by_name(session, username=name)
            await _audit_failure(session, clock=clock, user=user, outcome=LoginOutcome.LOCKED)
        return LoginResult(LoginOutcome.LOCKED, user)
    async with db.reader() as session:
        row = (
            await session.execute(
                select(StaffUser.id, StaffUser.password_hash).where(StaffUser.username == name)
            )
        ).one_or_none()
    stored_hash = row.password_hash if row is not None else _dummy_hash()
    matches = await anyio.to_thread.run_sync(verify_password, stored_hash, password[:4096])
    if row is None or not matches:
        locked = await login_throttle.failed(db, attempt, now=clock.now())
        async with db.transaction() as session:
            user = await session.get(StaffUser, row.id) if row is not None else None
            outcome = LoginOutcome.BAD_PASSWORD if user is not None else LoginOutcome.UNKNOWN_USER
            await _audit_failure(session, clock=clock, user=user, outcome=outcome)
            if user is not None and locked:
                await _record_lock(session, clock=clock, user=user, kinds=locked, source=source)
        return LoginResult(outcome, user)
    async with db.transaction() as session:
        await login_throttle.succeeded(session, attempt)
        user = await session.get(StaffUser, row.id)
        if user is None:  # deleted meanwhile
            return LoginResult(LoginOutcome.UNKNOWN_USER)
        if not user.active:
            await _audit_failure(session, clock=clock, user=user, outcome=LoginOutcome.INACTIVE)
            return LoginResult(LoginOutcome.INACTIVE, user)
        user.last_login_at = clock.now()
        if needs_rehash(user.password_hash):
            user.password_hash = await anyio.to_thread.run_sync(hash_password, password)
        await record_event(
            session,
            clock=clock,
            actor=principal_of(user),
            action="staff.login",
            target_type="staff_user",
            target_id=str(user.id),
            business_id=user.business_id,
            details={"username": user.username},
        )
        await login_throttle.forget_expired(session, window_s=POLICY.window_s, now=clock.now())
        return LoginResult(LoginOutcome.OK, user)


async def _record_lock(
    session: AsyncSession, *, clock: Clock, user: StaffUser, kinds: list[Kind], source: str
) -> None:
    """Audit the locks a failure set; an account lock also ends the user's sessions."""
    if Kind.ACCOUNT in kinds:
        await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    for kind in kinds:
        if kind is Kind.SOURCE:
            continue  # not this user's lock
        await record_event(
            session,
            clock=clock,
            actor=Principal.system("login"),
            action="staff.locked",
            target_type="staff_user",
            target_id=str(user.id),
            business_id=user.business_id,
            details={
                "username": user.username,
                "lock": kind.value,
                "source": source if kind is Kind.PAIR else None,
                "failures": POLICY.pair_limit if kind is Kind.PAIR else POLICY.account_limit,
                "minutes": POLICY.lock_s // 60,
            },
        )


async def _audit_failure(
    session: AsyncSession, *, clock: Clock, user: StaffUser | None, outcome: LoginOutcome
) -> None:
    await record_event(
        session,
        clock=clock,
        actor=Principal.system("login"),
        action="staff.login_failed",
        target_type="staff_user",
        target_id=str(user.id) if user is not None else "unknown",
        business_id=user.business_id if user is not None else None,
        details={"reason": outcome.value}
        | ({"username": user.username} if user is not None else {}),
    )
