"""The Alerts page: open alerts and those resolved lately, with what each means.

``GET /alerts`` renders ``alerts/_panel.html`` (the panel the usage dashboard includes too)
with the alerts the user may see: a practice user only its own tenant's, never the
installation's (a quiet listener or worker). Needs ``view_integrations``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from frontdesk.alerts.explain import AlertView, describe
from frontdesk.alerts.service import list_alerts
from frontdesk.context import AppContext
from frontdesk.server.dependencies import get_context
from frontdesk.staff.roles import Permission
from frontdesk.web.auth import StaffContext, require
from frontdesk.web.templating import render

router = APIRouter(tags=["dashboard"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
Viewer = Annotated[StaffContext, Depends(require(Permission.VIEW_INTEGRATIONS))]


async def visible_alerts(ctx: AppContext, staff: StaffContext) -> list[AlertView]:
    """The alerts ``staff`` may see, readable (for this page and the usage dashboard)."""
    async with ctx.db.reader() as session:
        found = await list_alerts(
            session,
            principal=staff.principal,
            now=ctx.clock.now(),
            recent_days=ctx.settings.alerts.recent_days,
        )
        return [describe(a) for a in found]


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(request: Request, ctx: Context, staff: Viewer) -> Response:
    """Open and recent alerts."""
    return render(
        request,
        "alerts/page.html",
        staff=staff,
        section="alerts",
        alerts=await visible_alerts(ctx, staff),
    )
