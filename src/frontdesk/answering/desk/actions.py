"""What staff do to a ticket: transition, note, assign, re-file. Own no transaction.

Every action loads the ticket ``FOR UPDATE`` (PostgreSQL; SQLite's single writer serialises
anyway), refuses tickets the principal may not see (404) or may not work (403), records what
happened with its actor and time, writes an audit event (ids and codes only, never patient
data or free text), and — for a status change — queues a webhook delivery in the same
transaction (:func:`~frontdesk.answering.desk.webhooks.queue_status_change`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering.desk import lifecycle
from frontdesk.answering.desk.models import AnsweringTicketNote, AnsweringTicketRefiling
from frontdesk.answering.desk.staff_directory import (
    SqlStaffDirectory,
    StaffDirectory,
    StaffMember,
    role_rights,
)
from frontdesk.answering.desk.visibility import TicketAccess
from frontdesk.answering.desk.webhooks import queue_status_change
from frontdesk.answering.models import (
    AnsweringDoctor,
    AnsweringPractice,
    AnsweringTicket,
    AnsweringTicketStatus,
)
from frontdesk.audit.service import record_event
from frontdesk.clock import Clock
from frontdesk.errors import Conflict, InvalidInput, NotFound

MAX_TEXT = 10_000


class TransitionRefused(Conflict):
    """The lifecycle does not allow this move; the message names the allowed next states."""

    def __init__(self, current: str, target: str) -> None:
        allowed = lifecycle.allowed_next(current)
        nexts = ", ".join(allowed) if allowed else "none (terminal status)"
        super().__init__(
            f"a ticket in {current} cannot move to {target}; allowed next: {nexts}",
            field="status",
            code="transition_refused",
        )
        self.current = current
        self.target = target
        self.allowed = allowed


@dataclass(frozen=True, slots=True)
class Located:
    ticket: AnsweringTicket
    practice: AnsweringPractice


async def locate(
    session: AsyncSession, *, access: TicketAccess, ticket_id: str, for_update: bool = False
) -> Located:
    """The ticket ``ticket_id`` if ``access`` may see it; 404 otherwise (never 403)."""
    access.require_view()
    query = (
        select(AnsweringTicket, AnsweringPractice)
        .join(AnsweringPractice, AnsweringPractice.id == AnsweringTicket.practice_id)
        .where(AnsweringTicket.ticket_id == ticket_id.strip(), access.practice_filter())
    )
    if for_update:
        query = query.with_for_update(of=AnsweringTicket)
    row = (await session.execute(query)).first()
    if row is None:
        raise NotFound("no ticket of that id", field="ticket_id")
    return Located(row[0], row[1])


def _text(value: str | None, field: str, *, required: bool) -> str | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise InvalidInput(f"{field} must not be blank", field=field)
        return None
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{field} has at most {MAX_TEXT} characters", field=field)
    return value


async def _move(
    session: AsyncSession,
    *,
    access: TicketAccess,
    clock: Clock,
    ticket: AnsweringTicket,
    target: str,
    note: str | None,
) -> AnsweringTicketStatus:
    """Set the status, append the history row, queue the webhook delivery."""
    now = clock.now()
    previous = ticket.status
    ticket.status = target
    step = AnsweringTicketStatus(
        ticket_pk=ticket.id,
        status=target,
        at=now,
        actor=access.principal.label,
        from_status=previous,
        actor_role=access.actor_role,
        assignee=ticket.assignee_name,
        note=note,
    )
    session.add(step)
    await session.flush()
    if previous != target:
        await queue_status_change(session, ticket=ticket, previous=previous, step=step, clock=clock)
    return step


async def _audit(
    session: AsyncSession,
    *,
    access: TicketAccess,
    clock: Clock,
    action: str,
    ticket: AnsweringTicket,
    details: dict[str, Any],
) -> None:
    await record_event(
        session,
        clock=clock,
        actor=access.principal,
        action=action,
        target_type="answering_ticket",
        target_id=ticket.ticket_id,
        business_id=None,
        details=details,
    )


async def transition(
    session: AsyncSession,
    *,
    access: TicketAccess,
    clock: Clock,
    ticket_id: str,
    status: str,
    note: str | None = None,
) -> AnsweringTicket:
    """Move a ticket to ``status`` (409 naming the allowed next states when refused).

    ``ASSIGNED`` is reached through :func:`assign` only (it needs an assignee); leaving
    ``ASSIGNED`` for ``IN PROGRESS`` clears the assignee (unassign).
    """
    access.require_work()
    target = lifecycle.normalise_status(status)
    if target is None:
        raise InvalidInput(f"status must be one of {', '.join(lifecycle.STATUSES)}", field="status")
    text = _text(note, "note", required=False)
    located = await locate(session, access=access, ticket_id=ticket_id, for_update=True)
    ticket = located.ticket
    if not lifecycle.is_allowed(ticket.status, target):
        raise TransitionRefused(ticket.status, target)
    if target == lifecycle.ASSIGNED:
        raise InvalidInput(
            "a ticket becomes ASSIGNED by assigning it (POST .../assign)", field="status"
        )
    previous = ticket.status
    if target == lifecycle.IN_PROGRESS:
        ticket.assignee_user_id = None
        ticket.assignee_name = None
    await _move(session, access=access, clock=clock, ticket=ticket, target=target, note=text)
    await _audit(
        session,
        access=access,
        clock=clock,
        action="answering.ticket.transition",
        ticket=ticket,
        details={"from": previous, "to": target, "withNote": text is not None},
    )
    return ticket


async def add_note(
    session: AsyncSession, *, access: TicketAccess, clock: Clock, ticket_id: str, body: str
) -> AnsweringTicketNote:
    """Append a note (any status: notes on closed tickets record late information)."""
    access.require_work()
    text = _text(body, "body", required=True)
    assert text is not None
    located = await locate(session, access=access, ticket_id=ticket_id, for_update=True)
    note = AnsweringTicketNote(
        ticket_pk=located.ticket.id,
        body=text,
        actor=access.principal.label,
        actor_role=access.actor_role,
        at=clock.now(),
    )
    session.add(note)
    await session.flush()
    await _audit(
        session,
        access=access,
        clock=clock,
        action="answering.ticket.note",
        ticket=located.ticket,
        details={"noteId": note.id},
    )
    return note


async def _assignable(
    session: AsyncSession, directory: StaffDirectory, *, ref: str, practice_code: str
) -> StaffMember:
    member = await directory.find(session, ref=ref)
    if member is None or not member.active:
        raise NotFound("that staff user does not exist or is inactive", field="assignee")
    rights = role_rights(member.role)
    if not rights.work:
        raise InvalidInput(
            f"staff user {member.id} ({member.role}) may not work tickets",
            field="assignee",
        )
    if rights.practice_bound and practice_code not in await directory.practice_codes(
        session, user_id=member.id
    ):
        raise Conflict(
            f"staff user {member.id} is not linked to the ticket's practice",
            field="assignee",
        )
    return member


async def assign(
    session: AsyncSession,
    *,
    access: TicketAccess,
    clock: Clock,
    ticket_id: str,
    assignee: str,
    note: str | None = None,
    directory: StaffDirectory | None = None,
) -> AnsweringTicket:
    """Give the ticket to a staff user who works tickets (a nurse: of the ticket's practice).

    Moves the ticket to ``ASSIGNED`` (allowed from every state whose table lists it); a ticket
    already ``ASSIGNED`` is re-assigned, recorded in the history without a status change.
    """
    access.require_work()
    text = _text(note, "note", required=False)
    directory = directory or SqlStaffDirectory()
    located = await locate(session, access=access, ticket_id=ticket_id, for_update=True)
    ticket = located.ticket
    if ticket.status != lifecycle.ASSIGNED and not lifecycle.is_allowed(
        ticket.status, lifecycle.ASSIGNED
    ):
        raise TransitionRefused(ticket.status, lifecycle.ASSIGNED)
    member = await _assignable(
        session, directory, ref=assignee, practice_code=located.practice.code
    )
    previous, before = ticket.status, ticket.assignee_name
    ticket.assignee_user_id = member.id
    ticket.assignee_name = member.username
    await _move(
        session, access=access, clock=clock, ticket=ticket, target=lifecycle.ASSIGNED, note=text
    )
    await _audit(
        session,
        access=access,
        clock=clock,
        action="answering.ticket.assign",
        ticket=ticket,
        details={"from": previous, "assignee": member.username, "previousAssignee": before},
    )
    return ticket


async def refile(
    session: AsyncSession,
    *,
    access: TicketAccess,
    clock: Clock,
    ticket_id: str,
    practice: str,
    doctor: str | None,
    reason: str,
    directory: StaffDirectory | None = None,
) -> AnsweringTicketRefiling:
    """Move a ticket to another practice and/or doctor, keeping the reason and the old codes.

    The ticket stays with its company (its answering service still sees its status). It
    leaves the Unassigned flag behind. An assignee who is a nurse not linked to the new
    practice is removed, and an ``ASSIGNED`` ticket goes back to ``IN PROGRESS``.
    """
    access.require_work()
    why = _text(reason, "reason", required=True)
    assert why is not None
    located = await locate(session, access=access, ticket_id=ticket_id, for_update=True)
    ticket, old_practice = located.ticket, located.practice
    if ticket.status in lifecycle.TERMINAL:
        raise Conflict(f"a {ticket.status} ticket cannot be re-filed", field="status")
    new_practice = (
        await session.execute(
            select(AnsweringPractice).where(AnsweringPractice.code == practice.strip())
        )
    ).scalar_one_or_none()
    if new_practice is None:
        raise NotFound("no practice of that code", field="practice")
    new_doctor = None
    if doctor is not None and doctor.strip():
        new_doctor = (
            await session.execute(
                select(AnsweringDoctor).where(
                    AnsweringDoctor.practice_id == new_practice.id,
                    AnsweringDoctor.code == doctor.strip(),
                )
            )
        ).scalar_one_or_none()
        if new_doctor is None:
            raise NotFound(
                f"no doctor of that code in practice id {new_practice.id}",
                field="doctor",
            )
    old_doctor = await session.get(AnsweringDoctor, ticket.doctor_id) if ticket.doctor_id else None
    new_doctor_id = new_doctor.id if new_doctor is not None else None
    if (
        new_practice.id == ticket.practice_id
        and new_doctor_id == ticket.doctor_id
        and not ticket.unassigned
    ):
        raise Conflict("the ticket is already filed there", field="practice")
    refiling = AnsweringTicketRefiling(
        ticket_pk=ticket.id,
        from_practice=old_practice.code,
        to_practice=new_practice.code,
        from_doctor=old_doctor.code if old_doctor is not None else None,
        to_doctor=new_doctor.code if new_doctor is not None else None,
        was_unassigned=ticket.unassigned,
        reason=why,
        actor=access.principal.label,
        actor_role=access.actor_role,
        at=clock.now(),
    )
    session.add(refiling)
    ticket.practice_id = new_practice.id
    ticket.doctor_id = new_doctor_id
    ticket.unassigned = False
    await session.flush()
    unassigned_by_refiling = await _drop_unlinked_assignee(
        session,
        access=access,
        clock=clock,
        ticket=ticket,
        practice_code=new_practice.code,
        directory=directory or SqlStaffDirectory(),
    )
    await _audit(
        session,
        access=access,
        clock=clock,
        action="answering.ticket.refile",
        ticket=ticket,
        details={
            "refilingId": refiling.id,
            "fromPractice": refiling.from_practice,
            "toPractice": refiling.to_practice,
            "fromDoctor": refiling.from_doctor,
            "toDoctor": refiling.to_doctor,
            "assigneeRemoved": unassigned_by_refiling,
        },
    )
    return refiling


async def _drop_unlinked_assignee(
    session: AsyncSession,
    *,
    access: TicketAccess,
    clock: Clock,
    ticket: AnsweringTicket,
    practice_code: str,
    directory: StaffDirectory,
) -> bool:
    if ticket.assignee_user_id is None:
        return False
    member = await directory.find(session, ref=str(ticket.assignee_user_id))
    if member is not None and (
        not role_rights(member.role).practice_bound
        or practice_code in await directory.practice_codes(session, user_id=member.id)
    ):
        return False
    ticket.assignee_user_id = None
    ticket.assignee_name = None
    if ticket.status == lifecycle.ASSIGNED:
        await _move(
            session,
            access=access,
            clock=clock,
            ticket=ticket,
            target=lifecycle.IN_PROGRESS,
            note=None,
        )
    return True
