"""The embedded runner: a :class:`~frontdesk.jobs.local.LocalJobQueue` running
``sync_group`` and a dispatcher loop ticking every ``tick_s`` (and at start-up).

``frontdesk serve`` starts one in the app lifespan unless ``--no-worker``
(``FRONTDESK_SYNC__WORKER=false``). ``stop()`` cancels running attempts: their runs go
back to ``queued`` and are picked up at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib

from frontdesk.engagement.sending import ReviewSender
from frontdesk.jobs.local import LocalJobQueue
from frontdesk.jobs.queue import JobQueue
from frontdesk.jobs.tasks import RetryPolicy, Task, TaskRegistry
from frontdesk.logs import get_logger
from frontdesk.server.context import AppContext
from frontdesk.sync.dispatcher import TASK, Dispatcher
from frontdesk.sync.engine import ConnectorBuilder, DecisionHook, SyncEngine

log = get_logger(__name__)


def sync_tasks(engine: SyncEngine) -> TaskRegistry:
    """The task registry of the sync feature (the procrastinate runner registers the same)."""
    settings = engine.settings
    retry = RetryPolicy(
        max_attempts=settings.max_attempts, base_s=settings.retry_base_s, max_s=settings.retry_max_s
    )
    return TaskRegistry([Task(TASK, engine.sync_group, retry)])


class SyncWorker:
    """Dispatcher loop + job queue for one process."""

    def __init__(
        self,
        ctx: AppContext,
        *,
        connectors: ConnectorBuilder | None = None,
        on_decided: DecisionHook | None = None,
        queue: JobQueue | None = None,
        sender: ReviewSender | None = None,
    ) -> None:
        self.ctx = ctx
        self.sender = sender
        if sender is not None and on_decided is None:
            on_decided = sender.on_decided
        self.engine = SyncEngine(ctx, connectors=connectors, on_decided=on_decided)
        tasks = sync_tasks(self.engine)
        for task in sender.tasks() if sender is not None else []:
            tasks.add(task)
        self.queue: JobQueue = queue or LocalJobQueue(
            tasks, concurrency=ctx.settings.jobs.concurrency
        )
        if sender is not None:
            sender.attach(self.queue)
            ctx.extras["review_sender"] = sender
        self.dispatcher = Dispatcher(ctx, self.queue)
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.queue.start()
        await self.dispatcher.startup()
        self._loop = asyncio.create_task(self._run(), name="sync-dispatcher")
        if self.sender is not None:
            self._sweeper = asyncio.create_task(self._sweep(self.sender), name="review-sweeper")

    def kick(self) -> None:
        """Tick now (after a run-now or backfill request)."""
        self._wake.set()

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        await self.queue.stop(drain=False)
        if self.sender is not None:
            await self.sender.aclose()  # its pooled SMTP connections

    async def _run(self) -> None:
        interval = self.ctx.settings.sync.tick_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()
            try:
                await self.dispatcher.tick()
            except Exception as error:  # keep ticking: the next tick starts from the rows
                log.exception("sync.dispatcher.failed", error_type=type(error).__name__)

    async def _sweep(self, sender: ReviewSender) -> None:
        """The review-request sweeper: at start-up, then every ``review.sweep_s``."""
        while True:
            try:
                await sender.sweep()
            except Exception as error:  # keep sweeping: the rows are the truth
                log.exception("review.sweep.failed", error_type=type(error).__name__)
            await asyncio.sleep(self.ctx.settings.review.sweep_s)
