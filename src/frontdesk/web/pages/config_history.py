"""The configuration history of a group on its page: every version, who made it and from
where, and what it changed from the version before (secure values only as "changed").

``GET /integrations/groups/{id}/history`` is an htmx fragment the group page loads; it needs
``view_integrations``, and a group of another tenant answers 404 like the page itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from frontdesk.configuration.versions import Change, compare, list_versions
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.errors import NotFound
from frontdesk.integrations.groups import get_group
from frontdesk.server.dependencies import get_context
from frontdesk.staff.roles import Permission
from frontdesk.web.auth import StaffContext, require
from frontdesk.web.templating import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
Viewer = Annotated[StaffContext, Depends(require(Permission.VIEW_INTEGRATIONS))]


@router.get("/integrations/groups/{group_id}/history", response_class=HTMLResponse)
async def group_history(request: Request, group_id: DbId, ctx: Context, staff: Viewer) -> Response:
    """The versions of the group, newest first, each with its changes."""
    async with ctx.db.reader() as session:
        await get_group(session, group_id=group_id, principal=staff.principal)
        try:
            versions = await list_versions(session, group_id=group_id, principal=staff.principal)
        except NotFound:
            versions = []
        rows: list[tuple[object, list[Change]]] = []
        for index, version in enumerate(versions):
            before = versions[index - 1] if index else None
            rows.append((version, compare(before, version, secrets=ctx.secrets)))
        rows.reverse()
        return render(request, "integrations/_history.html", staff=staff, versions=rows)
