"""Asking for runs (run now, backfill) and reading them, with tenant visibility.

Run now: every active mapping of the group (or the given ones), acting as ``on`` (default:
today in each location's zone), so each reads the day ``customer fetch delay`` days before.
Mappings with different windows get one run each. Backfill: one run per window of at most
``MAX_WINDOW_DAYS`` days over ``first..last``, no delay applied. The first run of a request
is queued when the group has none active; the others wait their turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.audit.service import record_event
from frontdesk.clock import Clock
from frontdesk.connectors.base import Window
from frontdesk.errors import Conflict, InvalidInput, NotFound
from frontdesk.integrations.groups import can_see_group, get_group
from frontdesk.integrations.mappings import effective_customer_fetch_delay, list_mappings
from frontdesk.integrations.models import IntegrationGroup, IntegrationMapping
from frontdesk.sync import runs
from frontdesk.sync.models import SyncRun, SyncRunMapping
from frontdesk.sync.windows import local_day, split_range, window_for

MAX_BACKFILL_DAYS = 366


async def _active_mappings(
    session: AsyncSession,
    *,
    principal: Principal,
    group_id: int,
    mapping_ids: Sequence[int] | None,
) -> tuple[IntegrationGroup, list[IntegrationMapping]]:
    group = await get_group(session, group_id=group_id, principal=principal)
    if group.status != "active":
        raise Conflict(f"integration group {group.id} is {group.status}", field="groupId")
    found = await list_mappings(session, group_id=group.id)
    if mapping_ids is not None:
        missing = set(mapping_ids) - {m.id for m in found}
        if missing:
            raise NotFound(f"mapping {min(missing)} is not in group {group.id}", field="mappingIds")
        found = [m for m in found if m.id in set(mapping_ids)]
    active = [m for m in found if m.active]
    if not active:
        raise InvalidInput(f"group {group.id} has no active mapping to run", field="groupId")
    return group, active


async def request_run(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    group_id: int,
    on: date | None = None,
    mapping_ids: Sequence[int] | None = None,
) -> list[SyncRun]:
    """Run now (see the module docstring); returns the runs created, in order."""
    group, mappings = await _active_mappings(
        session, principal=principal, group_id=group_id, mapping_ids=mapping_ids
    )
    now = clock.now()
    plans: dict[Window, runs.RunPlan] = {}
    for mapping in mappings:
        run_day = on or local_day(now, mapping.timezone)
        window = window_for(run_day, effective_customer_fetch_delay(mapping))
        ids = (*plans[window].mapping_ids, mapping.id) if window in plans else (mapping.id,)
        plans[window] = runs.RunPlan(run_day=run_day, window=window, mapping_ids=ids)
    ordered = [plans[w] for w in sorted(plans, key=lambda w: (w.first, w.last))]
    return await _create(session, principal, clock, group, "manual", ordered)


async def request_backfill(
    session: AsyncSession,
    *,
    principal: Principal,
    clock: Clock,
    group_id: int,
    first: date,
    last: date,
    mapping_ids: Sequence[int] | None = None,
) -> list[SyncRun]:
    """Backfill ``first..last`` (inclusive) for the group's active mappings."""
    if last < first:
        raise InvalidInput("last is before first", field="last")
    if (last - first).days + 1 > MAX_BACKFILL_DAYS:
        raise InvalidInput(f"a backfill covers at most {MAX_BACKFILL_DAYS} days", field="last")
    group, mappings = await _active_mappings(
        session, principal=principal, group_id=group_id, mapping_ids=mapping_ids
    )
    ids = tuple(m.id for m in mappings)
    plans = [runs.RunPlan(w.last, w, ids) for w in split_range(first, last)]
    return await _create(session, principal, clock, group, "backfill", plans)


async def _create(
    session: AsyncSession,
    principal: Principal,
    clock: Clock,
    group: IntegrationGroup,
    kind: str,
    plans: list[runs.RunPlan],
) -> list[SyncRun]:
    created = await runs.create_runs(
        session,
        group_id=group.id,
        kind=kind,
        plans=plans,
        now=clock.now(),
        requested_by=principal.label,
    )
    await record_event(
        session,
        clock=clock,
        actor=principal,
        action=f"sync_run.{kind}",
        target_type="integration_group",
        target_id=str(group.id),
        business_id=group.business_id,
        details={
            "runIds": [r.id for r in created],
            "windows": [[p.window.first.isoformat(), p.window.last.isoformat()] for p in plans],
        },
    )
    return created


async def list_runs(
    session: AsyncSession, *, principal: Principal, group_id: int, limit: int = 50
) -> list[SyncRun]:
    """The group's runs, newest first."""
    group = await get_group(session, group_id=group_id, principal=principal)
    query = (
        select(SyncRun)
        .where(SyncRun.group_id == group.id)
        .order_by(SyncRun.id.desc())
        .limit(max(1, min(limit, 500)))
    )
    return list((await session.execute(query)).scalars())


async def get_run(session: AsyncSession, *, principal: Principal, run_id: int) -> SyncRun:
    """One run (404 ``runId`` for another tenant's)."""
    run = await session.get(SyncRun, run_id)
    if run is not None:
        group = await session.get(IntegrationGroup, run.group_id)
        if group is not None and can_see_group(principal, group):
            return run
    raise NotFound(f"sync run {run_id} not found", field="runId")


async def mapping_ids_of(session: AsyncSession, *, run_ids: Sequence[int]) -> dict[int, list[int]]:
    """Run id → the mapping ids it covers."""
    found: dict[int, list[int]] = {run_id: [] for run_id in run_ids}
    rows = await session.execute(
        select(SyncRunMapping.run_id, SyncRunMapping.mapping_id)
        .where(SyncRunMapping.run_id.in_(run_ids))
        .order_by(SyncRunMapping.mapping_id)
    )
    for run_id, mapping_id in rows:
        found[run_id].append(mapping_id)
    return found
