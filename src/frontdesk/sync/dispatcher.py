"""The dispatcher: due mapping schedules become ``sync_runs`` rows, queued runs become jobs.

Nothing in memory is authoritative. Each tick, in one transaction:

1. runs whose lease expired go back to ``queued`` (or ``failed`` once their attempts are
   spent) — a worker died mid-run;
2. groups with no queued or running run get their oldest ``waiting`` run queued;
3. due mappings (mapping and group active, ``next_run_at`` ≤ now) of groups with no open
   run become runs, one per window (the first queued, the others waiting), and their
   ``next_run_at`` moves on by the frequency, in the location's zone.

Then every queued run without a waiting job gets one (``sync_group(run_id)`` under the
lock ``group:<id>`` and the queueing lock ``run:<id>``). At start-up every queued run is
deferred again (the embedded queue lives in memory).

Where the ticks run: in ``frontdesk serve``'s embedded runner, a loop every ``sync.tick_s``;
with procrastinate, a periodic job (``sync_dispatch``, see :mod:`frontdesk.sync.jobs`) that
whichever worker is free runs, so two ticks may overlap. Two dispatchers never claim the same
due mapping: step 3 locks the due mappings it reads with ``FOR UPDATE SKIP LOCKED`` (the
other dispatcher skips them instead of waiting), steps 1 and 2 do the same for the runs they
change (:mod:`frontdesk.sync.runs`); on SQLite the single writer serialises the ticks. Behind
that, a group still cannot get two active runs (the partial unique index refuses the second)
and ``next_run_at`` is advanced only if it still has the value that was read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.connectors.base import Window
from frontdesk.context import AppContext
from frontdesk.integrations.mappings import effective_customer_fetch_delay
from frontdesk.integrations.models import IntegrationGroup, IntegrationMapping
from frontdesk.jobs.queue import AlreadyQueued, JobQueue
from frontdesk.logs import get_logger
from frontdesk.sync import runs
from frontdesk.sync.models import OPEN_STATUSES, QUEUED, SyncRun
from frontdesk.sync.windows import local_day, next_run_after, window_for

log = get_logger(__name__)

TASK = "sync_group"
LATE_LIMIT = timedelta(days=1)
"""A run more than this late acts as today, not as the day it was scheduled for."""


class _Raced(Exception):
    """Another dispatcher took this group's due mappings first."""


@dataclass
class TickReport:
    """What one tick did (run ids)."""

    created: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    promoted: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)


async def schedule_due(session: AsyncSession, *, now: datetime) -> list[SyncRun]:
    """Create the runs of due mappings (step 3 of the module docstring)."""
    due = (
        (
            await session.execute(
                select(IntegrationMapping)
                .join(IntegrationGroup, IntegrationGroup.id == IntegrationMapping.group_id)
                .where(
                    IntegrationMapping.active.is_(True),
                    IntegrationGroup.status == "active",
                    IntegrationMapping.next_run_at <= now,
                )
                .order_by(IntegrationMapping.group_id, IntegrationMapping.id)
                .with_for_update(skip_locked=True, of=IntegrationMapping)
            )
        )
        .scalars()
        .all()
    )
    busy = set(
        (
            await session.execute(select(SyncRun.group_id).where(SyncRun.status.in_(OPEN_STATUSES)))
        ).scalars()
    )
    by_group: dict[int, list[IntegrationMapping]] = defaultdict(list)
    for mapping in due:
        if mapping.group_id not in busy:
            by_group[mapping.group_id].append(mapping)
    created: list[SyncRun] = []
    for group_id, mappings in by_group.items():
        try:
            async with session.begin_nested():
                created.extend(await _schedule_group(session, group_id, mappings, now))
        except _Raced:
            continue
    return created


