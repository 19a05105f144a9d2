"""The application's tasks and schedules: the one place features add theirs.

:class:`AppJobs` is what a ``frontdesk worker`` runs: every task below, and the schedule
(periodic jobs, deferred once per tick however many workers run). The embedded runner of
``frontdesk serve`` runs the same task bodies for syncing and sending
(:class:`~frontdesk.sync.worker.SyncWorker`), with in-process loops instead of the schedule.
A feature contributes tasks whose bodies close over the process context and take ids as
keyword arguments; a periodic body also receives ``timestamp`` and must be idempotent and
cheap when there is nothing to do.

- ``sync_group(run_id)``: one attempt at a sync run; deferred by the dispatcher and by API
  nodes (run now, backfill).
- ``sync_dispatch``, every ``sync.tick_s``: a dispatcher tick — expired leases back to queued
  (the stalled-run sweep), waiting runs promoted, due schedules claimed (``FOR UPDATE SKIP
  LOCKED``), a job for every queued run that has none.
- ``send_review_requests(request_ids)``: claim → send → record; deferred by the decision hook
  in the transaction that writes the ledger rows, and by the sweeper.
- ``jobs_sweep``, every ``review.sweep_s``: the jobs of dead workers back to waiting, then
  the review sweeper (``sending`` rows past their lease resolved, due retries deferred).
- ``jobs_prune``, daily at 03:17 UTC: finished jobs older than ``jobs.keep_finished_hours``
  deleted.
- ``retention_purge``, daily at 02:41 UTC: patient data of check-ins past
  ``retention.patient_data_days`` cleared (:mod:`frontdesk.engagement.retention`).
- ``answering_deliver_webhook(delivery_id)``: one ticket webhook delivery (today the API
  nodes' in-process pump sends them).
"""

from __future__ import annotations

from functools import partial

from frontdesk.answering.desk.delivery import TASK_NAME as WEBHOOK_TASK
from frontdesk.answering.desk.delivery import deliver_webhook
from frontdesk.context import AppContext
from frontdesk.engagement import retention
from frontdesk.engagement.sending import ReviewSender
from frontdesk.jobs.periodic import MAINTENANCE_PRIORITY, Periodic, cron_every
from frontdesk.jobs.queue import DurableJobQueue, JobQueue
from frontdesk.jobs.tasks import Task, TaskRegistry
from frontdesk.logs import get_logger
from frontdesk.retry import RetryPolicy
from frontdesk.sync.jobs import SyncJobs

log = get_logger(__name__)

SWEEP_TASK = "jobs_sweep"
PRUNE_TASK = "jobs_prune"
PRUNE_CRON = "17 3 * * *"  # daily, off the hour most other maintenance uses
ONCE = RetryPolicy(max_attempts=1)  # periodic upkeep: the next tick is the retry


class AppJobs:
    """Every task and schedule of one process, and the objects that defer further jobs."""

    def __init__(self, ctx: AppContext, *, sender: ReviewSender, sync: SyncJobs) -> None:
        self.ctx = ctx
        self.sender = sender
        self.sync = sync
        self.queue: JobQueue | None = None

    def registry(self) -> TaskRegistry:
        """Every task this process may run or defer (explicit: no import-time registration)."""
        registry = TaskRegistry()
        for task in self.sync.tasks():
            registry.add(task)
        for task in self.sender.tasks():  # retries are ledger state: one attempt a job
            registry.add(task)
        registry.add(Task(SWEEP_TASK, self.sweep, ONCE))
        registry.add(Task(PRUNE_TASK, self.prune, ONCE))
        registry.add(Task(retention.TASK_NAME, self.purge_patient_data, ONCE))
        # one attempt per job: the delivery row keeps its own backoff and parking
        registry.add(Task(WEBHOOK_TASK, partial(deliver_webhook, self.ctx), ONCE))
        return registry

    def schedule(self) -> list[Periodic]:
        """The periodic jobs (run by procrastinate workers; see the module docstring)."""
        return [
            *self.sync.schedule(),
            Periodic(
                SWEEP_TASK,
                cron_every(self.ctx.settings.review.sweep_s),
                queueing_lock=SWEEP_TASK,
                priority=MAINTENANCE_PRIORITY,
            ),
            Periodic(PRUNE_TASK, PRUNE_CRON, queueing_lock=PRUNE_TASK),
            Periodic(retention.TASK_NAME, retention.PURGE_CRON, queueing_lock=retention.TASK_NAME),
        ]

    def attach(self, queue: JobQueue) -> None:
        """The process's queue (its upkeep is the sweep and prune jobs')."""
        self.queue = queue

    def _durable(self) -> DurableJobQueue | None:
        """The queue when its jobs are rows that need upkeep (procrastinate), else None."""
        queue: object = self.queue  # mypy cannot intersect two protocols
        return queue if isinstance(queue, DurableJobQueue) else None

    async def sweep(self, *, timestamp: int | None = None) -> None:
        """``jobs_sweep``: the jobs of workers silent for ``jobs.stalled_after_s`` back to
        waiting (they still hold their group locks), then the review sweeper."""
        durable = self._durable()
        if durable is not None:
            await durable.requeue_stalled(
                seconds_since_heartbeat=self.ctx.settings.jobs.stalled_after_s
            )
        swept = await self.sender.sweep()
        if any(swept.values()):
            log.info("jobs.swept", **swept)

    async def prune(self, *, timestamp: int | None = None) -> None:
        """``jobs_prune``: delete jobs that ended more than ``jobs.keep_finished_hours`` ago."""
        durable = self._durable()
        if durable is not None:
            await durable.prune_finished(
                older_than_hours=self.ctx.settings.jobs.keep_finished_hours
            )

    async def purge_patient_data(self, *, timestamp: int | None = None) -> None:
        """``retention_purge``: clear patient data past ``retention.patient_data_days``."""
        await retention.purge_patient_data(self.ctx)
