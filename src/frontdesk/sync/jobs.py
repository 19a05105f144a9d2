"""The sync feature's jobs: the same task bodies in both runners.

- ``sync_group(run_id)``: one attempt at one run (:meth:`SyncEngine.sync_group`), retried on
  transient errors with the ``sync`` settings' policy. The engine's decision hook (the review
  sender's ``on_decided``) writes ledger rows and defers their send job in the same
  transaction.
- ``sync_dispatch(timestamp)``: one dispatcher tick (:class:`Dispatcher`: expired leases,
  waiting runs, due schedules, jobs for queued runs). On procrastinate it is a periodic job
  every ``sync.tick_s``, run by whichever worker is free; the embedded runner of ``frontdesk
  serve`` ticks in a loop instead (:class:`~frontdesk.sync.worker.SyncWorker`).
"""

from __future__ import annotations

from frontdesk.context import AppContext
from frontdesk.jobs.periodic import MAINTENANCE_PRIORITY, Periodic, cron_every
from frontdesk.jobs.tasks import Task
from frontdesk.retry import RetryPolicy
from frontdesk.sync.dispatcher import TASK, Dispatcher
from frontdesk.sync.engine import SyncEngine

DISPATCH_TASK = "sync_dispatch"


class SyncJobs:
    """The sync engine and dispatcher of one process, as tasks and a schedule."""

    def __init__(self, ctx: AppContext, *, engine: SyncEngine) -> None:
        self.ctx = ctx
        self.engine = engine
        self._dispatcher: Dispatcher | None = None

    def tasks(self) -> list[Task]:
        """``sync_group`` and ``sync_dispatch``."""
        settings = self.ctx.settings.sync
        retry = RetryPolicy(
            max_attempts=settings.max_attempts,
            base_s=settings.retry_base_s,
            max_s=settings.retry_max_s,
        )
        return [
            Task(TASK, self.engine.sync_group, retry),
            # A failed tick is not retried: the next one starts from the rows again.
            Task(DISPATCH_TASK, self.dispatch, RetryPolicy(max_attempts=1)),
        ]

    def schedule(self) -> list[Periodic]:
        """The dispatcher every ``sync.tick_s`` (at most one tick waiting at a time)."""
        return [
            Periodic(
                DISPATCH_TASK,
                cron_every(self.ctx.settings.sync.tick_s),
                queueing_lock=DISPATCH_TASK,
                priority=MAINTENANCE_PRIORITY,
            )
        ]

    def attach(self, dispatcher: Dispatcher) -> None:
        """The dispatcher whose tick ``sync_dispatch`` runs (it defers into the queue)."""
        self._dispatcher = dispatcher

    @property
    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            raise RuntimeError("SyncJobs.attach(dispatcher) first (the composition root does)")
        return self._dispatcher

    async def dispatch(self, *, timestamp: int | None = None) -> None:
        """The ``sync_dispatch`` task body: one tick (``timestamp``: the schedule's tick)."""
        await self.dispatcher.tick()
