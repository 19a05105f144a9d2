"""Reading tickets for staff: the filtered list, the Unassigned queue, one ticket in full.

Every query goes through :meth:`TicketAccess.practice_filter`, so a ticket a principal may not
see is never read, and masking happens when rendering (:mod:`~.schemas`). Pagination is by
keyset on the ticket's primary key: the list runs newest first (``cursor`` = the last id seen),
the queue oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering.desk import lifecycle
from frontdesk.answering.desk.models import AnsweringTicketNote, AnsweringTicketRefiling
from frontdesk.answering.desk.staff_directory import (
    SqlStaffDirectory,
    StaffDirectory,
    StaffMember,
)
from frontdesk.answering.desk.visibility import TicketAccess
from frontdesk.answering.models import (
    AnsweringCompany,
    AnsweringDoctor,
    AnsweringPractice,
    AnsweringTicket,
    AnsweringTicketStatus,
)
from frontdesk.errors import InvalidInput

MAX_LIMIT = 200
_Q = TypeVar("_Q", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True, slots=True)
class TicketRow:
    ticket: AnsweringTicket
    practice_code: str
    practice_name: str
    company_name: str
    doctor_code: str | None


@dataclass(frozen=True, slots=True)
class TicketPage:
    rows: list[TicketRow]
    next_cursor: int | None


@dataclass
class TicketFilter:
    practices: Sequence[str] = ()
    statuses: Sequence[str] = ()
    created_from: date | None = None
    created_to: date | None = None
    """Inclusive: tickets created on that (UTC) day are in."""
    assignee: str | None = None
    """A username or user id, or ``"none"`` for tickets nobody is assigned to."""
    text: str | None = None
    """Case-insensitive substring of the complaint."""
    company_id: int | None = None
    unassigned_practice: bool | None = None
    statuses_normalised: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        for value in self.statuses:
            status = lifecycle.normalise_status(value)
            if status is None:
                raise InvalidInput(
                    f"status must be one of {', '.join(lifecycle.STATUSES)}", field="status"
                )
            self.statuses_normalised.append(status)


def _base(access: TicketAccess) -> Select[AnsweringTicket, str, str, str, str | None]:
    return (
        select(
            AnsweringTicket,
            AnsweringPractice.code,
            AnsweringPractice.name,
            AnsweringCompany.name,
            AnsweringDoctor.code,
        )
        .join(AnsweringPractice, AnsweringPractice.id == AnsweringTicket.practice_id)
        .join(AnsweringCompany, AnsweringCompany.id == AnsweringTicket.company_id)
        .outerjoin(AnsweringDoctor, AnsweringDoctor.id == AnsweringTicket.doctor_id)
        .where(access.practice_filter())
    )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def _assignee_condition(
    session: AsyncSession, directory: StaffDirectory, ref: str
) -> ColumnElement[bool]:
    if ref.strip().lower() == "none":
        return AnsweringTicket.assignee_user_id.is_(None)
    member = await directory.find(session, ref=ref)
    if member is None:  # an unknown user is assigned nothing
        return AnsweringTicket.assignee_name == ref.strip().lower()
    return AnsweringTicket.assignee_user_id == member.id


def _limit(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


def _page(
    rows: Sequence[tuple[AnsweringTicket, str, str, str, str | None]], limit: int
) -> TicketPage:
    out = [TicketRow(*row) for row in rows[:limit]]
    next_cursor = out[-1].ticket.id if len(rows) > limit else None
    return TicketPage(out, next_cursor)


async def list_tickets(
    session: AsyncSession,
    *,
    access: TicketAccess,
    filters: TicketFilter,
    cursor: int | None = None,
    limit: int = 50,
    directory: StaffDirectory | None = None,
) -> TicketPage:
    """Visible tickets matching ``filters``, newest first, one page."""
    access.require_view()
    query = await _filtered(_base(access), session, access, filters, directory)
    if filters.statuses_normalised:
        query = query.where(AnsweringTicket.status.in_(filters.statuses_normalised))
    if cursor is not None:
        query = query.where(AnsweringTicket.id < cursor)
    limit = _limit(limit)
    query = query.order_by(AnsweringTicket.id.desc()).limit(limit + 1)
    return _page((await session.execute(query)).all(), limit)


async def status_counts(
    session: AsyncSession,
    *,
    access: TicketAccess,
    filters: TicketFilter,
    directory: StaffDirectory | None = None,
) -> dict[str, int]:
    """How many visible tickets matching ``filters`` are in each status (``statuses`` of the
    filter ignored: the counts are what a status filter would choose from)."""
    access.require_view()
    query = select(AnsweringTicket.status, func.count()).join(
        AnsweringPractice, AnsweringPractice.id == AnsweringTicket.practice_id
    )
    query = await _filtered(
        query.where(access.practice_filter()), session, access, filters, directory
    )
    rows = await session.execute(query.group_by(AnsweringTicket.status))
    return {status: int(count) for status, count in rows.all()}


async def _filtered(
    query: _Q,
    session: AsyncSession,
    access: TicketAccess,
    filters: TicketFilter,
    directory: StaffDirectory | None,
) -> _Q:
    """``query`` (joined to the practice) narrowed by every filter but the statuses."""
    if filters.text:
        access.require_search()
    if filters.practices:
        query = query.where(AnsweringPractice.code.in_([p.strip() for p in filters.practices]))
    if filters.created_from is not None:
        query = query.where(AnsweringTicket.created_at >= _day_start(filters.created_from))
    if filters.created_to is not None:
        end = _day_start(filters.created_to) + timedelta(days=1)
        query = query.where(AnsweringTicket.created_at < end)
    if filters.assignee:
        condition = await _assignee_condition(
            session, directory or SqlStaffDirectory(), filters.assignee
        )
        query = query.where(condition)
    if filters.text:
        needle = filters.text.strip().lower()
        query = query.where(func.lower(AnsweringTicket.complaint).contains(needle, autoescape=True))
    if filters.company_id is not None:
        query = query.where(AnsweringTicket.company_id == filters.company_id)
    if filters.unassigned_practice is not None:
        query = query.where(AnsweringTicket.unassigned.is_(filters.unassigned_practice))
    return query


async def unassigned_queue(
    session: AsyncSession,
    *,
    access: TicketAccess,
    practices: Sequence[str] = (),
    cursor: int | None = None,
    limit: int = 50,
) -> TicketPage:
    """Open tickets nobody is assigned to, oldest first (tickets filed under a company's
    Unassigned practice are among them, flagged ``unassignedPractice``)."""
    access.require_view()
    query = _base(access).where(
        AnsweringTicket.assignee_user_id.is_(None),
        AnsweringTicket.status.in_(sorted(lifecycle.OPEN)),
    )
    if practices:
        query = query.where(AnsweringPractice.code.in_([p.strip() for p in practices]))
    if cursor is not None:
        query = query.where(AnsweringTicket.id > cursor)
    limit = _limit(limit)
    query = query.order_by(AnsweringTicket.id.asc()).limit(limit + 1)
    return _page((await session.execute(query)).all(), limit)


async def assignees(
    session: AsyncSession,
    *,
    access: TicketAccess,
    practice_code: str,
    directory: StaffDirectory | None = None,
) -> list[StaffMember]:
    """Who a ticket of ``practice_code`` may be assigned to (what :func:`~.actions.assign`
    accepts); nothing for a principal that does not work tickets."""
    if not access.work:
        return []
    return await (directory or SqlStaffDirectory()).assignable(session, practice_code=practice_code)


@dataclass(frozen=True, slots=True)
class TicketDetail:
    row: TicketRow
    history: list[AnsweringTicketStatus]
    notes: list[AnsweringTicketNote]
    refilings: list[AnsweringTicketRefiling]


async def ticket_detail(
    session: AsyncSession, *, access: TicketAccess, ticket_id: str
) -> TicketDetail | None:
    """One visible ticket with its status history, notes and re-filings (oldest first)."""
    access.require_view()
    query = _base(access).where(AnsweringTicket.ticket_id == ticket_id.strip())
    found = (await session.execute(query)).first()
    if found is None:
        return None
    row = TicketRow(*found)
    pk = row.ticket.id
    history = (
        await session.execute(
            select(AnsweringTicketStatus)
            .where(AnsweringTicketStatus.ticket_pk == pk)
            .order_by(AnsweringTicketStatus.id)
        )
    ).scalars()
    notes = (
        await session.execute(
            select(AnsweringTicketNote)
            .where(AnsweringTicketNote.ticket_pk == pk)
            .order_by(AnsweringTicketNote.id)
        )
    ).scalars()
    refilings = (
        await session.execute(
            select(AnsweringTicketRefiling)
            .where(AnsweringTicketRefiling.ticket_pk == pk)
            .order_by(AnsweringTicketRefiling.id)
        )
    ).scalars()
    return TicketDetail(row, list(history), list(notes), list(refilings))
