"""The Tickets pages: the nurses' queue by practice and status, and one ticket to work.

``GET /tickets`` lists the visible tickets (open ones by default) newest first, with counts per
status for the same practice/assignee/search; filters live in the URL, htmx requests get the
``#tickets`` fragment, pages are keyset (``after`` = the last ticket's position).
``GET /tickets/{ticket_id}`` shows the ticket, every submitted field, and its history (status
steps, notes, re-filings) as one timeline. ``POST …/assign``, ``…/transition``, ``…/notes`` and
``…/refile`` call the ticket desk's actions (``answering/desk/actions.py``: lifecycle,
assignment rules, audit events, webhook deliveries) in one transaction each; htmx gets the
ticket again, a plain form a redirect to it; a refusal (a transition the lifecycle does not
allow, an unknown assignee) is shown next to the forms with 422.

Viewing needs ``view_tickets``; the actions ``work_tickets`` (admin, nurse) and the CSRF token.
Who sees which ticket and which fields is the desk's rule (``visibility.py``): a nurse sees her
practices' tickets, a viewer every ticket with patient details masked (``•••``), a user limited
to a business none. Another ticket is a 404. Nothing about a patient is logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from frontdesk.answering.desk import actions, lifecycle, queries
from frontdesk.answering.desk.schemas import detail_out, page_out
from frontdesk.answering.desk.visibility import TicketAccess, ticket_access
from frontdesk.context import AppContext
from frontdesk.errors import NotFound, RequestError
from frontdesk.server.dependencies import get_answering, get_context
from frontdesk.staff.roles import Permission
from frontdesk.web import tickets_view as view
from frontdesk.web.auth import CheckedForm, StaffContext, require
from frontdesk.web.templating import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
Viewer = Annotated[StaffContext, Depends(require(Permission.VIEW_TICKETS))]
Worker = Annotated[StaffContext, Depends(require(Permission.WORK_TICKETS))]
Action = Callable[[AsyncSession, TicketAccess], Awaitable[object]]

PAGE_SIZE = 50
FORM_FIELDS = ("assignee", "status", "note", "body", "practice", "doctor", "reason")


def _htmx(request: Request) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


@router.get("/tickets", response_class=HTMLResponse)
async def tickets(request: Request, ctx: Context, staff: Viewer) -> Response:
    """The queue: visible tickets matching the filters, newest first, 50 a page."""
    async with ctx.db.reader() as session:
        access = await ticket_access(session, staff.principal)
        queue, after = view.parse_queue(request.query_params, may_search=access.patient_details)
        common: dict[str, Any] = dict(
            staff=staff, section="tickets", access=access, queue=queue, view=view
        )
        if not access.view:  # a user limited to a business: tickets are no tenant's
            return render(request, "tickets/page.html", rows=[], counts={}, practices=[], **common)
        me = staff.user.username
        page = await queries.list_tickets(
            session,
            access=access,
            filters=queue.ticket_filter(me=me),
            cursor=after,
            limit=PAGE_SIZE,
        )
        counts = await queries.status_counts(
            session, access=access, filters=queue.ticket_filter(me=me, with_status=False)
        )
        fragment = _htmx(request)
        return render(
            request,
            "tickets/_queue.html" if fragment else "tickets/page.html",
            # The address bar shows the filters that matter, not every empty field.
            headers={"HX-Push-Url": queue.url(after=after)} if fragment else None,
            rows=page_out(page, access).items,
            counts=counts,
            practices=await view.ticket_practices(session, access),
            timezone=ctx.settings.answering.notes_timezone,
            next_url=queue.url(after=page.next_cursor) if page.next_cursor else None,
            first_url=queue.url() if after else None,
            **common,
        )


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket(request: Request, ticket_id: str, ctx: Context, staff: Viewer) -> Response:
    """One ticket: its fields, its history, and the forms to work it."""
    return await _show(request, ctx, staff, ticket_id)


async def _show(
    request: Request,
    ctx: AppContext,
    staff: StaffContext,
    ticket_id: str,
    *,
    flash: str | None = None,
    error: str | None = None,
    form: FormData | None = None,
    status_code: int = 200,
) -> Response:
    async with ctx.db.reader() as session:
        access = await ticket_access(session, staff.principal)
        found = await queries.ticket_detail(session, access=access, ticket_id=ticket_id)
        if flash is not None:  # after an action
            # Re-filed to a practice this user does not see: back to the queue.
            target = f"/tickets/{quote(ticket_id.strip(), safe='')}" if found else "/tickets"
            if not _htmx(request):  # a plain form: post, redirect, get
                return RedirectResponse(target, status_code=303)
            if found is None:
                return Response(status_code=204, headers={"HX-Redirect": target})
        if found is None:
            raise NotFound("no ticket of that id", field="ticket_id")
        shown = detail_out(found, access)
        fragment = _htmx(request) and (flash is not None or error is not None)
        typed = {k: v for k, v in (form or {}).items() if k in FORM_FIELDS and isinstance(v, str)}
        return render(
            request,
            "tickets/_ticket.html" if fragment else "tickets/detail.html",
            staff=staff,
            section="tickets",
            status_code=status_code,
            t=shown,
            access=access,
            view=view,
            timeline=view.timeline(shown),
            timezone=ctx.settings.answering.notes_timezone,
            assignees=await queries.assignees(
                session, access=access, practice_code=shown.practice.code
            ),
            targets=await view.ticket_practices(session, access, with_doctors=True)
            if access.work
            else [],
            flash=flash,
            error=error,
            typed=typed if error else {},
        )


async def _act(
    request: Request,
    ctx: AppContext,
    staff: StaffContext,
    ticket_id: str,
    form: FormData,
    *,
    done: str,
    action: Action,
) -> Response:
    """Run one desk action in its own transaction, then show the ticket (or the refusal)."""
    try:
        async with ctx.db.transaction() as session:
            access = await ticket_access(session, staff.principal)
            await action(session, access)
    except RequestError as refused:
        if refused.field in (None, "ticket_id"):  # not this user's ticket: 404 / 403 page
            raise
        return await _show(
            request, ctx, staff, ticket_id, error=refused.message, form=form, status_code=422
        )
    get_answering(request).webhooks_queued()
    return await _show(request, ctx, staff, ticket_id, flash=done)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


@router.post("/tickets/{ticket_id}/assign", response_class=HTMLResponse)
async def assign(
    request: Request, ticket_id: str, ctx: Context, staff: Worker, form: CheckedForm
) -> Response:
    assignee = _field(form, "assignee")

    async def act(session: AsyncSession, access: TicketAccess) -> object:
        return await actions.assign(
            session,
            access=access,
            clock=ctx.clock,
            ticket_id=ticket_id,
            assignee=assignee,
            note=_field(form, "note") or None,
        )

    return await _act(
        request, ctx, staff, ticket_id, form, done=f"Assigned to {assignee}.", action=act
    )


@router.post("/tickets/{ticket_id}/transition", response_class=HTMLResponse)
async def transition(
    request: Request, ticket_id: str, ctx: Context, staff: Worker, form: CheckedForm
) -> Response:
    status = _field(form, "status")

    async def act(session: AsyncSession, access: TicketAccess) -> object:
        return await actions.transition(
            session,
            access=access,
            clock=ctx.clock,
            ticket_id=ticket_id,
            status=status,
            note=_field(form, "note") or None,
        )

    done = f"Status changed to {lifecycle.normalise_status(status) or status}."
    return await _act(request, ctx, staff, ticket_id, form, done=done, action=act)


@router.post("/tickets/{ticket_id}/notes", response_class=HTMLResponse)
async def add_note(
    request: Request, ticket_id: str, ctx: Context, staff: Worker, form: CheckedForm
) -> Response:
    async def act(session: AsyncSession, access: TicketAccess) -> object:
        return await actions.add_note(
            session, access=access, clock=ctx.clock, ticket_id=ticket_id, body=_field(form, "body")
        )

    return await _act(request, ctx, staff, ticket_id, form, done="Note added.", action=act)


@router.post("/tickets/{ticket_id}/refile", response_class=HTMLResponse)
async def refile(
    request: Request, ticket_id: str, ctx: Context, staff: Worker, form: CheckedForm
) -> Response:
    practice = _field(form, "practice")

    async def act(session: AsyncSession, access: TicketAccess) -> object:
        return await actions.refile(
            session,
            access=access,
            clock=ctx.clock,
            ticket_id=ticket_id,
            practice=practice,
            doctor=_field(form, "doctor") or None,
            reason=_field(form, "reason"),
        )

    return await _act(
        request, ctx, staff, ticket_id, form, done=f"Re-filed under {practice}.", action=act
    )
