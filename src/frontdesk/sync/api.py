"""HTTP: run now, backfill, and the runs of a group.

``POST /integration/businessintegrationgroup/id/{groupId}/run`` and ``.../backfill`` answer
202 with the runs created (the embedded worker is woken at once; otherwise they wait for a
worker). ``GET /api/sync/runs?groupId=`` and ``GET /api/sync/runs/{runId}``. API-key
authentication; another tenant's group or run answers 404.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, ConfigDict

from frontdesk.access.dependencies import CurrentPrincipal
from frontdesk.context import AppContext
from frontdesk.db.bounds import DbId
from frontdesk.server.dependencies import get_context, get_process
from frontdesk.sync import service
from frontdesk.sync.models import SyncRun

router = APIRouter(tags=["sync"])
Context = Annotated[AppContext, Depends(get_context)]
GROUP = "/integration/businessintegrationgroup/id/{groupId}"


class RunNowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: date | None = None
    """The day the run acts as (default: today in each location's zone)."""
    mappingIds: list[DbId] | None = None


class BackfillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first: date
    last: date
    mappingIds: list[DbId] | None = None


class WindowOut(BaseModel):
    first: date
    last: date


class RunOut(BaseModel):
    runId: int
    groupId: int
    status: str
    kind: str
    runDay: date
    window: WindowOut
    mappingIds: list[int]
    attempts: int
    counts: dict[str, Any] | None
    errorCode: str | None
    errorMessage: str | None
    requestedBy: str | None
    createdAt: datetime
    startedAt: datetime | None
    finishedAt: datetime | None


def run_out(run: SyncRun, mapping_ids: list[int]) -> RunOut:
    return RunOut(
        runId=run.id,
        groupId=run.group_id,
        status=run.status,
        kind=run.kind,
        runDay=run.run_day,
        window=WindowOut(first=run.window_first, last=run.window_last),
        mappingIds=mapping_ids,
        attempts=run.attempts,
        counts=run.counts,
        errorCode=run.error_code,
        errorMessage=run.error_message,
        requestedBy=run.requested_by,
        createdAt=run.created_at,
        startedAt=run.started_at,
        finishedAt=run.finished_at,
    )


def _wake_worker(request: Request) -> None:
    get_process(request).runs_queued()


async def _render(ctx: AppContext, created: list[SyncRun]) -> list[RunOut]:
    async with ctx.db.reader() as session:
        ids = await service.mapping_ids_of(session, run_ids=[r.id for r in created])
    return [run_out(r, ids[r.id]) for r in created]


@router.post(GROUP + "/run", response_model=list[RunOut], status_code=status.HTTP_202_ACCEPTED)
async def sync_run_now(
    groupId: DbId,
    request: Request,
    ctx: Context,
    principal: CurrentPrincipal,
    body: RunNowIn | None = None,
) -> list[RunOut]:
    """Run the group now for its active mappings (one run per window)."""
    body = body or RunNowIn()
    async with ctx.db.transaction() as session:
        created = await service.request_run(
            session,
            principal=principal,
            clock=ctx.clock,
            group_id=groupId,
            on=body.on,
            mapping_ids=body.mappingIds,
        )
    _wake_worker(request)
    return await _render(ctx, created)


@router.post(GROUP + "/backfill", response_model=list[RunOut], status_code=status.HTTP_202_ACCEPTED)
async def sync_backfill(
    groupId: DbId, body: BackfillIn, request: Request, ctx: Context, principal: CurrentPrincipal
) -> list[RunOut]:
    """Read ``first..last`` again (runs of at most 62 days, one after another)."""
    async with ctx.db.transaction() as session:
        created = await service.request_backfill(
            session,
            principal=principal,
            clock=ctx.clock,
            group_id=groupId,
            first=body.first,
            last=body.last,
            mapping_ids=body.mappingIds,
        )
    _wake_worker(request)
    return await _render(ctx, created)


@router.get("/api/sync/runs", response_model=list[RunOut])
async def sync_list_runs(
    ctx: Context,
    principal: CurrentPrincipal,
    groupId: Annotated[DbId, Query()],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RunOut]:
    """The group's runs, newest first."""
    async with ctx.db.reader() as session:
        found = await service.list_runs(session, principal=principal, group_id=groupId, limit=limit)
        ids = await service.mapping_ids_of(session, run_ids=[r.id for r in found])
        return [run_out(r, ids[r.id]) for r in found]


@router.get("/api/sync/runs/{runId}", response_model=RunOut)
async def sync_get_run(runId: DbId, ctx: Context, principal: CurrentPrincipal) -> RunOut:
    """One run: status, window, counts, error."""
    async with ctx.db.reader() as session:
        run = await service.get_run(session, principal=principal, run_id=runId)
        ids = await service.mapping_ids_of(session, run_ids=[run.id])
        return run_out(run, ids[run.id])
