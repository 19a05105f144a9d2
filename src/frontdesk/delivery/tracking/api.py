"""HTTP: ``GET /r/{token}`` — count the click, redirect (303) to the location's review page.

No API key: the patient's phone opens it. An unknown token answers 404 without a hint.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response

from frontdesk.context import AppContext
from frontdesk.delivery.tracking.links import record_click
from frontdesk.logs import get_logger
from frontdesk.server.dependencies import get_context

log = get_logger(__name__)
router = APIRouter(tags=["links"], include_in_schema=False)
Context = Annotated[AppContext, Depends(get_context)]


@router.get("/r/{token}")
async def follow_link(token: str, ctx: Context) -> Response:
    if len(token) > 16:
        return Response(status_code=404)
    async with ctx.db.transaction() as session:
        target = await record_click(session, token=token, now=ctx.clock.now())
    if target is None:
        return Response(status_code=404)
    log.info("links.clicked", token=token)
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
