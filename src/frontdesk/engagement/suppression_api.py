"""HTTP: a practice's suppression list as CSV (``/api/optouts/{businessNumber}.csv``).

``GET`` exports (``?channel=`` optional); ``POST`` imports a ``channel,contact`` CSV body and
answers how many were added, already there, and the line numbers refused. Staff keys, or a
key of the practice; another tenant's business answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.businesses.service import visible_business
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.engagement.suppression import export_csv, import_csv
from frontdesk.plugins import Plugins
from frontdesk.server.dependencies import PluginsDep, get_context

router = APIRouter(prefix="/api/optouts", tags=["opt-outs"])
Context = Annotated[AppContext, Depends(get_context)]


class ImportOut(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    added: int
    already: int
    rejected_lines: list[int]


@router.get("/{businessNumber}.csv")
async def export_suppression_list(
    businessNumber: DbId, ctx: Context, principal: CurrentPrincipal, channel: str | None = None
) -> Response:
    async with ctx.db.reader() as session:
        business = await visible_business(session, principal=principal, number=businessNumber)
        text = await export_csv(session, business_id=business.id, channel=channel)
    return Response(
        text,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="optouts-{businessNumber}.csv"'},
    )


@router.post("/{businessNumber}.csv", response_model=ImportOut, response_model_by_alias=True)
async def import_suppression_list(
    businessNumber: DbId,
    request: Request,
    ctx: Context,
    principal: CurrentPrincipal,
    plugins: PluginsDep,
) -> ImportOut:
    text = (await request.body()).decode("utf-8-sig", errors="replace")
    async with ctx.db.transaction() as session:
        business = await visible_business(session, principal=principal, number=businessNumber)
        report = await import_csv(
            session,
            secrets=ctx.secrets,
            clock=ctx.clock,
            business_id=business.id,
            text=text,
            channels=_channels(plugins),
        )
    return ImportOut(
        added=report.added, already=report.already, rejected_lines=report.rejected_lines
    )


def _channels(plugins: Plugins) -> tuple[str, ...]:
    return plugins.channels.channel_names()
