"""Writing the meter's counts: additive upserts, a periodic loop, the retention purge.

A flush adds each drained counter to its row (``INSERT … ON CONFLICT DO UPDATE SET count =
count + excluded.count``, on SQLite and PostgreSQL alike), in key order so two processes
flushing the same keys never deadlock. A flush that fails gives its counts back to the meter
for the next one. :class:`UsageLoop` flushes every ``usage.flush_s`` and once more on stop,
and deletes rows older than ``usage.keep_days`` once a day.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import date, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.context import AppContext
from frontdesk.logs import get_logger
from frontdesk.usage.meter import Key, Meter
from frontdesk.usage.models import UsageCount

log = get_logger(__name__)
CHUNK = 500
DAY_S = 86_400.0


async def add_counts(session: AsyncSession, counts: dict[Key, list[int]]) -> int:
    """Add ``counts`` to the usage table (the caller owns the transaction); rows touched."""
    if not counts:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    rows = [
        {
            "day": day,
            "business_id": business,
            "kind": kind,
            "subject": subject,
            "count": n,
            "total_ms": ms,
        }
        for (day, business, kind, subject), (n, ms) in sorted(counts.items())
    ]
    for start in range(0, len(rows), CHUNK):
        statement = insert(UsageCount).values(rows[start : start + CHUNK])
        statement = statement.on_conflict_do_update(
            index_elements=["day", "business_id", "kind", "subject"],
            set_={
                "count": UsageCount.count + statement.excluded.count,
                "total_ms": UsageCount.total_ms + statement.excluded.total_ms,
            },
        )
        await session.execute(statement)
    return len(rows)


async def flush(ctx: AppContext, meter: Meter) -> int:
    """Write what ``meter`` counted since the last flush; rows touched."""
    counts = meter.drain()
    if not counts:
        return 0
    try:
        async with ctx.db.transaction() as session:
            return await add_counts(session, counts)
    except BaseException:
        meter.restore(counts)
        raise


async def purge_usage(ctx: AppContext, *, now: datetime | None = None) -> int:
    """Delete usage rows older than ``usage.keep_days``; rows deleted."""
    cutoff: date = ((now or ctx.clock.now()) - timedelta(days=ctx.settings.usage.keep_days)).date()
    async with ctx.db.transaction() as session:
        result = await session.execute(delete(UsageCount).where(UsageCount.day < cutoff))
    deleted = int(getattr(result, "rowcount", 0) or 0)
    if deleted:
        log.info("usage.purged", rows=deleted, cutoff_day=cutoff.isoformat())
    return deleted


class UsageLoop:
    """Flushes the meter every ``usage.flush_s`` and on stop; purges old rows daily."""

    def __init__(self, ctx: AppContext, meter: Meter) -> None:
        self.ctx = ctx
        self.meter = meter
        self._task: asyncio.Task[None] | None = None
        self._purged_at = 0.0

    async def start(self) -> None:
        if self.meter.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop, then write what is still counted."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def flush(self) -> int:
        """One flush now (errors logged, counts kept for the next one)."""
        try:
            return await flush(self.ctx, self.meter)
        except Exception as error:
            log.warning("usage.flush.failed", error_type=type(error).__name__)
            return 0

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.ctx.settings.usage.flush_s)
            await self.flush()
            if time.monotonic() - self._purged_at >= DAY_S or not self._purged_at:
                self._purged_at = time.monotonic()
                try:
                    await purge_usage(self.ctx)
                except Exception as error:
                    log.warning("usage.purge.failed", error_type=type(error).__name__)
