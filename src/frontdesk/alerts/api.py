"""HTTP: ``GET /api/alerts`` — open and recent alerts the caller may see."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.alerts.explain import describe
from frontdesk.alerts.service import list_alerts
from frontdesk.context import AppContext
from frontdesk.server.dependencies import get_context

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


class AlertOut(BaseModel):
    id: int
    kind: str
    title: str
    summary: str
    explanation: str
    link: str
    open: bool
    openedAt: datetime
    resolvedAt: datetime | None
    notification: str | None
    details: dict[str, Any]


class AlertsOut(BaseModel):
    items: list[AlertOut]


@router.get("", response_model=AlertsOut)
async def query_alerts(
    ctx: Annotated[AppContext, Depends(get_context)],
    principal: CurrentPrincipal,
    open_only: bool = False,
) -> AlertsOut:
    """Open alerts first, then those resolved within ``alerts.recent_days``, newest first
    (``open_only=true``: open ones only); a practice's key sees its own tenant's only."""
    async with ctx.db.reader() as session:
        found = await list_alerts(
            session,
            principal=principal,
            now=ctx.clock.now(),
            recent_days=ctx.settings.alerts.recent_days,
        )
        views = [describe(a) for a in found if a.resolved_at is None or not open_only]
    return AlertsOut(
        items=[
            AlertOut(
                id=v.id,
                kind=v.kind,
                title=v.title,
                summary=v.summary,
                explanation=v.explanation,
                link=v.link,
                open=v.open,
                openedAt=v.opened_at,
                resolvedAt=v.resolved_at,
                notification=v.notification,
                details=v.details,
            )
            for v in views
        ]
    )
