"""Answering-service accounts: companies, practices, doctors and API users (staff operations).

Every function takes the caller's session and never commits. Passwords are stored as argon2
hashes; a user's encryption key is stored encrypted with the key ring and is never returned or
logged. An API user always has an explicit practice list: there is no "all practices".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.answering.models import (
    AnsweringCompany,
    AnsweringDoctor,
    AnsweringPractice,
    AnsweringUser,
    AnsweringUserPractice,
)
from frontdesk.answering.password_token import KEY_LENGTH, PHP_TRIM_CHARACTERS
from frontdesk.answering.tokens import revoke_tokens
from frontdesk.audit.service import record_event
from frontdesk.clock import Clock
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.logs import get_logger
from frontdesk.security.passwords import hash_password
from frontdesk.security.secrets import SecretBox

log = get_logger(__name__)
UNASSIGNED_PRACTICE_NAME = "Answering Service"


@dataclass(frozen=True)
class UserView:
    """An API user as staff see it (never the password or the key)."""

    user: AnsweringUser
    company: AnsweringCompany
    practice_codes: list[str]


def _code(value: str, field: str) -> str:
    value = value.strip()
    if not value or len(value) > 64:
        raise InvalidInput("a code needs 1 to 64 characters", field=field)
    return value


async def get_practice(session: AsyncSession, *, code: str) -> AnsweringPractice | None:
    query = select(AnsweringPractice).where(AnsweringPractice.code == code)
    return (await session.execute(query)).scalar_one_or_none()


async def ensure_practice(
    session: AsyncSession, *, clock: Clock, code: str, name: str | None = None
) -> AnsweringPractice:
    """The practice with ``code``, created (named ``name`` or its code) when missing."""
    code = _code(code, "practice")
    practice = await get_practice(session, code=code)
    if practice is None:
        practice = AnsweringPractice(code=code, name=(name or code).strip(), created_at=clock.now())
        session.add(practice)
        await session.flush()
    elif name and name.strip() and practice.name != name.strip():
        practice.name = name.strip()
    return practice


async def get_company(session: AsyncSession, *, name: str) -> AnsweringCompany | None:
    query = select(AnsweringCompany).where(AnsweringCompany.name == name)
    return (await session.execute(query)).scalar_one_or_none()


async def ensure_company(session: AsyncSession, *, clock: Clock, name: str) -> AnsweringCompany:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a company needs a name of 1 to 200 characters", field="company")
    company = await get_company(session, name=name)
    if company is None:
        company = AnsweringCompany(name=name, created_at=clock.now())
        session.add(company)
        await session.flush()
    return company


async def set_unassigned_practice(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    company_name: str,
    practice_code: str | None,
) -> AnsweringCompany:
    """Enable (a practice code) or disable (None) filing unknown practices as Unassigned."""
    company = await get_company(session, name=company_name.strip())
    if company is None:
        raise NotFound("no company of that name", field="company")
    practice = None
    if practice_code is not None:
        practice = await ensure_practice(
            session, clock=clock, code=practice_code, name=UNASSIGNED_PRACTICE_NAME
        )
    company.unassigned_practice_id = practice.id if practice else None
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="answering.company.unassigned_practice",
        target_type="answering_company",
        target_id=str(company.id),
        business_id=None,
        details={"practiceCode": practice_code},
    )
    return company


def _check_secret(value: str, field: str) -> bytes:
    raw = value.encode("utf-8")
    if raw.strip(PHP_TRIM_CHARACTERS) == b"":
        raise InvalidInput(f"the {field} must not be blank", field=field)
    return raw


async def create_user(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    secrets: SecretBox,
    username: str,
    password: str,
    key: str,
    company: str,
    practices: Sequence[str],
    hasher: PasswordHasher | None = None,
) -> UserView:
    """Create an API user, creating its company and practices as needed."""
    username = username.strip()
    if not username or len(username) > 120:
        raise InvalidInput("a username needs 1 to 120 characters", field="username")
    if not practices:
        raise InvalidInput("an API user needs at least one practice (never all)", field="practice")
    password_bytes = _check_secret(password, "password")
    key_bytes = _check_secret(key, "key")
    existing = select(AnsweringUser.id).where(AnsweringUser.username == username)
    if (await session.execute(existing)).first() is not None:
        raise Conflict("an API user of that username already exists", field="username")
    owner = await ensure_company(session, clock=clock, name=company)
    rows = [await ensure_practice(session, clock=clock, code=code) for code in practices]
    user = AnsweringUser(
        company_id=owner.id,
        username=username,
        password_hash=hasher.hash(password_bytes) if hasher else hash_password(password_bytes),
        encryption_key=secrets.encrypt(key),
        active=True,
        created_at=clock.now(),
    )
    session.add(user)
    await session.flush()
    codes = sorted({p.code for p in rows})
    await _replace_practices(session, user=user, practices=rows)
    if len(key_bytes) != KEY_LENGTH:
        # Works like PHP (NUL-padded or cut, spec ambiguity 15) but is weaker or misleading.
        log.warning("answering.key_length", user_id=user.id, key_bytes=len(key_bytes))
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="answering.user.create",
        target_type="answering_user",
        target_id=str(user.id),
        business_id=None,
        details={"username": username, "company": owner.name, "practices": codes},
    )
    return UserView(user=user, company=owner, practice_codes=codes)


async def _replace_practices(
    session: AsyncSession, *, user: AnsweringUser, practices: Sequence[AnsweringPractice]
) -> None:
    await session.execute(
        delete(AnsweringUserPractice).where(AnsweringUserPractice.user_id == user.id)
    )
    for practice_id in sorted({p.id for p in practices}):
        session.add(AnsweringUserPractice(user_id=user.id, practice_id=practice_id))
    await session.flush()


async def update_user(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    secrets: SecretBox,
    username: str,
    active: bool | None = None,
    password: str | None = None,
    key: str | None = None,
    practices: Sequence[str] | None = None,
) -> UserView:
    """Change a user's state, password, key or practice list (an empty list is refused).

    Deactivating the user or changing its password or key revokes every token it holds (the
    caller drops the hot-path caches; other processes' caches let go within their TTL).
    """
    user = await _user(session, username=username)
    changed: list[str] = []
    revoke = False
    if active is not None:
        revoke = not active  # a deactivated user's tokens end now, not when it is reactivated
        user.active = active
        changed.append("active")
    if password is not None:
        user.password_hash = hash_password(_check_secret(password, "password"))
        changed.append("password")
        revoke = True
    if key is not None:
        _check_secret(key, "key")
        user.encryption_key = secrets.encrypt(key)
        changed.append("key")
        revoke = True
    if practices is not None:
        if not practices:
            raise InvalidInput("an API user needs at least one practice", field="practices")
        rows = [await ensure_practice(session, clock=clock, code=code) for code in practices]
        await _replace_practices(session, user=user, practices=rows)
        changed.append("practices")
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="answering.user.update",
        target_type="answering_user",
        target_id=str(user.id),
        business_id=None,
        details={"username": user.username, "changed": changed}
        | ({"tokensRevoked": await revoke_tokens(session, user_id=user.id)} if revoke else {}),
    )
    return await view_user(session, user=user)


async def _user(session: AsyncSession, *, username: str) -> AnsweringUser:
    query = select(AnsweringUser).where(AnsweringUser.username == username)
    user = (await session.execute(query)).scalar_one_or_none()
    if user is None:
        raise NotFound("no API user of that username", field="username")
    return user


async def view_user(session: AsyncSession, *, user: AnsweringUser) -> UserView:
    company = await session.get(AnsweringCompany, user.company_id)
    assert company is not None
    query = (
        select(AnsweringPractice.code)
        .join(AnsweringUserPractice, AnsweringUserPractice.practice_id == AnsweringPractice.id)
        .where(AnsweringUserPractice.user_id == user.id)
        .order_by(AnsweringPractice.code)
    )
    codes = list((await session.execute(query)).scalars())
    return UserView(user=user, company=company, practice_codes=codes)


async def list_users(session: AsyncSession) -> list[UserView]:
    users = (
        await session.execute(select(AnsweringUser).order_by(AnsweringUser.username))
    ).scalars()
    return [await view_user(session, user=u) for u in users.all()]


async def list_companies(session: AsyncSession) -> Sequence[AnsweringCompany]:
    return (
        (await session.execute(select(AnsweringCompany).order_by(AnsweringCompany.name)))
        .scalars()
        .all()
    )


async def list_practices(session: AsyncSession) -> Sequence[AnsweringPractice]:
    query = select(AnsweringPractice).order_by(AnsweringPractice.code)
    return (await session.execute(query)).scalars().all()


async def add_doctor(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    practice_code: str,
    code: str,
    name: str = "",
    secure_messaging: bool = True,
) -> AnsweringDoctor:
    """Add doctor ``code`` to an existing practice."""
    practice = await get_practice(session, code=practice_code.strip())
    if practice is None:
        raise NotFound("no practice of that code", field="practice")
    code = _code(code, "code")
    query = select(AnsweringDoctor.id).where(
        AnsweringDoctor.practice_id == practice.id, AnsweringDoctor.code == code
    )
    if (await session.execute(query)).first() is not None:
        raise Conflict(
            f"that doctor code already exists in practice id {practice.id}", field="code"
        )
    doctor = AnsweringDoctor(
        practice_id=practice.id,
        code=code,
        name=name.strip(),
        secure_messaging=secure_messaging,
        created_at=clock.now(),
    )
    session.add(doctor)
    await session.flush()
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action="answering.doctor.create",
        target_type="answering_doctor",
        target_id=str(doctor.id),
        business_id=None,
        details={"practice": practice.code, "code": code, "secureMessaging": secure_messaging},
    )
    return doctor


async def list_doctors(
    session: AsyncSession, *, practice_code: str | None = None
) -> list[tuple[AnsweringDoctor, str]]:
    query = select(AnsweringDoctor, AnsweringPractice.code).join(
        AnsweringPractice, AnsweringPractice.id == AnsweringDoctor.practice_id
    )
    if practice_code:
        query = query.where(AnsweringPractice.code == practice_code)
    rows = await session.execute(query.order_by(AnsweringPractice.code, AnsweringDoctor.code))
    return [(doctor, code) for doctor, code in rows.all()]
