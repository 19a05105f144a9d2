"""HTTP: ``GET /r/{token}`` — count the click, redirect (303) to the location's review page,
or, when the location lists several review sites, answer a page listing them all
(:mod:`.landing`).

No API key: the patient's phone opens it. An unknown token answers 404 without a hint.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from frontdesk.context import AppContext
from frontdesk.delivery.tracking.landing import render_landing, sites_of_location
from frontdesk.delivery.tracking.links import record_click
from frontdesk.logs import get_logger
from frontdesk.server.dependencies import get_context

log = get_logger(__name__)
router = APIRouter(tags=["links"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/r/{token}")
async def follow_link(token: str, ctx: Context) -> Response:
    if len(token) > 16:
        return Response(status_code=404)
    async with ctx.db.transaction() as session:
        click = await record_click(session, token=token, now=ctx.clock.now())
        if click is None:
            return Response(status_code=404)
        location, sites = (
            await sites_of_location(session, location_id=click.location_id, secrets=ctx.secrets)
            if click.location_id is not None
            else ("", [])
        )
    log.info("links.clicked", token=token, sites=len(sites))
    if len(sites) > 1:
        return HTMLResponse(render_landing(location, sites), headers=NO_STORE)
    return RedirectResponse(click.target_url, status_code=303, headers=NO_STORE)
