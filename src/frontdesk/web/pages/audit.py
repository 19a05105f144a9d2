"""The Audit log page: every configuration change, who made it and when.

``GET /audit`` lists the audit events a user may see, newest first, 50 a page, filtered by
actor (part of its label, e.g. ``alice`` or ``system:``), action (one of those recorded) and
business (a practice: its events and its locations'; a location: its own). Pages go by
keyset on the event id (``cursor``, the id the next page starts below, as in the API).
Tenant scoping is the API's (:func:`frontdesk.audit.service.matching_events`): a practice
user sees its own business's events only. Details are shown through
:mod:`frontdesk.audit.display`, so no secret is ever rendered. Needs ``view_integrations``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from frontdesk.audit.display import detail_items, secure_property_keys
from frontdesk.audit.service import list_events, visible_actions
from frontdesk.context import AppContext
from frontdesk.errors import InvalidInput
from frontdesk.server.dependencies import PluginsDep, get_context
from frontdesk.staff.roles import Permission
from frontdesk.web.auth import StaffContext, require
from frontdesk.web.params import business_number, query_text
from frontdesk.web.practices import practice_choices
from frontdesk.web.templating import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
Viewer = Annotated[StaffContext, Depends(require(Permission.VIEW_INTEGRATIONS))]
PAGE_SIZE = 50


def _url(filters: Mapping[str, str | None], **extra: str) -> str:
    query = urlencode({k: v for k, v in {**filters, **extra}.items() if v})
    return "/audit?" + query if query else "/audit"


@router.get("/audit", response_class=HTMLResponse)
async def audit_log(request: Request, ctx: Context, staff: Viewer, plugins: PluginsDep) -> Response:
    """The audit log, newest first, one page at a time."""
    params = request.query_params
    actor = query_text(params.get("actor"), limit=160)
    action = query_text(params.get("action"), limit=80)
    number = business_number(params)
    cursor = query_text(params.get("cursor"), limit=20)
    secure = secure_property_keys(s.spec for s in plugins.sources)
    async with ctx.db.reader() as session:
        practices = await practice_choices(session, principal=staff.principal)
        by_number = {p.business.number: p.business for p in practices}
        by_number |= {loc.number: loc for p in practices for loc in p.locations}
        business = by_number.get(number) if number is not None else None
        if number is not None and business is None:
            raise InvalidInput("no such business among those you may see", field="business")
        found = await list_events(
            session,
            principal=staff.principal,
            limit=PAGE_SIZE,
            cursor=cursor,
            action=action,
            actor=actor,
            business_id=business.id if business is not None else None,
        )
        actions = await visible_actions(session, principal=staff.principal)
        names = {b.id: b.name for b in by_number.values()}
        rows = [
            (event, names.get(event.business_id or 0), detail_items(event.details or {}, secure))
            for event in found.items
        ]
        filters = {"actor": actor, "action": action, "business": str(number or "")}
        return render(
            request,
            "audit/page.html",
            staff=staff,
            section="audit",
            actor=actor,
            action=action,
            number=number,
            actions=actions,
            practices=practices,
            rows=rows,
            older_url=_url(filters, cursor=found.next_cursor) if found.next_cursor else None,
            newest_url=_url(filters) if cursor else None,
        )
