"""HTTP: ``GET /api/usage`` — the usage report as JSON (what the usage page draws)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.context import AppContext
from frontdesk.db.bounds import MAX_BIGINT
from frontdesk.server.dependencies import get_context
from frontdesk.usage.report import read_usage

router = APIRouter(prefix="/api/usage", tags=["usage"])


@router.get("")
async def get_usage(
    ctx: Annotated[AppContext, Depends(get_context)],
    principal: CurrentPrincipal,
    business: Annotated[int | None, Query(ge=1, le=MAX_BIGINT)] = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """Usage per day of a period (default: the last 30 days) for one business number (with
    its locations) or every business the caller may see: totals, per-subject breakdowns and
    per-day series of API calls, source calls and errors, sync runs, check-ins by decision,
    review requests by channel and state, tickets."""
    report = await read_usage(ctx, principal=principal, business=business, start=start, end=end)
    return report.as_dict()
