"""HTTP: ``GET /api/audit``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.audit.service import list_events
from frontdesk.context import AppContext
from frontdesk.server.dependencies import get_context
from frontdesk.server.paging import BeforeIdParam, CursorParam, LimitParam, PageOut, first_cursor

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    targetType: str
    targetId: str
    details: dict[str, Any]


@router.get("", response_model=PageOut[AuditEventOut])
async def query_audit(
    ctx: Annotated[AppContext, Depends(get_context)],
    principal: CurrentPrincipal,
    limit: LimitParam = 100,
    cursor: CursorParam = None,
    before_id: BeforeIdParam = None,
    action: str | None = None,
    target_type: Annotated[str | None, Query(alias="targetType")] = None,
    target_id: Annotated[str | None, Query(alias="targetId")] = None,
) -> PageOut[AuditEventOut]:
    """Configuration changes, newest first, one page (``nextCursor``) at a time."""
    async with ctx.db.reader() as session:
        found = await list_events(
            session,
            principal=principal,
            limit=limit,
            cursor=first_cursor(cursor, before_id),
            action=action,
            target_type=target_type,
            target_id=target_id,
        )
        items = [
            AuditEventOut(
                id=e.id,
                at=e.at,
                actor=e.actor,
                action=e.action,
                targetType=e.target_type,
                targetId=e.target_id,
                details=e.details,
            )
            for e in found.items
        ]
    return PageOut[AuditEventOut](items=items, nextCursor=found.next_cursor)