async def _schedule_group(
    session: AsyncSession, group_id: int, mappings: list[IntegrationMapping], now: datetime
) -> list[SyncRun]:
    plans: dict[Window, runs.RunPlan] = {}
    for mapping in mappings:
        scheduled = mapping.next_run_at
        acts_at = scheduled if now - scheduled < LATE_LIMIT else now
        run_day = local_day(acts_at, mapping.timezone)
        window = window_for(run_day, effective_customer_fetch_delay(mapping))
        plan = plans.get(window)
        ids = (*plan.mapping_ids, mapping.id) if plan else (mapping.id,)
        plans[window] = runs.RunPlan(run_day=run_day, window=window, mapping_ids=ids)
        following = next_run_after(
            scheduled,
            value=mapping.frequency_value,
            unit=mapping.frequency_unit,
            timezone=mapping.timezone,
            now=now,
        )
        moved = await session.execute(
            update(IntegrationMapping)
            .where(IntegrationMapping.id == mapping.id, IntegrationMapping.next_run_at == scheduled)
            .values(next_run_at=following)
            .returning(IntegrationMapping.id)
            .execution_options(synchronize_session=False)
        )
        if moved.first() is None:
            raise _Raced
    ordered = [plans[w] for w in sorted(plans, key=lambda w: (w.first, w.last))]
    created = await runs.create_runs(
        session, group_id=group_id, kind="scheduled", plans=ordered, now=now
    )
    if created[0].status != QUEUED:
        raise _Raced
    return created


class Dispatcher:
    """Ticks: recover, promote, schedule, defer (see the module docstring)."""

    def __init__(self, ctx: AppContext, queue: JobQueue) -> None:
        self.ctx = ctx
        self.queue = queue
        settings = ctx.settings.sync
        self._max_attempts = settings.max_attempts

    async def startup(self) -> list[int]:
        """After a restart: recover expired leases, then defer every queued run."""
        report = await self.tick()
        return report.deferred

    async def tick(self) -> TickReport:
        now = self.ctx.clock.now()
        report = TickReport()
        async with self.ctx.db.transaction() as session:
            report.requeued, report.failed = await runs.recover_expired(
                session, now=now, max_attempts=self._max_attempts
            )
            report.promoted = await runs.promote_waiting(session, now=now)
            created = await schedule_due(session, now=now)
            report.created = [run.id for run in created]
        report.deferred = await self.offer_queued()
        if report.created or report.requeued or report.failed or report.deferred:
            log.info(
                "sync.dispatcher.tick",
                created=report.created,
                requeued=report.requeued,
                failed=report.failed,
                promoted=report.promoted,
                deferred=report.deferred,
            )
        return report

    async def offer_queued(self) -> list[int]:
        """Give every queued run that has no waiting job one; returns their run ids.

        Every queued run is offered a job on every tick, whoever queued it (the dispatcher,
        run-now, a backfill, a recovered lease): the queueing lock ``run:{id}`` keeps at most
        one job waiting per run, and a job that finds its run no longer queued does nothing,
        so offering again is always safe — and a run never waits for a "stale" timeout. Runs
        whose job is already waiting are skipped with one look-up (a backlog of queued runs
        costs one query per tick, not one refused insert per run).
        """
        async with self.ctx.db.reader() as session:
            query = select(SyncRun.id, SyncRun.group_id).where(SyncRun.status == QUEUED)
            pending = (await session.execute(query.order_by(SyncRun.id))).all()
        if not pending:
            return []
        waiting = await self.queue.waiting_keys([run_key(run_id) for run_id, _ in pending])
        deferred: list[int] = []
        for run_id, group_id in pending:
            if run_key(run_id) not in waiting and await self.defer(run_id, group_id):
                deferred.append(run_id)
        return deferred

    async def defer(self, run_id: int, group_id: int, *, connection: Any = None) -> bool:
        """Give a queued run a job (in ``connection``'s transaction, when the queue stores
        jobs in our database); False when one is already waiting for it."""
        try:
            await self.queue.defer(
                TASK,
                args={"run_id": run_id},
                lock=f"group:{group_id}",
                queueing_lock=run_key(run_id),
                connection=connection,
            )
        except AlreadyQueued:
            return False
        return True


def run_key(run_id: int) -> str:
    """The queueing lock of a run's job: at most one job waits per run."""
    return f"run:{run_id}"
