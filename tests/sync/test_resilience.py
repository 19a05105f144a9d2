"""A restart during a run resumes without a second decision; 10 % sandbox 5xx and timeouts
give the same decisions as a clean run; rejected credentials stop the group."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.clock import ManualClock
from frontdesk.composition import Role, running
from frontdesk.context import AppContext
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.settings import SyncSettings
from frontdesk.sync.dispatcher import Dispatcher
from frontdesk.sync.engine import SyncEngine
from frontdesk.sync.foreground import run_to_end
from frontdesk.sync.models import SyncRun
from frontdesk.sync.worker import SyncWorker

from .conftest import (
    DAY,
    SERVICE_USER,
    SERVICE_USERNAME,
    Loopback,
    Practice,
    fast_connectors,
    foreground,
    unity_settings,
)
from .test_decisions import all_checkins, decisions, expected
from .test_dispatcher import RecordingQueue

ON = DAY + timedelta(days=1)


def small_batches(ctx: AppContext, **changes: Any) -> None:
    values = {"batch_size": 10, **changes}
    ctx.settings = ctx.settings.model_copy(
        update={"sync": ctx.settings.sync.model_copy(update=values)}
    )


async def run_row(ctx: AppContext, run_id: int) -> Any:
    async with ctx.db.reader() as session:
        return (await session.execute(select(SyncRun.__table__).where(SyncRun.id == run_id))).one()


async def interrupt_after(engine: SyncEngine, run_id: int, fetched: int) -> None:
    """Start an attempt and cancel it once ``fetched`` rows went through."""
    reached = asyncio.Event()

    def progress(seen: int, _decided: int) -> None:
        if seen >= fetched:
            reached.set()

    task = asyncio.create_task(engine.attempt(run_id, progress=progress))
    await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("crash", [False, True], ids=["graceful-stop", "crash"])
async def test_restart_during_a_run_resumes_without_second_decisions(
    ctx: AppContext,
    practice: Practice,
    unity: Loopback,
    clock: ManualClock,
    crash: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small_batches(ctx)
    engine = foreground(ctx)
    (run,) = await practice.run_now(ON)
    if crash:  # the process dies: nothing puts the run back, its lease must expire
        monkeypatch.setattr(engine, "_release", _no_release)
    await interrupt_after(engine, run["runId"], 60)
    partial = await decisions(ctx)
    assert 0 < len(partial) < 150
    row = await run_row(ctx, run["runId"])
    if crash:
        assert row.status == "running"
        clock.advance(timedelta(seconds=ctx.settings.sync.lease_s + 1))
        report = await Dispatcher(ctx, RecordingQueue()).tick()
        assert report.requeued == [run["runId"]]
    else:
        assert (row.status, row.error_code) == ("queued", "interrupted")
    restarted = foreground(ctx)
    outcome = await restarted.attempt(run["runId"])
    assert outcome is not None
    assert outcome.status == "succeeded"
    final = await decisions(ctx)
    assert final == expected(unity.sandbox, [DAY])
    assert {k: final[k] for k in partial} == partial  # nothing decided twice or changed
    assert len(await all_checkins(ctx)) == 150
    row = await run_row(ctx, run["runId"])
    assert row.attempts == 2
    assert row.counts["already_decided"] == len(partial)
    assert row.counts["eligible"] + sum(row.counts["restricted"].values()) == 150


async def _no_release(_claim: Any) -> None:
    return None


async def test_faults_give_the_same_decisions_as_a_clean_run(
    ctx: AppContext, practice: Practice, unity: Loopback, clock: ManualClock
) -> None:
    small_batches(ctx, max_attempts=50)
    unity.sandbox.update_knobs(
        error_rate=0.1,
        error_statuses=[500, 502, 503],
        timeout_rate=0.1,
        timeout_seconds=1.0,
        fault_seed=3,
    )
    settings = ctx.settings.model_copy(update={"unity": unity_settings(unity.url, timeout_s=0.2)})
    engine = foreground(ctx, settings)
    for run in await practice.run_now(ON):
        final = await run_to_end(ctx, engine, run["runId"], poll_s=0.01)
        assert final.status == "succeeded", (final.error_code, final.error_message)
    assert await decisions(ctx) == expected(unity.sandbox, [DAY])
    assert len(await all_checkins(ctx)) == 150
    faults = unity.sandbox.server_log.latest(
        SERVICE_USER + SERVICE_USERNAME, limit=1000, errors_only=True
    )
    injected = [f.message for f in faults if "sandbox" in f.message]
    assert any("HTTP 5" in m and "504" not in m for m in injected)
    assert any("HTTP 504" in m for m in injected)  # the timeouts


async def test_rejected_credentials_mark_the_group_unauthorized(
    ctx: AppContext, practice: Practice, unity: Loopback, clock: ManualClock
) -> None:
    unity.sandbox.expire_password("frontdesk")
    engine = foreground(ctx)
    (run,) = await practice.run_now(ON)
    outcome = await engine.attempt(run["runId"])
    assert outcome is not None
    assert outcome.status == "failed"
    row = await run_row(ctx, run["runId"])
    assert row.error_code == "unauthorized"
    async with ctx.db.reader() as session:
        group = await session.get(IntegrationGroup, practice.group_id)
        assert group is not None
        assert group.status == "unauthorized"
        assert (group.status_reason or "").startswith("pm_password_expired")
    r = await practice.client.post(
        f"/integration/businessintegrationgroup/id/{practice.group_id}/run",
        json={},
        headers=practice.headers,
    )
    assert r.status_code == 409  # stopped until re-authorised


async def test_the_embedded_worker_runs_due_schedules(
    ctx: AppContext, practice: Practice, unity: Loopback, clock: ManualClock
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"sync": SyncSettings(tick_s=0.05)})
    async with running(ctx, Role.SERVER, connectors=fast_connectors()) as server:
        assert isinstance(server.runner, SyncWorker)
        assert server.runner.runs_jobs
        clock.set(clock.now().replace(day=5, hour=11, minute=1))  # 06:01 New York on the 5th
        server.runs_queued()  # tick now rather than in tick_s
        for _ in range(500):
            rows = await _runs(ctx)
            if rows and rows[0].status == "succeeded":
                break
            await asyncio.sleep(0.02)
    (row,) = await _runs(ctx)
    assert (row.status, row.kind, row.window_first) == ("succeeded", "scheduled", ON)
    assert await decisions(ctx) == expected(unity.sandbox, [ON])


async def _runs(ctx: AppContext) -> list[Any]:
    async with ctx.db.reader() as session:
        return list((await session.execute(select(SyncRun.__table__))).all())
