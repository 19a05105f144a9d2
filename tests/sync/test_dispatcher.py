"""The dispatcher: due schedules become exactly one run per group, schedules move on in the
location's zone, expired leases and lost jobs are picked up again."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from frontdesk.clock import ManualClock
from frontdesk.connectors.base import Window
from frontdesk.context import AppContext
from frontdesk.integrations.models import IntegrationMapping
from frontdesk.jobs.queue import AlreadyQueued
from frontdesk.sync import runs
from frontdesk.sync.dispatcher import Dispatcher
from frontdesk.sync.models import SyncRun, SyncRunMapping
from frontdesk.sync.windows import next_run_after, split_range

from .conftest import Practice

DUE = datetime(2025, 3, 5, 11, 0, 30, tzinfo=UTC)  # 06:00:30 in New York


class RecordingQueue:
    """A JobQueue that records deferred jobs (and honours queueing locks)."""

    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []
        self.waiting: set[str] = set()
        self.refused = 0

    async def defer(
        self,
        task: str,
        *,
        args: dict[str, Any],
        lock: str | None = None,
        queueing_lock: str | None = None,
        connection: Any = None,
    ) -> None:
        if queueing_lock in self.waiting:
            self.refused += 1
            raise AlreadyQueued(queueing_lock)
        if queueing_lock:
            self.waiting.add(queueing_lock)
        self.jobs.append({"task": task, "args": args, "lock": lock})

    async def waiting_keys(self, queueing_locks: Collection[str]) -> set[str]:
        return self.waiting.intersection(queueing_locks)

    async def start(self) -> None:
        pass

    async def stop(self, *, drain: bool = True) -> None:
        pass


async def all_runs(ctx: AppContext) -> list[Any]:
    async with ctx.db.reader() as session:
        return list((await session.execute(select(SyncRun.__table__))).all())


async def next_runs(ctx: AppContext) -> dict[int, datetime]:
    async with ctx.db.reader() as session:
        rows = await session.execute(select(IntegrationMapping.id, IntegrationMapping.next_run_at))
        return dict(rows.all())


async def test_due_schedules_become_one_run_per_group(
    ctx: AppContext, practice: Practice, clock: ManualClock
) -> None:
    queue = RecordingQueue()
    dispatcher = Dispatcher(ctx, queue)
    assert (await dispatcher.tick()).created == []  # nothing due yet
    clock.set(DUE)
    report = await dispatcher.tick()
    (run,) = await all_runs(ctx)
    assert report.created == [run.id]
    assert (run.status, run.kind, run.run_day) == ("queued", "scheduled", date(2025, 3, 5))
    assert (run.window_first, run.window_last) == (date(2025, 3, 4), date(2025, 3, 4))
    async with ctx.db.reader() as session:
        covered = set((await session.execute(select(SyncRunMapping.mapping_id))).scalars())
    active = {m for name, m in practice.mappings.items() if name != "Purcellville Clinic"}
    assert covered == active
    assert queue.jobs == [
        {"task": "sync_group", "args": {"run_id": run.id}, "lock": f"group:{practice.group_id}"}
    ]
    moved = await next_runs(ctx)
    for mapping_id in active:  # 06:00 New York the next day
        assert moved[mapping_id] == datetime(2025, 3, 6, 11, 0, tzinfo=UTC)
    # a second tick: the group has a run, nothing is due, nothing is deferred twice
    again = await dispatcher.tick()
    assert (again.created, again.deferred) == ([], [])


async def test_concurrent_ticks_create_one_run(
    ctx: AppContext, practice: Practice, clock: ManualClock
) -> None:
    clock.set(DUE)
    dispatchers = [Dispatcher(ctx, RecordingQueue()) for _ in range(4)]
    reports = await asyncio.gather(*(d.tick() for d in dispatchers))
    assert sum(len(r.created) for r in reports) == 1
    assert len(await all_runs(ctx)) == 1


async def test_the_database_refuses_a_second_active_run(
    ctx: AppContext, practice: Practice, clock: ManualClock
) -> None:
    plan = runs.RunPlan(date(2025, 3, 5), Window.day(date(2025, 3, 4)), ())
    async with ctx.db.transaction() as session:
        first = await runs.try_create_queued(
            session, group_id=practice.group_id, kind="manual", plan=plan, now=clock.now()
        )
        second = await runs.try_create_queued(
            session, group_id=practice.group_id, kind="manual", plan=plan, now=clock.now()
        )
    assert first is not None
    assert second is None
    with pytest.raises(IntegrityError):
        async with ctx.db.transaction() as session:
            session.add(
                SyncRun(
                    group_id=practice.group_id,
                    status="running",
                    kind="manual",
                    run_day=plan.run_day,
                    window_first=plan.window.first,
                    window_last=plan.window.last,
                    attempts=1,
                    available_at=clock.now(),
                    created_at=clock.now(),
                )
            )


async def test_expired_leases_and_lost_jobs_are_picked_up(
    ctx: AppContext, practice: Practice, clock: ManualClock
) -> None:
    clock.set(DUE)
    await Dispatcher(ctx, RecordingQueue()).tick()
    (run,) = await all_runs(ctx)
    async with ctx.db.transaction() as session:
        claim = await runs.claim(session, run_id=run.id, now=clock.now(), lease_s=30)
    assert claim is not None
    assert claim.attempt == 1
    # the worker dies; a new process starts: nothing to do until the lease expires
    restarted = RecordingQueue()
    assert await Dispatcher(ctx, restarted).startup() == []
    clock.advance(timedelta(seconds=31))
    report = await Dispatcher(ctx, restarted).tick()
    assert report.requeued == [run.id]
    assert report.deferred == [run.id]
    async with ctx.db.transaction() as session:  # the dead worker cannot finish any more
        assert not await runs.finish(session, claim_=claim, status="succeeded", now=clock.now())
    # a queued run whose job was lost (memory queue): deferred again at start-up
    fresh = RecordingQueue()
    assert await Dispatcher(ctx, fresh).startup() == [run.id]


async def test_waiting_runs_are_promoted_in_turn(
    ctx: AppContext, practice: Practice, clock: ManualClock
) -> None:
    created = await practice.client.post(
        f"/integration/businessintegrationgroup/id/{practice.group_id}/backfill",
        json={"first": "2025-01-01", "last": "2025-03-31"},
        headers=practice.headers,
    )
    assert created.status_code == 202, created.text
    body = created.json()
    assert [r["status"] for r in body] == ["queued", "waiting"]
    assert [(r["window"]["first"], r["window"]["last"]) for r in body] == [
        ("2025-01-01", "2025-03-03"),
        ("2025-03-04", "2025-03-31"),
    ]
    dispatcher = Dispatcher(ctx, RecordingQueue())
    assert (await dispatcher.tick()).promoted == []
    async with ctx.db.transaction() as session:
        await session.execute(
            update(SyncRun).where(SyncRun.id == body[0]["runId"]).values(status="succeeded")
        )
    report = await dispatcher.tick()
    assert report.promoted == [body[1]["runId"]]
    assert report.deferred == [body[1]["runId"]]


@pytest.mark.parametrize(
    ("previous", "value", "unit", "now", "want"),
    [
        # 06:00 EST the day before DST starts → 06:00 EDT (one hour earlier in UTC)
        ("2025-03-08T11:00Z", 1, "days", "2025-03-08T11:00:30Z", "2025-03-09T10:00Z"),
        # three days down: one run now, the next at the schedule's time
        ("2025-03-01T11:00Z", 1, "days", "2025-03-04T12:00Z", "2025-03-05T11:00Z"),
        ("2025-03-01T11:00Z", 7, "days", "2025-03-01T11:00Z", "2025-03-08T11:00Z"),
        ("2025-03-09T06:00Z", 6, "hours", "2025-03-09T13:00Z", "2025-03-09T18:00Z"),
    ],
    ids=["dst-keeps-wall-clock", "missed-runs-not-replayed", "weekly", "hours"],
)
def test_next_run_after(previous: str, value: int, unit: str, now: str, want: str) -> None:
    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    got = next_run_after(
        parse(previous), value=value, unit=unit, timezone="America/New_York", now=parse(now)
    )
    assert got == parse(want)


def test_backfill_ranges_split_at_the_window_limit() -> None:
    windows = split_range(date(2025, 1, 1), date(2025, 12, 31))
    assert windows[0] == Window(date(2025, 1, 1), date(2025, 3, 3))
    assert windows[-1].last == date(2025, 12, 31)
    assert all(b.first == a.last + timedelta(days=1) for a, b in itertools.pairwise(windows))


async def test_a_run_requested_by_hand_gets_its_job_on_the_next_tick(
    ctx: AppContext, practice: Practice, clock: ManualClock
) -> None:
    # Regression: a run queued outside the dispatcher (run now, backfill) used to wait
    # lease + max backoff (minutes) before a tick offered it a job.
    queue = RecordingQueue()
    dispatcher = Dispatcher(ctx, queue)
    await dispatcher.startup()
    created = await practice.client.post(
        f"/integration/businessintegrationgroup/id/{practice.group_id}/run",
        headers=practice.headers,
    )
    assert created.status_code == 202, created.text
    run_id = created.json()[0]["runId"]
    report = await dispatcher.tick()
    assert report.deferred == [run_id]
    assert [job["args"] for job in queue.jobs] == [{"run_id": run_id}]
    # offered again on the next tick, the waiting job is not doubled (nor even tried)
    assert (await dispatcher.tick()).deferred == []
    assert len(queue.jobs) == 1
    assert queue.refused == 0


@asynccontextmanager
async def locked(ctx: AppContext, table: Any, ids: list[int]) -> AsyncIterator[None]:
    """Hold row locks on ``ids`` in another transaction (another dispatcher mid-tick)."""
    async with ctx.db.transaction() as session:
        await session.execute(select(table.id).where(table.id.in_(ids)).with_for_update())
        yield


async def test_a_tick_skips_due_mappings_another_tick_holds(
    ctx: AppContext, practice: Practice, clock: ManualClock
) -> None:
    if ctx.db.is_sqlite:
        pytest.skip("SQLite's single writer serialises the ticks; there are no row locks")
    clock.set(DUE)
    dispatcher = Dispatcher(ctx, RecordingQueue())
    async with locked(ctx, IntegrationMapping, list(practice.mappings.values())):
        # not waiting for the other transaction, not claiming what it holds
        report = await asyncio.wait_for(dispatcher.tick(), timeout=10)
        assert report.created == []
    assert len((await dispatcher.tick()).created) == 1


async def test_a_tick_skips_expired_runs_another_tick_holds(
    ctx: AppContext, practice: Practice, clock: ManualClock
) -> None:
    if ctx.db.is_sqlite:
        pytest.skip("SQLite's single writer serialises the ticks; there are no row locks")
    clock.set(DUE)
    dispatcher = Dispatcher(ctx, RecordingQueue())
    await dispatcher.tick()
    (run,) = await all_runs(ctx)
    async with ctx.db.transaction() as session:
        assert await runs.claim(session, run_id=run.id, now=clock.now(), lease_s=30)
    clock.advance(timedelta(seconds=31))
    async with locked(ctx, SyncRun, [run.id]):
        report = await asyncio.wait_for(dispatcher.tick(), timeout=10)
        assert report.requeued == []
    assert (await dispatcher.tick()).requeued == [run.id]
