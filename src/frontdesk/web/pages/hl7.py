"""The HL7 messages page: what the MLLP listener received and how it was answered.

``GET /hl7`` lists stored messages, newest first (id, full MSH-10 control id, facility, type,
state, our error text, received time), filtered by state, facility, type and control id;
never message content, so no patient-detail permission is involved. A business-scoped user
sees the messages of the facilities of the HL7 groups it can see; messages of unknown
facilities only global staff see. ``POST /hl7/reprocess`` (operator: ``run_sync``, CSRF)
judges the visible errored and rejected messages again.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from frontdesk.context import AppContext
from frontdesk.errors import InvalidInput
from frontdesk.hl7.facilities import KnownFacilities, visible_facilities
from frontdesk.hl7.models import STATES
from frontdesk.hl7.reprocess import reprocess
from frontdesk.hl7.store import MessageStore, Search
from frontdesk.server.dependencies import get_context
from frontdesk.staff.roles import Permission
from frontdesk.web.auth import CheckedForm, StaffContext, require
from frontdesk.web.params import query_text
from frontdesk.web.templating import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
Viewer = Annotated[StaffContext, Depends(require(Permission.VIEW_INTEGRATIONS))]
Operator = Annotated[StaffContext, Depends(require(Permission.RUN_SYNC))]
PAGE_SIZE = 100
STATE_WORDS = {
    "accepted": "stored and read by the HL7 source (ACK AA)",
    "errored": "stored, content unusable (ACK AE): fix the feed, then reprocess",
    "rejected": "stored, not processed: unknown facility or type (ACK AR)",
}


@router.get("/hl7", response_class=HTMLResponse)
async def hl7_messages(request: Request, ctx: Context, staff: Viewer) -> Response:
    """Stored HL7 messages, newest first."""
    params = request.query_params
    state = query_text(params.get("state"), limit=16)
    if state is not None and state not in STATES:
        raise InvalidInput(f"state must be one of {', '.join(STATES)}", field="state")
    search = Search(
        control_id=query_text(params.get("control"), limit=200),
        facility=query_text(params.get("facility"), limit=200),
        message_type=query_text(params.get("type"), limit=20),
        state=state,
        limit=PAGE_SIZE,
        facilities=await visible_facilities(ctx.db, staff.principal),
    )
    rows = await MessageStore(ctx.db, ctx.secrets).search(search)
    return render(
        request,
        "hl7/page.html",
        staff=staff,
        section="hl7",
        search=search,
        rows=rows,
        states=[(s, STATE_WORDS[s]) for s in STATES],
        done=query_text(params.get("done"), limit=100),
        can_reprocess=staff.can(Permission.RUN_SYNC),
    )


@router.post("/hl7/reprocess", response_class=HTMLResponse)
async def hl7_reprocess(
    request: Request, ctx: Context, staff: Operator, _form: CheckedForm
) -> Response:
    """Judge the visible errored and rejected messages again; back to the list."""
    report = await reprocess(
        MessageStore(ctx.db, ctx.secrets),
        knows=KnownFacilities(ctx.db, refresh_s=0.0).knows,
        clock=ctx.clock,
        facilities=await visible_facilities(ctx.db, staff.principal),
    )
    done = f"reprocessed {report.seen}: {report.accepted} accepted"
    return RedirectResponse("/hl7?" + urlencode({"done": done}), status_code=303)
