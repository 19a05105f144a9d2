"""HTTP: ``/api/answering/...`` — staff management of answering-service accounts (staff keys).

Companies, practices, doctors, API users and lockouts. Passwords and encryption keys are
write-only: responses show ``"********"`` for the key and never the password hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from frontdesk.access.dependencies import StaffPrincipal
from frontdesk.answering import accounts, login
from frontdesk.answering.accounts import UserView
from frontdesk.answering.models import AnsweringLockout
from frontdesk.context import AppContext
from frontdesk.server.dependencies import AnsweringDep, get_context

router = APIRouter(prefix="/api/answering", tags=["answering accounts"])
Context = Annotated[AppContext, Depends(get_context)]
MASK = "********"


class CompanyOut(BaseModel):
    id: int
    name: str
    unassignedPracticeCode: str | None


class CompanyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unassignedPracticeCode: str | None = Field(
        description="file tickets for unknown practices under this practice as Unassigned "
        "(created as 'Answering Service' when missing); null turns it off"
    )


class PracticeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)


class PracticeOut(BaseModel):
    id: int
    code: str
    name: str


class DoctorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    practiceCode: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=200)
    secureMessaging: bool = True


class DoctorOut(BaseModel):
    id: int
    practiceCode: str
    code: str
    name: str
    secureMessaging: bool


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=1, max_length=1024)
    key: str = Field(min_length=1, max_length=1024, description="the shared encryption key")
    company: str = Field(min_length=1, max_length=200, description="the COMPANY field")
    practices: list[str] = Field(min_length=1, description="practice codes; never 'all'")


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=1024)
    key: str | None = Field(default=None, min_length=1, max_length=1024)
    practices: list[str] | None = Field(default=None, min_length=1)


class UserOut(BaseModel):
    id: int
    username: str
    company: str
    practices: list[str]
    active: bool
    key: str = MASK
    createdAt: datetime


class LockoutOut(BaseModel):
    id: int
    username: str
    lockedAt: datetime
    lockedUntil: datetime
    failures: int
    releasedAt: datetime | None
    releasedBy: str | None
    active: bool


def _user_out(view: UserView) -> UserOut:
    return UserOut(
        id=view.user.id,
        username=view.user.username,
        company=view.company.name,
        practices=view.practice_codes,
        active=view.user.active,
        createdAt=view.user.created_at,
    )


def _lock_out(lock: AnsweringLockout, now: datetime) -> LockoutOut:
    return LockoutOut(
        id=lock.id,
        username=lock.username,
        lockedAt=lock.locked_at,
        lockedUntil=lock.locked_until,
        failures=lock.failures,
        releasedAt=lock.released_at,
        releasedBy=lock.released_by,
        active=lock.released_at is None and lock.locked_until > now,
    )


@router.get("/companies", response_model=list[CompanyOut])
async def list_companies(ctx: Context, _staff: StaffPrincipal) -> list[CompanyOut]:
    async with ctx.db.reader() as session:
        codes = {p.id: p.code for p in await accounts.list_practices(session)}
        return [
            CompanyOut(
                id=c.id,
                name=c.name,
                unassignedPracticeCode=codes.get(c.unassigned_practice_id or 0),
            )
            for c in await accounts.list_companies(session)
        ]


@router.patch("/companies/{name}", response_model=CompanyOut)
async def patch_company(
    name: str, body: CompanyPatch, ctx: Context, staff: StaffPrincipal, answering: AnsweringDep
) -> CompanyOut:
    try:
        async with ctx.db.transaction() as session:
            company = await accounts.set_unassigned_practice(
                session,
                principal=staff,
                clock=ctx.clock,
                company_name=name,
                practice_code=body.unassignedPracticeCode,
            )
            return CompanyOut(
                id=company.id, name=company.name, unassignedPracticeCode=body.unassignedPracticeCode
            )
    finally:
        answering.invalidate()  # this process sees account changes at once


@router.get("/practices", response_model=list[PracticeOut])
async def list_practices(ctx: Context, _staff: StaffPrincipal) -> list[PracticeOut]:
    async with ctx.db.reader() as session:
        return [
            PracticeOut(id=p.id, code=p.code, name=p.name)
            for p in await accounts.list_practices(session)
        ]


@router.post("/practices", status_code=status.HTTP_201_CREATED, response_model=PracticeOut)
async def put_practice(
    body: PracticeIn, ctx: Context, _staff: StaffPrincipal, answering: AnsweringDep
) -> PracticeOut:
    """Create a practice, or rename an existing one."""
    try:
        async with ctx.db.transaction() as session:
            p = await accounts.ensure_practice(
                session, clock=ctx.clock, code=body.code, name=body.name
            )
            return PracticeOut(id=p.id, code=p.code, name=p.name)
    finally:
        answering.invalidate()  # this process sees account changes at once


@router.get("/doctors", response_model=list[DoctorOut])
async def list_doctors(
    ctx: Context, _staff: StaffPrincipal, practiceCode: str | None = None
) -> list[DoctorOut]:
    async with ctx.db.reader() as session:
        rows = await accounts.list_doctors(session, practice_code=practiceCode)
        return [
            DoctorOut(
                id=d.id,
                practiceCode=code,
                code=d.code,
                name=d.name,
                secureMessaging=d.secure_messaging,
            )
            for d, code in rows
        ]


@router.post("/doctors", status_code=status.HTTP_201_CREATED, response_model=DoctorOut)
async def add_doctor(
    body: DoctorIn, ctx: Context, staff: StaffPrincipal, answering: AnsweringDep
) -> DoctorOut:
    try:
        async with ctx.db.transaction() as session:
            d = await accounts.add_doctor(
                session,
                principal=staff,
                clock=ctx.clock,
                practice_code=body.practiceCode,
                code=body.code,
                name=body.name,
                secure_messaging=body.secureMessaging,
            )
            return DoctorOut(
                id=d.id,
                practiceCode=body.practiceCode.strip(),
                code=d.code,
                name=d.name,
                secureMessaging=d.secure_messaging,
            )
    finally:
        answering.invalidate()  # this process sees account changes at once


@router.get("/users", response_model=list[UserOut])
async def list_users(ctx: Context, _staff: StaffPrincipal) -> list[UserOut]:
    async with ctx.db.reader() as session:
        return [_user_out(v) for v in await accounts.list_users(session)]


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def add_user(
    body: UserIn, ctx: Context, staff: StaffPrincipal, answering: AnsweringDep
) -> UserOut:
    """Create an API user (and its company and practices when missing)."""
    try:
        async with ctx.db.transaction() as session:
            view = await accounts.create_user(
                session,
                principal=staff,
                clock=ctx.clock,
                secrets=ctx.secrets,
                username=body.username,
                password=body.password,
                key=body.key,
                company=body.company,
                practices=body.practices,
            )
            return _user_out(view)
    finally:
        answering.invalidate()  # this process sees account changes at once


@router.patch("/users/{username}", response_model=UserOut)
async def patch_user(
    username: str, body: UserPatch, ctx: Context, staff: StaffPrincipal, answering: AnsweringDep
) -> UserOut:
    try:
        async with ctx.db.transaction() as session:
            view = await accounts.update_user(
                session,
                principal=staff,
                clock=ctx.clock,
                secrets=ctx.secrets,
                username=username,
                active=body.active,
                password=body.password,
                key=body.key,
                practices=body.practices,
            )
            return _user_out(view)
    finally:
        answering.invalidate()  # this process sees account changes at once


@router.get("/lockouts", response_model=list[LockoutOut])
async def list_lockouts(
    ctx: Context, _staff: StaffPrincipal, active: bool = False
) -> list[LockoutOut]:
    """Username lockouts after repeated tokenCreate failures, newest first."""
    now = ctx.clock.now()
    async with ctx.db.reader() as session:
        rows = await login.list_lockouts(session, now=now, active_only=active)
        return [_lock_out(lock, now) for lock in rows]


@router.delete("/lockouts/{username}", response_model=LockoutOut)
async def release_lockout(username: str, ctx: Context, staff: StaffPrincipal) -> LockoutOut:
    async with ctx.db.transaction() as session:
        lock = await login.release_lockout(
            session, principal=staff, clock=ctx.clock, username=username
        )
        return _lock_out(lock, ctx.clock.now())
