"""What a ``frontdesk worker`` runs: the application's tasks, its schedule, the upkeep tasks."""

from __future__ import annotations

import itertools
from typing import Any

import croniter
import pytest

from frontdesk.composition import Role, build_process
from frontdesk.context import AppContext
from frontdesk.errors import ConfigurationError
from frontdesk.jobs.local import LocalJobQueue
from frontdesk.jobs.periodic import MAINTENANCE_PRIORITY, cron_every
from frontdesk.settings import JobsSettings, ReviewSettings, SyncSettings


@pytest.mark.parametrize(
    ("seconds", "cron", "gaps"),
    [
        (1, "* * * * * */1", {1}),
        (0.4, "* * * * * */1", {1}),  # at least a second
        (30, "* * * * * */30", {30}),
        (7, "* * * * * */7", {7, 4}),  # 56 → 0: a shorter last interval
        (60, "*/1 * * * *", {60}),
        (300, "*/5 * * * *", {300}),
        (3600, "0 */1 * * *", {3600}),
        (6 * 3600, "0 */6 * * *", {6 * 3600}),
        (2 * 86400, "0 0 * * *", {86400}),
    ],
    ids=["1s", "sub-second", "30s", "7s", "1min", "5min", "1h", "6h", "2d"],
)
def test_cron_every(seconds: float, cron: str, gaps: set[int]) -> None:
    assert cron_every(seconds) == cron
    ticks = croniter.croniter(cron, 0)
    times = [int(ticks.get_next(float)) for _ in range(30)]
    assert {b - a for a, b in itertools.pairwise(times)} <= gaps


def test_cron_every_refuses_no_period() -> None:
    with pytest.raises(ConfigurationError):
        cron_every(0)


class DurableQueue(LocalJobQueue):
    """The embedded queue plus the upkeep calls of a durable one, recorded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, float]] = []

    async def requeue_stalled(self, *, seconds_since_heartbeat: float) -> list[int]:
        self.calls.append(("requeue_stalled", seconds_since_heartbeat))
        return []

    async def prune_finished(self, *, older_than_hours: int) -> None:
        self.calls.append(("prune_finished", older_than_hours))


@pytest.fixture
def tuned(ctx: AppContext) -> AppContext:
    ctx.settings = ctx.settings.model_copy(
        update={
            "sync": SyncSettings(tick_s=15),
            "review": ReviewSettings(sweep_s=5),
            "jobs": JobsSettings(stalled_after_s=42, keep_finished_hours=24),
        }
    )
    return ctx


def test_a_worker_runs_every_task_and_the_schedule(tuned: AppContext) -> None:
    worker = build_process(tuned, Role.WORKER)
    names = {task.name for task in worker.tasks}
    assert names == {
        "sync_group",
        "sync_dispatch",
        "send_review_requests",
        "jobs_sweep",
        "jobs_prune",
        "retention_purge",
        "answering_deliver_webhook",
    }
    assert {task.name for task in worker.jobs.registry()} == names
    schedule = {p.task: p for p in worker.schedule}
    assert {name: p.cron for name, p in schedule.items()} == {
        "sync_dispatch": "* * * * * */15",
        "jobs_sweep": "* * * * * */5",
        "jobs_prune": "17 3 * * *",
        "retention_purge": "41 2 * * *",
    }
    # at most one tick of each waits; the dispatcher and sweeper jump a backlog of syncs
    assert all(p.queueing_lock == p.task for p in schedule.values())
    assert schedule["sync_dispatch"].priority == MAINTENANCE_PRIORITY
    assert schedule["jobs_sweep"].priority == MAINTENANCE_PRIORITY
    # only workers run the schedule (the embedded runner ticks in loops instead)
    for role in (Role.SERVER, Role.API, Role.CLI):
        assert build_process(tuned, role).schedule == []


async def test_upkeep_uses_the_durable_queue_and_the_review_sweeper(tuned: AppContext) -> None:
    process = build_process(tuned, Role.SERVER)
    jobs = process.jobs
    # the objects that defer jobs all defer into the process's queue
    assert process.queue is not None
    assert jobs.queue is process.queue
    assert jobs.sender.queue is process.queue  # send jobs go to the process's queue
    assert jobs.sync.dispatcher.queue is process.queue  # and sync jobs
    queue = DurableQueue(process.tasks)
    jobs.attach(queue)
    swept: list[bool] = []

    async def sweep(**_: Any) -> dict[str, int]:
        swept.append(True)
        return {"deferred": 0}

    jobs.sender.sweep = sweep  # type: ignore[method-assign]
    await jobs.sweep(timestamp=1)
    await jobs.prune(timestamp=2)
    assert queue.calls == [("requeue_stalled", 42), ("prune_finished", 24)]
    assert swept == [True]
    await jobs.sync.dispatch(timestamp=3)  # a tick with nothing to do is harmless
    await process.stop()


async def test_upkeep_of_the_embedded_queue_is_nothing(tuned: AppContext) -> None:
    process = build_process(tuned, Role.SERVER)
    assert isinstance(process.queue, LocalJobQueue)
    await process.jobs.sweep(timestamp=1)
    await process.jobs.prune(timestamp=1)
    await process.stop()
