"""The usage table keeps ``usage.keep_days``; a process writes what it counted when it stops;
with metering off nothing is counted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from frontdesk.clock import ManualClock
from frontdesk.composition import Role, build_process
from frontdesk.context import AppContext
from frontdesk.settings import MetricsSettings, UsageSettings
from frontdesk.usage.flush import add_counts, purge_usage
from frontdesk.usage.models import UsageCount

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def rows(ctx: AppContext) -> list[tuple[date, str, int]]:
    async with ctx.db.reader() as session:
        found = await session.execute(
            select(UsageCount.day, UsageCount.kind, UsageCount.count).order_by(UsageCount.day)
        )
        return [(d, k, c) for d, k, c in found]


async def test_rows_older_than_keep_days_are_deleted(ctx: AppContext) -> None:
    ctx.settings = ctx.settings.model_copy(update={"usage": UsageSettings(keep_days=30)})
    today = NOW.date()
    async with ctx.db.transaction() as session:
        await add_counts(
            session,
            {
                (today - timedelta(days=31), 1, "ticket", "created"): [4, 0],
                (today - timedelta(days=30), 1, "ticket", "created"): [5, 0],
                (today, 1, "ticket", "created"): [6, 0],
            },
        )
    assert await purge_usage(ctx, now=NOW) == 1
    assert [c for _, _, c in await rows(ctx)] == [5, 6]
    assert await purge_usage(ctx, now=NOW) == 0


async def test_a_stopping_process_writes_what_it_counted(ctx: AppContext) -> None:
    ctx.clock = ManualClock(NOW)
    process = build_process(ctx, Role.CLI)
    await process.start()
    process.meter.ticket_created()
    process.meter.api_call("api_key:ops", 7)
    process.meter.api_call("api_key:ops", 7)
    assert await rows(ctx) == []
    await process.stop()
    assert sorted(await rows(ctx)) == [
        (NOW.date(), "integration_api", 2),
        (NOW.date(), "ticket", 1),
    ]


async def test_metering_off_counts_nothing(ctx: AppContext) -> None:
    off = {"usage": UsageSettings(enabled=False), "metrics": MetricsSettings()}
    ctx.settings = ctx.settings.model_copy(update=off)
    process = build_process(ctx, Role.CLI)
    assert process.answering.meter is None
    assert process.engine.meter is None
    await process.start()
    process.meter.ticket_created()
    await process.stop()
    assert await rows(ctx) == []
