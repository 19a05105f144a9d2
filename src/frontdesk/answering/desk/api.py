"""HTTP: the staff ticket desk under ``/api/answering`` (any principal; rights per
:mod:`~frontdesk.answering.desk.visibility`).

Tickets: list and filter, the Unassigned queue, one ticket with its history, transitions,
notes, assignment, re-filing. Webhooks: per-company configuration, deliveries, redelivery.
Nurses: the practices a staff user works. A business-scoped principal gets 404 everywhere.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.answering.desk import actions, delivery, practice_links, queries, webhooks
from frontdesk.answering.desk.schemas import (
    AssignIn,
    DeliveryOut,
    DeliveryPageOut,
    NoteIn,
    NoteOut,
    PracticeLinksIn,
    PracticeLinksOut,
    RefileIn,
    RefileOut,
    TicketDetailOut,
    TicketPageOut,
    TransitionIn,
    WebhookIn,
    WebhookOut,
    delivery_out,
    detail_out,
    note_out,
    page_out,
    refiling_out,
    webhook_out,
)
from frontdesk.answering.desk.visibility import TicketAccess, ticket_access
from frontdesk.context import AppContext
from frontdesk.db.bounds import MAX_BIGINT, DbId
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.server.dependencies import AnsweringDep, get_context

router = APIRouter(prefix="/api/answering", tags=["answering ticket desk"])
Context = Annotated[AppContext, Depends(get_context)]


async def _access(ctx: Context, principal: CurrentPrincipal) -> TicketAccess:
    async with ctx.db.reader() as session:
        return await ticket_access(session, principal)


Access = Annotated[TicketAccess, Depends(_access)]
Cursor = Annotated[
    int | None, Query(ge=0, le=MAX_BIGINT, description="nextCursor of the previous page")
]
Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)]


async def _detail(session: AsyncSession, access: TicketAccess, ticket_id: str) -> TicketDetailOut:
    found = await queries.ticket_detail(session, access=access, ticket_id=ticket_id)
    if found is None:
        raise NotFound("no ticket of that id", field="ticket_id")
    return detail_out(found, access)


@router.get("/tickets", response_model=TicketPageOut)
async def list_tickets(
    ctx: Context,
    access: Access,
    practice: Annotated[list[str] | None, Query(description="practice code (repeat)")] = None,
    status_: Annotated[list[str] | None, Query(alias="status", description="(repeat)")] = None,
    createdFrom: Annotated[date | None, Query(description="UTC day, inclusive")] = None,
    createdTo: Annotated[date | None, Query(description="UTC day, inclusive")] = None,
    assignee: Annotated[str | None, Query(description="username, user id, or none")] = None,
    q: Annotated[str | None, Query(max_length=200, description="text in the complaint")] = None,
    company: Annotated[DbId | None, Query(description="company id")] = None,
    unassignedPractice: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> TicketPageOut:
    """Visible tickets, newest first; viewers may not use ``q`` (403)."""
    filters = queries.TicketFilter(
        practices=practice or (),
        statuses=status_ or (),
        created_from=createdFrom,
        created_to=createdTo,
        assignee=assignee,
        text=q,
        company_id=company,
        unassigned_practice=unassignedPractice,
    )
    async with ctx.db.reader() as session:
        page = await queries.list_tickets(
            session, access=access, filters=filters, cursor=cursor, limit=limit
        )
        return page_out(page, access)


@router.get("/queues/unassigned", response_model=TicketPageOut)
async def unassigned_queue(
    ctx: Context,
    access: Access,
    practice: Annotated[list[str] | None, Query(description="practice code (repeat)")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> TicketPageOut:
    """Open tickets with no assignee, oldest first."""
    async with ctx.db.reader() as session:
        page = await queries.unassigned_queue(
            session, access=access, practices=practice or (), cursor=cursor, limit=limit
        )
        return page_out(page, access)


@router.get("/tickets/{ticket_id}", response_model=TicketDetailOut)
async def get_ticket(ticket_id: str, ctx: Context, access: Access) -> TicketDetailOut:
    async with ctx.db.reader() as session:
        return await _detail(session, access, ticket_id)


@router.post("/tickets/{ticket_id}/transition", response_model=TicketDetailOut)
async def transition(
    ticket_id: str, body: TransitionIn, ctx: Context, access: Access, answering: AnsweringDep
) -> TicketDetailOut:
    """Move to ``status``; 409 names the allowed next states when the lifecycle refuses."""
    async with ctx.db.transaction() as session:
        await actions.transition(
            session,
            access=access,
            clock=ctx.clock,
            ticket_id=ticket_id,
            status=body.status,
            note=body.note,
        )
        out = await _detail(session, access, ticket_id)
    answering.webhooks_queued()
    return out


@router.post(
    "/tickets/{ticket_id}/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED
)
async def add_note(ticket_id: str, body: NoteIn, ctx: Context, access: Access) -> NoteOut:
    async with ctx.db.transaction() as session:
        note = await actions.add_note(
            session, access=access, clock=ctx.clock, ticket_id=ticket_id, body=body.body
        )
        return note_out(note, access)


@router.post("/tickets/{ticket_id}/assign", response_model=TicketDetailOut)
async def assign(
    ticket_id: str, body: AssignIn, ctx: Context, access: Access, answering: AnsweringDep
) -> TicketDetailOut:
    """Assign to a staff user who works tickets (a nurse: linked to the ticket's practice)."""
    async with ctx.db.transaction() as session:
        await actions.assign(
            session,
            access=access,
            clock=ctx.clock,
            ticket_id=ticket_id,
            assignee=str(body.assignee),
            note=body.note,
        )
        out = await _detail(session, access, ticket_id)
    answering.webhooks_queued()
    return out


@router.post("/tickets/{ticket_id}/refile", response_model=RefileOut)
async def refile(
    ticket_id: str, body: RefileIn, ctx: Context, access: Access, answering: AnsweringDep
) -> RefileOut:
    """File under another practice (and doctor); the reason and the old codes are kept."""
    async with ctx.db.transaction() as session:
        refiling = await actions.refile(
            session,
            access=access,
            clock=ctx.clock,
            ticket_id=ticket_id,
            practice=body.practice,
            doctor=body.doctor,
            reason=body.reason,
        )
        found = await queries.ticket_detail(session, access=access, ticket_id=ticket_id)
        out = RefileOut(
            ticketId=ticket_id.strip(),
            refiling=refiling_out(refiling, access),
            ticket=detail_out(found, access) if found is not None else None,
        )
    answering.webhooks_queued()
    return out


@router.get("/companies/{company_id}/webhook", response_model=WebhookOut)
async def get_webhook(company_id: DbId, ctx: Context, access: Access) -> WebhookOut:
    async with ctx.db.reader() as session:
        return webhook_out(
            await webhooks.get_webhook(session, access=access, company_id=company_id)
        )


@router.put("/companies/{company_id}/webhook", response_model=WebhookOut)
async def put_webhook(
    company_id: DbId, body: WebhookIn, ctx: Context, access: Access
) -> WebhookOut:
    """Set the company's webhook; a generated secret is in this answer only."""
    async with ctx.db.transaction() as session:
        config = await webhooks.set_webhook(
            session,
            access=access,
            clock=ctx.clock,
            secrets_box=ctx.secrets,
            company_id=company_id,
            url=body.url,
            secret=body.secret,
            active=body.active,
        )
        return webhook_out(config)


@router.delete("/companies/{company_id}/webhook", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(company_id: DbId, ctx: Context, access: Access) -> Response:
    async with ctx.db.transaction() as session:
        await webhooks.delete_webhook(
            session, access=access, clock=ctx.clock, company_id=company_id
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhook-deliveries", response_model=DeliveryPageOut)
async def list_deliveries(
    ctx: Context,
    access: Access,
    state: Annotated[str | None, Query(description=" | ".join(webhooks.STATES))] = None,
    company: Annotated[DbId | None, Query(description="company id")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> DeliveryPageOut:
    """Deliveries, newest first (``?state=parked`` for the ones that gave up)."""
    if state is not None and state not in webhooks.STATES:
        raise InvalidInput(f"state must be one of {', '.join(webhooks.STATES)}", field="state")
    async with ctx.db.reader() as session:
        rows = await delivery.list_deliveries(
            session,
            access=access,
            state=state,
            company_id=company,
            before_id=cursor,
            limit=limit + 1,
        )
        items = [delivery_out(r) for r in rows[:limit]]
    return DeliveryPageOut(items=items, nextCursor=items[-1].id if len(rows) > limit else None)


@router.post("/webhook-deliveries/{delivery_id}/redeliver", response_model=DeliveryOut)
async def redeliver(
    delivery_id: DbId, ctx: Context, access: Access, answering: AnsweringDep
) -> DeliveryOut:
    """Queue a parked or delivered delivery again (a fresh attempt budget)."""
    async with ctx.db.transaction() as session:
        row = await delivery.redeliver(session, access=access, ctx=ctx, delivery_id=delivery_id)
        out = delivery_out(row)
    answering.webhooks_queued()
    return out


@router.get("/staff-users/{user}/practices", response_model=PracticeLinksOut)
async def get_practice_links(user: str, ctx: Context, access: Access) -> PracticeLinksOut:
    async with ctx.db.reader() as session:
        member, codes = await practice_links.practice_links(session, access=access, user=user)
    return PracticeLinksOut(
        userId=member.id, username=member.username, role=member.role, practices=codes
    )


@router.put("/staff-users/{user}/practices", response_model=PracticeLinksOut)
async def put_practice_links(
    user: str, body: PracticeLinksIn, ctx: Context, access: Access
) -> PracticeLinksOut:
    """Replace the practices whose tickets a staff user (nurse) works."""
    async with ctx.db.transaction() as session:
        member, codes = await practice_links.set_practice_links(
            session, access=access, clock=ctx.clock, user=user, practices=body.practices
        )
    return PracticeLinksOut(
        userId=member.id, username=member.username, role=member.role, practices=codes
    )
