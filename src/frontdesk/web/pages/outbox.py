"""The Outbox page: review requests with their state, attempts and errors; operator requeue;
in the demo, the captured email.

``GET /outbox`` lists the requests of the visible practices, a practice or one of its
locations, newest first, with the counts per state and the last 30 days' funnel (sent →
delivered → clicked, :mod:`frontdesk.engagement.funnel`) on top; filters by state and appointment
id; pages by keyset on ``id`` (``before`` / ``after``). htmx requests get the ``#outbox``
fragment only. ``GET /outbox/{id}`` shows one request and, when the demo's mail capture
holds it, the message: its text part, and its HTML part framed from
``GET /outbox/{id}/message.html`` — a sandboxed ``<iframe>`` (no scripts, an origin of its
own) whose response has a CSP of its own (inline styles, no network), so the dashboard's
strict CSP stays as it is and the email's HTML never enters the page's DOM; its links are
made inert first (``web/mail_preview.py``: the unsubscribe link opts out on a ``GET``).

Reading needs ``view_outbox`` (admin, support, viewer). Recipients and messages need
``see_patient_details`` too: lists show the recipient's shape (``j***@example.org``), the
request's page the address and the message; a viewer gets ``•••`` and no message, and
nothing is decrypted for it. Requeue (``failed``/``parked`` → ``pending``, audited as
``review_request.requeue``) is an operator action: it needs ``run_sync``, the permission of
"Run now" (admin, support), since both make the system send now; a viewer cannot requeue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.engagement import outbox
from frontdesk.engagement import outbox_queries as queries
from frontdesk.engagement.funnel import Funnel, review_funnel
from frontdesk.engagement.ledger_models import REQUEUEABLE, STATES, ReviewRequest
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.server.dependencies import get_context, get_sender
from frontdesk.staff.roles import Permission
from frontdesk.web.auth import CheckedForm, Forbidden, StaffContext, require
from frontdesk.web.mail_preview import inert_html
from frontdesk.web.params import business_number, id_param, query_text
from frontdesk.web.practices import practice_choices
from frontdesk.web.templating import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
Viewer = Annotated[StaffContext, Depends(require(Permission.VIEW_OUTBOX))]
Operator = Annotated[StaffContext, Depends(require(Permission.RUN_SYNC))]

PAGE_SIZE = 50
FUNNEL_DAYS = 30
MESSAGE_HEADERS: Mapping[str, str] = {
    # The captured HTML, framed by the request's page: its inline styles apply, nothing runs,
    # nothing is fetched (remote images stay out: no tracking pixel fires from the dashboard).
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
    ),
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _id(params: Mapping[str, str], name: str) -> int | None:
    return id_param(params, name, f"{name} is not a request id")


def _parse(params: Mapping[str, str]) -> queries.Browse:
    number = business_number(params)
    state = query_text(params.get("state"), limit=16)
    if state is not None and state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}", field="state")
    return queries.Browse(
        business_number=number,
        state=state,
        appointment_id=query_text(params.get("appointment")),
    )


def _query(browse: queries.Browse, **extra: str) -> str:
    values = {
        "business": str(browse.business_number or ""),
        "state": browse.state or "",
        "appointment": browse.appointment_id or "",
        **extra,
    }
    query = urlencode({k: v for k, v in values.items() if v})
    return "/outbox?" + query if query else "/outbox"


def _count(n: int) -> str:
    """A count as shown: exact up to the cap, then "10000+" (counting further costs a scan)."""
    return f"{queries.COUNT_CAP}+" if n > queries.COUNT_CAP else str(n)


def _total(counts: Iterable[int]) -> str:
    found = list(counts)
    total = sum(min(n, queries.COUNT_CAP) for n in found)
    return f"{total}+" if max(found) > queries.COUNT_CAP else str(total)


def _recipient_mode(staff: StaffContext, *, full: bool) -> queries.Recipient:
    if not staff.can(Permission.SEE_PATIENT_DETAILS):
        return "hidden"
    return "full" if full else "shape"


def _is_htmx(request: Request) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


@router.get("/outbox", response_class=HTMLResponse)
async def outbox_list(request: Request, ctx: Context, staff: Viewer) -> Response:
    """The review requests, newest first, with the counts per state."""
    params = request.query_params
    browse = _parse(params)
    after, before = _id(params, "after"), _id(params, "before")
    async with ctx.db.reader() as session:
        practices = await practice_choices(session, principal=staff.principal)
        page = await queries.browse_page(
            session,
            principal=staff.principal,
            browse=browse,
            after=after,
            before=None if after is not None else before,
            size=PAGE_SIZE,
        )
        counts = await queries.state_counts(session, principal=staff.principal, browse=browse)
        funnel = await _funnel(ctx, session, staff, browse)
        rows = await queries.rows_of(
            session, page.rows, secrets=ctx.secrets, recipient=_recipient_mode(staff, full=False)
        )
        return render(
            request,
            "outbox/_body.html" if _is_htmx(request) else "outbox/page.html",
            staff=staff,
            section="outbox",
            browse=browse,
            practices=practices,
            states=[(state, queries.STATE_WORDS[state]) for state in STATES],
            counts={state: _count(n) for state, n in counts.items()},
            total=_total(counts.values()),
            funnel=funnel,
            rows=rows,
            requeueable=REQUEUEABLE,
            newer_url=_query(browse, after=str(page.newer)) if page.newer else None,
            older_url=_query(browse, before=str(page.older)) if page.older else None,
            newest_url=_query(browse) if page.newer else None,
            url_for=lambda **changes: _query(replace(browse, **changes)),
        )


async def _funnel(
    ctx: AppContext, session: AsyncSession, staff: StaffContext, browse: queries.Browse
) -> Funnel:
    """Sent → delivered → clicked of the last :data:`FUNNEL_DAYS` days, same visibility."""
    where = await outbox.visibility(
        session, principal=staff.principal, business_number=browse.business_number
    )
    last = ctx.clock.now().date()
    first = last - timedelta(days=FUNNEL_DAYS - 1)
    return await review_funnel(session, first=first, last=last, where=where)


async def _detail(
    request: Request,
    ctx: Context,
    staff: StaffContext,
    request_id: int,
    *,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    reveal = staff.can(Permission.SEE_PATIENT_DETAILS)
    async with ctx.db.reader() as session:
        found = await outbox.get_request(session, principal=staff.principal, request_id=request_id)
        (row,) = await queries.rows_of(
            session, [found], secrets=ctx.secrets, recipient=_recipient_mode(staff, full=True)
        )
        captured = await outbox.captured_message(session, found) if reveal else None
        return render(
            request,
            "outbox/detail.html",
            staff=staff,
            section="outbox",
            status_code=status_code,
            row=row,
            r=found,
            state_words=queries.STATE_WORDS[found.state],
            captured=captured,
            captured_at=datetime.fromisoformat(captured["receivedAt"]) if captured else None,
            requeueable=REQUEUEABLE,
            requeued=request.query_params.get("requeued") == "1",
            error=error,
            back=_query(queries.Browse()),
        )


@router.get("/outbox/{request_id}", response_class=HTMLResponse)
async def outbox_detail(
    request: Request, request_id: DbId, ctx: Context, staff: Viewer
) -> Response:
    """One request: state, attempts, the last error, and (demo) the captured message."""
    return await _detail(request, ctx, staff, request_id)


@router.get("/outbox/{request_id}/message.html", response_class=HTMLResponse)
async def outbox_message_html(request_id: DbId, ctx: Context, staff: Viewer) -> Response:
    """The captured message's HTML part, for the sandboxed frame of the request's page."""
    if not staff.can(Permission.SEE_PATIENT_DETAILS):
        raise Forbidden("your role does not show patient details")
    async with ctx.db.reader() as session:
        found = await outbox.get_request(session, principal=staff.principal, request_id=request_id)
        captured: dict[str, Any] | None = await outbox.captured_message(session, found)
    if captured is None or not captured.get("html"):
        raise NotFound(f"review request {request_id} has no captured HTML", field="requestId")
    return HTMLResponse(inert_html(str(captured["html"])), headers=dict(MESSAGE_HEADERS))


@router.post("/outbox/{request_id}/requeue", response_class=HTMLResponse)
async def outbox_requeue(
    request: Request, request_id: DbId, ctx: Context, staff: Operator, _form: CheckedForm
) -> Response:
    """Operator: a failed or parked request back to pending, sent now by the embedded
    runner. htmx (the list) gets the row back; a plain form (the request's page) a redirect."""
    htmx = _is_htmx(request)
    try:
        found = await outbox.requeue_now(
            ctx, get_sender(request), principal=staff.principal, request_id=request_id
        )
    except Conflict as conflict:  # not failed or parked (any more): show where it stands
        if htmx:
            return await _row(request, ctx, staff, request_id, error=conflict.message)
        return await _detail(
            request, ctx, staff, request_id, status_code=409, error=conflict.message
        )
    if not htmx:
        return RedirectResponse(f"/outbox/{request_id}?requeued=1", status_code=303)
    return await _row(
        request, ctx, staff, request_id, requeued=found, notice="Requeued: it goes out now."
    )


async def _row(
    request: Request,
    ctx: Context,
    staff: StaffContext,
    request_id: int,
    *,
    requeued: ReviewRequest | None = None,
    notice: str | None = None,
    error: str | None = None,
) -> Response:
    """One table row (htmx swaps it in place); an error answers 422, which htmx swaps too."""
    async with ctx.db.reader() as session:
        found = requeued or await outbox.get_request(
            session, principal=staff.principal, request_id=request_id
        )
        (row,) = await queries.rows_of(
            session, [found], secrets=ctx.secrets, recipient=_recipient_mode(staff, full=False)
        )
        return render(
            request,
            "outbox/_row.html",
            staff=staff,
            status_code=422 if error else 200,
            r=row,
            requeueable=REQUEUEABLE,
            notice=notice,
            error=error,
        )
