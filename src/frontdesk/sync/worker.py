"""The sync feature inside ``frontdesk serve``, for either job backend.

Embedded runner (``FRONTDESK_JOBS__BACKEND=local``): a
:class:`~frontdesk.jobs.local.LocalJobQueue` running ``sync_group`` and the review sender's
task, a dispatcher loop ticking every ``sync.tick_s`` (at start-up, and at once when kicked)
and the review sweeper every ``review.sweep_s``. ``--no-worker``
(``FRONTDESK_SYNC__WORKER=false``) leaves all of it out. ``stop()`` cancels running
attempts: their runs go back to ``queued`` and are picked up at the next start.

API node (``procrastinate``): nothing runs here and nothing ticks — ``frontdesk worker``
processes run the jobs, the periodic dispatcher and the sweeper, and a dispatcher in this
process would only compete with them. The queue (from the same factory) only defers:
:meth:`SyncWorker.kick` gives the runs just queued by run-now or a backfill their jobs at
once instead of at the next periodic tick, and the review sender (an operator's requeue)
defers its send jobs into procrastinate.
"""

from __future__ import annotations

import asyncio
import contextlib

from frontdesk.context import AppContext
from frontdesk.engagement.sending import ReviewSender
from frontdesk.jobs.queue import JobQueue
from frontdesk.logs import get_logger
from frontdesk.sync.dispatcher import Dispatcher

log = get_logger(__name__)


class SyncWorker:
    """Dispatcher loop + job queue for one process (or, on procrastinate, deferring only).

    Built by the composition root (:mod:`frontdesk.composition`) from parts it built: the
    queue (whose registry holds the sync and send tasks), the dispatcher deferring into it
    and the review sender (its sweeper runs here on the embedded runner).
    """

    def __init__(
        self,
        ctx: AppContext,
        *,
        queue: JobQueue,
        dispatcher: Dispatcher,
        sender: ReviewSender,
    ) -> None:
        self.ctx = ctx
        self.sender = sender
        self.queue = queue
        self.dispatcher = dispatcher
        self.runs_jobs = ctx.settings.jobs.backend == "local"
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._offers: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if not self.runs_jobs:
            log.info("sync.worker.deferring_only", backend=self.ctx.settings.jobs.backend)
            return
        await self.queue.start()
        await self.dispatcher.startup()
        self._loop = asyncio.create_task(self._run(), name="sync-dispatcher")
        self._sweeper = asyncio.create_task(self._sweep(self.sender), name="review-sweeper")

    def kick(self) -> None:
        """Runs were just queued (run now, backfill): tick now, or on procrastinate offer
        them their jobs now."""
        if self.runs_jobs:
            self._wake.set()
            return
        offer = asyncio.create_task(self._offer(), name="sync-offer")
        self._offers.add(offer)
        offer.add_done_callback(self._offers.discard)

    async def stop(self) -> None:
        for task in (self._sweeper, self._loop):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._sweeper = self._loop = None
        await asyncio.gather(*self._offers, return_exceptions=True)
        await self.queue.stop(drain=False)

    async def _offer(self) -> None:
        try:
            await self.dispatcher.offer_queued()
        except Exception as error:  # the next periodic tick offers them again
            log.exception("sync.offer.failed", error_type=type(error).__name__)

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
