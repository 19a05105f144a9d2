"""Linking staff users (nurses) to the practices whose tickets they work."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering.desk.staff_directory import SqlStaffDirectory, StaffDirectory, StaffMember
from frontdesk.answering.desk.visibility import TicketAccess
from frontdesk.answering.models import AnsweringPractice
from frontdesk.audit.service import record_event
from frontdesk.clock import Clock
from frontdesk.errors import NotFound


async def practice_links(
    session: AsyncSession,
    *,
    access: TicketAccess,
    user: str,
    directory: StaffDirectory | None = None,
) -> tuple[StaffMember, list[str]]:
    access.require_configure()
    directory = directory or SqlStaffDirectory()
    member = await directory.find(session, ref=user)
    if member is None:
        raise NotFound("no staff user of that name", field="user")
    return member, sorted(await directory.practice_codes(session, user_id=member.id))


async def set_practice_links(
    session: AsyncSession,
    *,
    access: TicketAccess,
    clock: Clock,
    user: str,
    practices: Sequence[str],
    directory: StaffDirectory | None = None,
) -> tuple[StaffMember, list[str]]:
    """Replace the practices linked to ``user``; every code must name a known practice."""
    access.require_configure()
    directory = directory or SqlStaffDirectory()
    member = await directory.find(session, ref=user)
    if member is None:
        raise NotFound("no staff user of that name", field="user")
    codes = sorted({p.strip() for p in practices if p.strip()})
    known = set(
        (
            await session.execute(
                select(AnsweringPractice.code).where(AnsweringPractice.code.in_(codes))
            )
        ).scalars()
    )
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise NotFound(f"{len(unknown)} practice code(s) are unknown", field="practices")
    await directory.link_practices(session, user_id=member.id, codes=codes)
    await record_event(
        session,
        clock=clock,
        actor=access.principal,
        action="answering.staff_practices.set",
        target_type="staff_user",
        target_id=str(member.id),
        business_id=None,
        details={"username": member.username, "practices": codes},
    )
    return member, codes
