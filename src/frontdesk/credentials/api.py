"""HTTP: re-authorise a group, and the health of the groups a key may see.

``POST /integration/businessintegrationgroup/id/{groupId}/reauthorize`` answers 200 with the
check result, whether the new properties were stored and the group reactivated, and the
backfill runs created (none when the check failed). ``GET /api/integrations/health``: every
group for staff, its own for a business key. Secure values are never echoed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.connectors.base import CheckResult
from frontdesk.context import AppContext
from frontdesk.credentials.health import group_health
from frontdesk.credentials.reauthorize import reauthorize
from frontdesk.db.bounds import DbId
from frontdesk.integrations.schemas import PropertyIn
from frontdesk.server.dependencies import get_context, get_process
from frontdesk.sync import service as sync_service
from frontdesk.sync.api import RunOut, run_out

router = APIRouter(tags=["credentials"])
Context = Annotated[AppContext, Depends(get_context)]


class ReauthorizeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integrationGroupProperties: list[PropertyIn] = []
    """The new values (e.g. ``PM_Password``); empty: re-check the stored ones."""
    backfill: bool = True


class CheckOut(BaseModel):
    status: str
    ok: bool
    message: str
    reason: str | None
    missingActions: list[str]
    warnings: list[str]


def check_out(result: CheckResult) -> CheckOut:
    return CheckOut(
        status=result.status.value,
        ok=result.ok,
        message=result.message,
        reason=result.reason,
        missingActions=list(result.missing_actions),
        warnings=list(result.warnings),
    )


class ReauthorizeOut(BaseModel):
    groupId: int
    status: str
    stored: bool
    reactivated: bool
    incidentId: int | None
    check: CheckOut
    runs: list[RunOut]


@router.post(
    "/integration/businessintegrationgroup/id/{groupId}/reauthorize",
    response_model=ReauthorizeOut,
)
async def reauthorize_group(
    groupId: DbId, body: ReauthorizeIn, request: Request, ctx: Context, principal: CurrentPrincipal
) -> ReauthorizeOut:
    """Check the new credentials; store them, reactivate and backfill only if it passes."""
    done = await reauthorize(
        ctx,
        get_process(request).plugins,
        principal=principal,
        group_id=groupId,
        properties=[p.to_input() for p in body.integrationGroupProperties],
        backfill=body.backfill,
    )
    if done.runs:
        get_process(request).runs_queued()
    async with ctx.db.reader() as session:
        ids = await sync_service.mapping_ids_of(session, run_ids=[r.id for r in done.runs])
    return ReauthorizeOut(
        groupId=done.group_id,
        status=done.status,
        stored=done.stored,
        reactivated=done.reactivated,
        incidentId=done.incident_id,
        check=check_out(done.check),
        runs=[run_out(r, ids[r.id]) for r in done.runs],
    )


class WarningOut(BaseModel):
    kind: str
    daysLeft: int
    message: str


class HealthOut(BaseModel):
    groupId: int
    businessNumber: int
    businessName: str
    source: str
    status: str
    statusReason: str | None
    lastRunStatus: str | None
    lastRunAt: datetime | None
    nextRunAt: datetime | None
    passwordSetOn: date | None
    passwordAgeDays: int | None
    warnings: list[WarningOut]
    openIncidentId: int | None
    openIncidentReason: str | None


@router.get("/api/integrations/health", response_model=list[HealthOut])
async def integrations_health(
    ctx: Context,
    principal: CurrentPrincipal,
    groupId: Annotated[DbId | None, Query()] = None,
) -> list[HealthOut]:
    """Status, last and next run, PM password age and warnings of every visible group."""
    async with ctx.db.reader() as session:
        rows = await group_health(
            session,
            principal=principal,
            settings=ctx.settings,
            now=ctx.clock.now(),
            group_id=groupId,
        )
    return [
        HealthOut(
            groupId=h.group_id,
            businessNumber=h.business_number,
            businessName=h.business_name,
            source=h.source,
            status=h.status,
            statusReason=h.status_reason,
            lastRunStatus=h.last_run_status,
            lastRunAt=h.last_run_at,
            nextRunAt=h.next_run_at,
            passwordSetOn=h.password_set_at.date() if h.password_set_at else None,
            passwordAgeDays=h.password_age_days,
            warnings=[
                WarningOut(kind=w.kind, daysLeft=w.days_left, message=w.message) for w in h.warnings
            ],
            openIncidentId=h.incident_id,
            openIncidentReason=h.incident_reason,
        )
        for h in rows
    ]
