"""HTTP: ``GET /api/audit``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.audit.service import list_events
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.server.dependencies import get_context

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    targetType: str
    targetId: str
    details: dict[str, Any]


@router.get("", response_model=list[AuditEventOut])
async def query_audit(
    ctx: Annotated[AppContext, Depends(get_context)],
    principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[DbId | None, Query(alias="beforeId")] = None,
    action: str | None = None,
    target_type: Annotated[str | None, Query(alias="targetType")] = None,
    target_id: Annotated[str | None, Query(alias="targetId")] = None,
) -> list[AuditEventOut]:
    """Configuration changes, newest first (page with ``beforeId``)."""
    async with ctx.db.reader() as session:
        events = await list_events(
            session,
            principal=principal,
            limit=limit,
            before_id=before_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
        )
        return [
            AuditEventOut(
                id=e.id,
                at=e.at,
                actor=e.actor,
                action=e.action,
                targetType=e.target_type,
                targetId=e.target_id,
                details=e.details,
            )
            for e in events
        ]
