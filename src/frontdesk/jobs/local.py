"""The embedded runner: an in-process asyncio queue with bounded concurrency.

Semantics shared with the procrastinate runner (the contract tests check both):
``lock`` serialises jobs per key, ``queueing_lock`` keeps one waiting job per key, transient
errors retry with backoff up to the task's policy, other errors are logged and dropped (task
bodies record failures in domain state before raising). Nothing here is durable: callers keep
the truth in their own rows and re-defer from them at start-up.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from frontdesk.jobs.queue import AlreadyQueued
from frontdesk.jobs.tasks import TaskRegistry
from frontdesk.logs import get_logger

log = get_logger(__name__)


@dataclass
class _Job:
    task: str
    args: dict[str, Any]
    lock: str | None
    queueing_lock: str | None
    attempt: int = 1


class LocalJobQueue:
    """Runs registered tasks in this process with ``concurrency`` workers."""

    def __init__(
        self, registry: TaskRegistry, *, concurrency: int = 8, rng: random.Random | None = None
    ) -> None:
        self.registry = registry
        self.concurrency = concurrency
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._waiting_keys: set[str] = set()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._workers: list[asyncio.Task[None]] = []
        self._retry_timers: set[asyncio.Task[None]] = set()
        self._rng = rng or random.Random()
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def defer(
        self,
        task: str,
        *,
        args: dict[str, Any],
        lock: str | None = None,
        queueing_lock: str | None = None,
        connection: Any = None,
    ) -> None:
        self.registry.get(task)  # unknown task names fail at the caller, not in a worker
        if queueing_lock is not None:
            if queueing_lock in self._waiting_keys:
                raise AlreadyQueued(queueing_lock)
            self._waiting_keys.add(queueing_lock)
        self._enqueue(_Job(task, dict(args), lock, queueing_lock))

    async def waiting_keys(self, queueing_locks: Collection[str]) -> set[str]:
        return self._waiting_keys.intersection(queueing_locks)

    def _enqueue(self, job: _Job) -> None:
        self._pending += 1
        self._idle.clear()
        self._queue.put_nowait(job)

    async def start(self) -> None:
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._work(), name=f"job-worker-{i}")
                for i in range(self.concurrency)
            ]

    async def join(self) -> None:
        """Wait until no job is waiting, running or due for a retry."""
        await self._idle.wait()

    async def stop(self, *, drain: bool = True) -> None:
        if drain:
            await self.join()
        for timer in self._retry_timers:
            timer.cancel()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, *self._retry_timers, return_exceptions=True)
        self._workers = []

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._run(job)
            finally:
                self._queue.task_done()

    async def _run(self, job: _Job) -> None:
        task = self.registry.get(job.task)
        lock = self._locks[job.lock] if job.lock else None
        if lock is not None:
            await lock.acquire()
        if job.queueing_lock is not None:
            self._waiting_keys.discard(job.queueing_lock)
        retry_in: float | None = None
        try:
            await task.body(**job.args)
        except Exception as exc:
            if task.retry.should_retry(exc, job.attempt):
                retry_in = task.retry.delay(job.attempt, self._rng)
                log.warning(
                    "job.retry",
                    task=job.task,
                    attempt=job.attempt,
                    error_type=type(exc).__name__,
                    retry_in_s=round(retry_in, 2),
                )
            else:
                log.error(
                    "job.failed", task=job.task, attempt=job.attempt, error_type=type(exc).__name__
                )
        finally:
            if lock is not None:
                lock.release()
        if retry_in is not None:
            job.attempt += 1
            timer = asyncio.create_task(self._retry_later(job, retry_in))
            self._retry_timers.add(timer)
            timer.add_done_callback(self._retry_timers.discard)
        else:
            self._done()

    async def _retry_later(self, job: _Job, delay: float) -> None:
        await asyncio.sleep(delay)
        self._pending -= 1  # _enqueue counts it again
        self._enqueue(job)

    def _done(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self._idle.set()
