"""The sync engine as the dashboard sees it: a group's last run, and "Run now".

The one module of the dashboard that reads ``frontdesk.sync``: the Integrations pages show
:func:`last_run_summary` (newest run of the group: status, time, counts) and the group page's
"Run now" button calls :func:`run_now` (the sync service's ``request_run``, then wakes the
embedded worker when this process runs one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.context import AppContext
from frontdesk.server.dependencies import get_process
from frontdesk.sync import service as sync_service
from frontdesk.sync.models import SyncRun


@dataclass(frozen=True)
class RunSummary:
    """What the Integrations pages show about a group's newest sync run."""

    run_id: int
    outcome: str  # waiting, queued, running, succeeded, failed, cancelled
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    counts: Mapping[str, int] = field(default_factory=dict)  # fetched, eligible, restricted
    error: str | None = None

    @property
    def at(self) -> datetime:
        return self.finished_at or self.started_at or self.created_at


def summarise_counts(counts: Mapping[str, Any] | None) -> dict[str, int]:
    """The run's counts as the page shows them: fetched, eligible, restricted (all reasons)."""
    if not counts:
        return {}
    shown: dict[str, int] = {}
    if isinstance(counts.get("fetched"), int):
        shown["fetched"] = counts["fetched"]
    if isinstance(counts.get("eligible"), int):
        shown["eligible"] = counts["eligible"]
    restricted = counts.get("restricted")
    if isinstance(restricted, Mapping):
        shown["restricted"] = sum(v for v in restricted.values() if isinstance(v, int))
    return shown


async def last_run_summary(session: AsyncSession, group_id: int) -> RunSummary | None:
    """The newest run of ``group_id`` (any status), or None when it never ran."""
    run = (
        await session.execute(
            select(SyncRun).where(SyncRun.group_id == group_id).order_by(SyncRun.id.desc()).limit(1)
        )
    ).scalar_one_or_none()
    if run is None:
        return None
    return RunSummary(
        run_id=run.id,
        outcome=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        created_at=run.created_at,
        counts=summarise_counts(run.counts),
        error=run.error_code,
    )


async def run_now(
    ctx: AppContext, request: Request, *, principal: Principal, group_id: int
) -> list[int]:
    """Queue a manual run of the group's active mappings; returns the new run ids."""
    async with ctx.db.transaction() as session:
        created = await sync_service.request_run(
            session, principal=principal, clock=ctx.clock, group_id=group_id
        )
        ids = [run.id for run in created]
    get_process(request).runs_queued()  # the next tick gives every queued run its job
    return ids
