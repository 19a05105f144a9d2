"""The states /metrics reads from the database at scrape time (see :mod:`.metrics`)."""

from __future__ import annotations

from sqlalchemy import func, select, text

from frontdesk.context import AppContext
from frontdesk.engagement.ledger_models import PENDING, STATES, ReviewRequest
from frontdesk.sync.models import QUEUED, SyncRun
from frontdesk.usage.metrics import DatabaseGauges, zero_filled

RUN_STATUSES = ("waiting", "queued", "running", "succeeded", "failed", "cancelled")


async def read_gauges(ctx: AppContext) -> DatabaseGauges:
    """Ledger states, sync runs by status and the depth of each queue, read now."""
    now = ctx.clock.now()
    async with ctx.db.reader() as session:
        ledger = await session.execute(
            select(ReviewRequest.state, func.count()).group_by(ReviewRequest.state)
        )
        runs = await session.execute(select(SyncRun.status, func.count()).group_by(SyncRun.status))
        run_rows = [(str(s), int(n)) for s, n in runs]
        due = await session.scalar(
            select(func.count())
            .select_from(ReviewRequest)
            .where(ReviewRequest.state == PENDING, ReviewRequest.next_attempt_at <= now)
        )
        queues = {
            "sync_runs": dict(run_rows).get(QUEUED, 0),
            "review_requests_due": int(due or 0),
        }
        if ctx.settings.jobs.backend == "procrastinate":
            todo = await session.scalar(
                text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
            )
            queues["procrastinate_jobs"] = int(todo or 0)
    return DatabaseGauges(
        review_requests=zero_filled(((str(s), int(n)) for s, n in ledger), STATES),
        sync_runs=zero_filled(run_rows, RUN_STATUSES),
        jobs_queued=queues,
    )
