"""The job-queue contract: run, lock, queueing lock, retry only transient errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest

from frontdesk.errors import FatalError, TransientError
from frontdesk.jobs.queue import AlreadyQueued
from frontdesk.jobs.tasks import Task, TaskRegistry
from frontdesk.retry import RetryPolicy

MakeQueue = Callable[[TaskRegistry, int], Any]  # conftest.MakeQueue (tests are no package)
FAST = RetryPolicy(max_attempts=3, base_s=0.01, max_s=0.02)


async def test_runs_deferred_jobs_with_their_args(make_queue: MakeQueue) -> None:
    seen: list[int] = []

    async def body(*, run_id: int) -> None:
        seen.append(run_id)

    queue = make_queue(TaskRegistry([Task("sync_group", body)]), 4)
    await queue.start()
    for i in range(10):
        await queue.defer("sync_group", args={"run_id": i})
    await queue.stop()
    assert sorted(seen) == list(range(10))


async def test_unknown_task_fails_at_defer(make_queue: MakeQueue) -> None:
    queue = make_queue(TaskRegistry(), 1)
    with pytest.raises(KeyError, match="nope"):
        await queue.defer("nope", args={})


async def test_same_lock_never_runs_concurrently_other_locks_do(make_queue: MakeQueue) -> None:
    running: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}
    overall_peak = 0

    async def body(*, key: str) -> None:
        nonlocal overall_peak
        running[key] += 1
        peak[key] = max(peak[key], running[key])
        overall_peak = max(overall_peak, sum(running.values()))
        await asyncio.sleep(0.01)
        running[key] -= 1

    queue = make_queue(TaskRegistry([Task("t", body)]), 4)
    await queue.start()
    for _ in range(4):
        for key in ("a", "b"):
            await queue.defer("t", args={"key": key}, lock=f"group:{key}")
    await queue.stop()
    assert peak == {"a": 1, "b": 1}
    assert overall_peak == 2


async def test_queueing_lock_keeps_one_waiting_job_per_key(make_queue: MakeQueue) -> None:
    ran: list[str] = []

    async def body(*, key: str) -> None:
        ran.append(key)

    queue = make_queue(TaskRegistry([Task("t", body)]), 1)
    await queue.defer("t", args={"key": "first"}, queueing_lock="group:1")
    with pytest.raises(AlreadyQueued):
        await queue.defer("t", args={"key": "second"}, queueing_lock="group:1")
    await queue.defer("t", args={"key": "other"}, queueing_lock="group:2")
    await queue.start()
    await queue.stop()
    assert sorted(ran) == ["first", "other"]
    # once the waiting job has started, the key is free again
    queue2 = make_queue(TaskRegistry([Task("t", body)]), 1)
    await queue2.start()
    await queue2.defer("t", args={"key": "again"}, queueing_lock="group:1")
    await queue2.stop()
    assert ran[-1] == "again"


async def test_transient_errors_retry_until_success(make_queue: MakeQueue) -> None:
    attempts = 0

    async def flaky() -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise TransientError("timeout talking to the EHR")

    queue = make_queue(TaskRegistry([Task("flaky", flaky, FAST)]), 2)
    await queue.start()
    await queue.defer("flaky", args={})
    await queue.stop()
    assert attempts == 3


async def test_retries_stop_at_the_policy_limit(make_queue: MakeQueue) -> None:
    attempts = 0

    async def always() -> None:
        nonlocal attempts
        attempts += 1
        raise TransientError("still down")

    queue = make_queue(TaskRegistry([Task("always", always, FAST)]), 2)
    await queue.start()
    await queue.defer("always", args={})
    await queue.stop()
    assert attempts == FAST.max_attempts


async def test_a_job_waiting_for_its_retry_does_not_hold_its_queueing_lock(
    make_queue: MakeQueue,
) -> None:
    runs: list[str] = []
    first_running = asyncio.Event()
    fail_now = asyncio.Event()

    async def body(*, key: str) -> None:
        runs.append(key)
        if runs == ["first"]:
            first_running.set()
            await fail_now.wait()
            raise TransientError("EHR timeout")

    queue = make_queue(TaskRegistry([Task("t", body, FAST)]), 2)
    await queue.start()
    await queue.defer("t", args={"key": "first"}, lock="group:1", queueing_lock="run:1")
    await asyncio.wait_for(first_running.wait(), timeout=10)
    # the first job is running, not waiting: the key takes a new job
    await queue.defer("t", args={"key": "second"}, lock="group:1", queueing_lock="run:1")
    fail_now.set()  # the first goes back to wait for its retry beside the second
    await queue.stop()
    assert sorted(runs) == ["first", "first", "second"]


@pytest.mark.parametrize("error", [FatalError("bug"), ValueError("bug")], ids=["fatal", "other"])
async def test_non_transient_errors_are_not_retried(
    make_queue: MakeQueue, error: Exception
) -> None:
    attempts = 0

    async def broken() -> None:
        nonlocal attempts
        attempts += 1
        raise error

    queue = make_queue(TaskRegistry([Task("broken", broken, FAST)]), 1)
    await queue.start()
    await queue.defer("broken", args={})
    await queue.stop()
    assert attempts == 1


async def test_concurrency_is_bounded(make_queue: MakeQueue) -> None:
    running = peak = 0
    full = asyncio.Event()

    async def body() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running >= 3:
            full.set()
        # The first jobs hold their slots until three run at once (a loaded machine could
        # otherwise finish each 10 ms job before the runner fetched the next one).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(full.wait(), timeout=10)
        await asyncio.sleep(0.01)
        running -= 1

    queue = make_queue(TaskRegistry([Task("t", body)]), 3)
    await queue.start()
    for _ in range(12):
        await queue.defer("t", args={})
    await queue.stop()
    assert peak == 3


def test_backoff_grows_and_is_capped() -> None:
    import random

    policy = RetryPolicy(base_s=1, max_s=10)
    rng = random.Random(7)
    assert 0.5 <= policy.delay(1, rng) <= 1
    assert 4 <= policy.delay(4, rng) <= 8
    assert 5 <= policy.delay(20, rng) <= 10


async def test_waiting_keys_are_the_queueing_locks_of_waiting_jobs(make_queue: MakeQueue) -> None:
    running = asyncio.Event()
    release = asyncio.Event()

    async def body(*, key: str) -> None:
        if key == "first":
            running.set()
            await release.wait()

    queue = make_queue(TaskRegistry([Task("t", body)]), 1)
    assert await queue.waiting_keys([]) == set()
    await queue.defer("t", args={"key": "first"}, queueing_lock="run:1")
    await queue.defer("t", args={"key": "second"}, queueing_lock="run:2")
    assert await queue.waiting_keys(["run:1", "run:2", "run:3"]) == {"run:1", "run:2"}
    await queue.start()
    await asyncio.wait_for(running.wait(), timeout=10)
    # a running job no longer waits: its key takes a new job (see the queueing-lock test)
    assert await queue.waiting_keys(["run:1", "run:2"]) == {"run:2"}
    release.set()
    await queue.stop()
    assert await queue.waiting_keys(["run:1", "run:2"]) == set()
