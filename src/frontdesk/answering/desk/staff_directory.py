"""The ticket desk's view of staff users: the one module that reads the staff package.

It needs three facts, behind :class:`StaffDirectory`: what a role may do with tickets, which
practices a user is linked to (``staff_user_practices``, the nurses' seam), and who a user is
(for assignment). :class:`SqlStaffDirectory` reads the staff tables and
:mod:`frontdesk.staff.roles`; tests or another user store can pass their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.staff.models import StaffUser, StaffUserPractice
from frontdesk.staff.roles import PATIENT_DETAIL_MASK, Permission, Role, can

__all__ = [
    "PATIENT_DETAIL_MASK",
    "RoleRights",
    "SqlStaffDirectory",
    "StaffDirectory",
    "StaffMember",
    "role_rights",
]


@dataclass(frozen=True, slots=True)
class RoleRights:
    """What a dashboard role may do with tickets."""

    view: bool
    work: bool
    patient_details: bool
    configure: bool
    practice_bound: bool
    """True: only tickets of the practices linked to the user (nurses)."""


def role_rights(role: str) -> RoleRights:
    """The ticket rights of a dashboard ``role`` (from the staff role → permission table)."""
    return RoleRights(
        view=can(role, Permission.VIEW_TICKETS),
        work=can(role, Permission.WORK_TICKETS),
        patient_details=can(role, Permission.SEE_PATIENT_DETAILS),
        configure=can(role, Permission.MANAGE_USERS),
        practice_bound=role == Role.NURSE.value,
    )


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: int
    username: str
    role: str
    active: bool


class StaffDirectory(Protocol):
    async def practice_codes(self, session: AsyncSession, *, user_id: int) -> frozenset[str]:
        """The answering practice codes linked to the user."""
        ...

    async def find(self, session: AsyncSession, *, ref: str) -> StaffMember | None:
        """The user with id ``ref`` (digits) or username ``ref``."""
        ...

    async def link_practices(
        self, session: AsyncSession, *, user_id: int, codes: Iterable[str]
    ) -> None:
        """Replace the practices linked to the user."""
        ...

    async def assignable(self, session: AsyncSession, *, practice_code: str) -> list[StaffMember]:
        """Active users who may be given a ticket of the practice, by username."""
        ...


class SqlStaffDirectory:
    """Reads ``staff_users`` and ``staff_user_practices``."""

    async def practice_codes(self, session: AsyncSession, *, user_id: int) -> frozenset[str]:
        query = select(StaffUserPractice.practice_code).where(StaffUserPractice.user_id == user_id)
        return frozenset((await session.execute(query)).scalars())

    async def find(self, session: AsyncSession, *, ref: str) -> StaffMember | None:
        ref = ref.strip()
        # usernames are stored lower-case
        by = StaffUser.id == int(ref) if ref.isdigit() else StaffUser.username == ref.lower()
        row = (
            await session.execute(
                select(StaffUser.id, StaffUser.username, StaffUser.role, StaffUser.active).where(by)
            )
        ).first()
        return StaffMember(row[0], row[1], row[2], bool(row[3])) if row is not None else None

    async def link_practices(
        self, session: AsyncSession, *, user_id: int, codes: Iterable[str]
    ) -> None:
        await session.execute(delete(StaffUserPractice).where(StaffUserPractice.user_id == user_id))
        for code in sorted(set(codes)):
            session.add(StaffUserPractice(user_id=user_id, practice_code=code))
        await session.flush()

    async def assignable(self, session: AsyncSession, *, practice_code: str) -> list[StaffMember]:
        # The rule of actions._assignable, as a query: a role that works tickets, and a
        # practice-bound role only when linked to the practice. Users limited to a business
        # see no ticket, so they are not offered.
        working = [r.value for r in Role if role_rights(r.value).work]
        bound = [r for r in working if role_rights(r).practice_bound]
        linked = (
            select(StaffUserPractice.user_id)
            .where(
                StaffUserPractice.user_id == StaffUser.id,
                StaffUserPractice.practice_code == practice_code,
            )
            .exists()
        )
        query = (
            select(StaffUser.id, StaffUser.username, StaffUser.role)
            .where(
                StaffUser.active.is_(True),
                StaffUser.business_id.is_(None),
                StaffUser.role.in_(working),
                or_(StaffUser.role.not_in(bound), linked),
            )
            .order_by(StaffUser.username)
        )
        rows = (await session.execute(query)).all()
        return [StaffMember(row[0], row[1], row[2], True) for row in rows]
