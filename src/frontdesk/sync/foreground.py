"""Running runs to their end in this process (``frontdesk sync run|backfill``).

Each run in turn: a waiting run is queued once its group is free, then attempted here; a
transient failure is retried after the backoff (the engine fails the run once its attempts
are spent); a run another worker claimed first is watched until it ends.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

from frontdesk.context import AppContext
from frontdesk.retry import RetryPolicy
from frontdesk.sync import runs
from frontdesk.sync.engine import Progress, SyncEngine
from frontdesk.sync.models import QUEUED, WAITING, SyncRun

POLL_S = 1.0


async def run_to_end(
    ctx: AppContext,
    engine: SyncEngine,
    run_id: int,
    *,
    progress: Progress | None = None,
    poll_s: float = POLL_S,
) -> SyncRun:
    """Attempt ``run_id`` here until it ends (or watch whoever runs it); the final row."""
    settings = ctx.settings.sync
    retry = RetryPolicy(base_s=settings.retry_base_s, max_s=settings.retry_max_s)
    rng = random.Random()
    failures = 0
    while True:
        run = await _load(ctx, run_id)
        if run.status == WAITING:
            async with ctx.db.transaction() as session:
                queued = await runs.queue_waiting(session, run_id=run_id, now=ctx.clock.now())
            if not queued:
                await asyncio.sleep(poll_s)
            continue
        if run.status != QUEUED:
            if run.status in ("succeeded", "failed", "cancelled"):
                return run
            await asyncio.sleep(poll_s)  # running elsewhere
            continue
        try:
            await engine.attempt(run_id, progress=progress)
        except Exception as error:
            if not retry.should_retry(error, 1):
                raise
            failures += 1
            await asyncio.sleep(retry.delay(failures, rng))


async def _load(ctx: AppContext, run_id: int) -> SyncRun:
    async with ctx.db.reader() as session:
        run = await session.get(SyncRun, run_id)
        assert run is not None
        session.expunge(run)  # keep its loaded values after the reader rolls back
    return run


async def run_all(
    ctx: AppContext,
    engine: SyncEngine,
    run_ids: Sequence[int],
    *,
    progress: Progress | None = None,
) -> list[SyncRun]:
    """:func:`run_to_end` for each run, in order."""
    return [await run_to_end(ctx, engine, run_id, progress=progress) for run_id in run_ids]
