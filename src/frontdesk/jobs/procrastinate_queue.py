"""The PostgreSQL runner: procrastinate behind the :class:`~frontdesk.jobs.queue.JobQueue` seam.

Jobs are rows in procrastinate's tables (applied by our Alembic migration 0007), so they
survive restarts and any number of ``frontdesk worker`` processes on any number of machines
share them. Semantics are the embedded runner's (the contract tests run against both):

- every task of the :class:`~frontdesk.jobs.tasks.TaskRegistry` is registered as
  ``frontdesk.<name>``; its body is the plain ``async def`` the embedded runner calls, with
  the job's JSON arguments as keywords;
- ``lock`` and ``queueing_lock`` are procrastinate's; a second waiting job under a queueing
  lock raises our :class:`~frontdesk.jobs.queue.AlreadyQueued`;
- retries follow the task's :class:`~frontdesk.jobs.tasks.RetryPolicy` (transient errors
  only, same attempt count, same jittered exponential backoff); a job waiting for its retry
  no longer holds its queueing lock (as in the embedded runner), which also avoids
  procrastinate's unique-index clash when a newer job with that key is already waiting;
- ``defer(..., connection=...)`` inserts the job inside the caller's transaction (an
  ``AsyncSession``/``AsyncConnection`` of ours, or a psycopg ``AsyncConnection``) under a
  savepoint: the job exists if and only if the caller commits, and a refused queueing lock
  leaves the caller's transaction usable;
- every worker sends a heartbeat every ``heartbeat_s``; the jobs of a worker silent for
  ``stalled_after_s`` (``kill -9``, a lost machine) still hold their locks, so a periodic
  sweeper puts them back to waiting with :meth:`ProcrastinateJobQueue.requeue_stalled`
  (task bodies are fenced by our rows, so a job run again after a false alarm is harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Collection, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import psycopg
from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate import exceptions as pq_exceptions
from procrastinate import jobs as pq_jobs
from procrastinate import manager as pq_manager
from procrastinate.app import WorkerOptions
from procrastinate.retry import RetryDecision
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from frontdesk.jobs.periodic import Periodic
from frontdesk.jobs.queue import AlreadyQueued
from frontdesk.jobs.tasks import Task, TaskBody, TaskRegistry
from frontdesk.logs import get_logger
from frontdesk.retry import RetryPolicy

log = get_logger(__name__)

TASK_PREFIX = "frontdesk."
FETCH_POLLING_INTERVAL_S = 1.0  # also the delay before a job freed by its lock is picked up

_RELEASE_QUEUEING_LOCK = "UPDATE procrastinate_jobs SET queueing_lock = NULL WHERE id = %(job_id)s"
_WAITING_KEYS = (
    "SELECT queueing_lock FROM procrastinate_jobs"
    " WHERE status = 'todo' AND queueing_lock = ANY(%(keys)s)"
)
_UNFINISHED_JOBS = (
    "SELECT count(*) AS n FROM procrastinate_jobs"
    " WHERE status IN ('todo', 'doing') AND task_name = ANY(%(names)s)"
)


def procrastinate_task_name(task: str) -> str:
    """The stable name a frontdesk task has in procrastinate's tables."""
    return TASK_PREFIX + task


def libpq_url(url: str) -> str:
    """Our SQLAlchemy URL (``postgresql+psycopg://``) as a libpq connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PolicyRetryStrategy(RetryStrategy):
    """procrastinate's retry strategy driven by a :class:`RetryPolicy`.

    ``retry_exceptions`` and ``max_attempts`` (retries, not runs) mirror the policy for
    procrastinate's tooling; the decision itself is the policy's, so both runners retry the
    same errors the same number of times with the same backoff.
    """

    def __init__(self, policy: RetryPolicy, rng: random.Random | None = None) -> None:
        super().__init__(
            max_attempts=max(policy.max_attempts - 1, 0),
            retry_exceptions=cast(tuple[type[Exception], ...], policy.retry_on),
        )
        self.policy = policy
        self.rng = rng or random.Random()

    def get_retry_decision(
        self, *, exception: BaseException, job: pq_jobs.Job
    ) -> RetryDecision | None:
        attempt = job.attempts + 1  # procrastinate counts previous runs; ours are 1-based
        if not self.policy.should_retry(exception, attempt):
            return None
        delay = self.policy.delay(attempt, self.rng)
        log.warning(
            "job.retry",
            task=job.task_name,
            job_id=job.id,
            attempt=attempt,
            error_type=type(exception).__name__,
            retry_in_s=round(delay, 2),
        )
        return RetryDecision(retry_at=datetime.now(UTC) + timedelta(seconds=delay))


class _JobManager(pq_manager.JobManager):
    """Frees a job's queueing lock when it goes back to waiting for a retry.

    procrastinate keeps the queueing lock on a retried job; if a newer job with the same key
    was deferred while the first one ran, putting the first back to ``todo`` violates the
    unique index and the worker fails to record the outcome. The embedded runner never
    counts retries as "waiting" jobs, so we do the same here.
    """

    async def retry_job(
        self,
        job: pq_jobs.Job,
        retry_at: Any = None,
        priority: int | None = None,
        queue: str | None = None,
        lock: str | None = None,
    ) -> None:
        if job.queueing_lock is not None:
            await self.connector.execute_query_async(query=_RELEASE_QUEUEING_LOCK, job_id=job.id)
        await super().retry_job(job, retry_at=retry_at, priority=priority, queue=queue, lock=lock)


def _job_function(body: TaskBody) -> Any:
    # procrastinate tells async from sync tasks with iscoroutinefunction; a task body may be
    # any awaitable-returning callable (a partial, a bound method), so wrap it.
    async def run(**kwargs: Any) -> None:
        await body(**kwargs)

    return run


class ProcrastinateJobQueue:
    """Defers to and (once started) works on procrastinate's job tables in PostgreSQL.

    An API node only defers (the pool opens on first use); a worker calls :meth:`start` or
    :meth:`run_until` as well. ``periodic`` schedules registered tasks (see
    :mod:`frontdesk.jobs.periodic`); the schedules are run by whichever worker is up.
    """

    def __init__(
        self,
        registry: TaskRegistry,
        *,
        url: str,
        concurrency: int = 8,
        periodic: Iterable[Periodic] = (),
        fetch_polling_interval_s: float = FETCH_POLLING_INTERVAL_S,
        shutdown_graceful_timeout_s: float | None = None,
        heartbeat_s: float = 10.0,
        stalled_after_s: float = 30.0,
        pool_max_size: int = 4,
        worker_name: str = "frontdesk",
        rng: random.Random | None = None,
    ) -> None:
        self.registry = registry
        self.concurrency = concurrency
        self.fetch_polling_interval_s = fetch_polling_interval_s
        self.shutdown_graceful_timeout_s = shutdown_graceful_timeout_s
        self.heartbeat_s = heartbeat_s
        self.stalled_after_s = stalled_after_s
        self.worker_name = worker_name
        connector = PsycopgConnector(conninfo=libpq_url(url), min_size=1, max_size=pool_max_size)
        self.app = App(connector=connector)
        self.app.job_manager = _JobManager(connector)
        self._rng = rng or random.Random()
        for task in registry:
            self._register(task)
        for schedule in periodic:
            self._register_periodic(schedule)
        self._open = False
        self._worker: asyncio.Task[None] | None = None

    def _register(self, task: Task) -> None:
        self.app.task(
            name=procrastinate_task_name(task.name),
            retry=PolicyRetryStrategy(task.retry, self._rng),
        )(_job_function(task.body))

    def _register_periodic(self, schedule: Periodic) -> None:
        task = self.registry.get(schedule.task)  # unknown names fail at start-up
        self.app.periodic(
            cron=schedule.cron,
            periodic_id=schedule.periodic_id,
            task_kwargs=dict(schedule.args),
            lock=schedule.lock,
            queueing_lock=schedule.queueing_lock,
            priority=schedule.priority,
        )(self.app.tasks[procrastinate_task_name(task.name)])

    @property
    def task_names(self) -> list[str]:
        return [procrastinate_task_name(task.name) for task in self.registry]

    async def open(self) -> None:
        """Open the connection pool (``defer`` does it on first use)."""
        if not self._open:
            await self.app.open_async()
            self._open = True

    async def close(self) -> None:
        if self._open:
            await self.app.close_async()
            self._open = False

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
        await self.open()
        async with _in_transaction_of(connection) as driver_connection:
            deferrer = self.app.configure_task(
                procrastinate_task_name(task),
                allow_unknown=False,
                lock=lock,
                queueing_lock=queueing_lock,
                connection=driver_connection,
            )
            try:
                job_id = await deferrer.defer_async(**args)
            except pq_exceptions.AlreadyEnqueued:
                raise AlreadyQueued(queueing_lock) from None
        log.debug("job.deferred", task=task, job_id=job_id, in_transaction=connection is not None)

    async def start(self) -> None:
        """Start a worker in this process (signals are the caller's business)."""
        if self._worker is None:
            await self.open()
            options: WorkerOptions = {
                "concurrency": self.concurrency,
                "name": self.worker_name,
                "fetch_job_polling_interval": self.fetch_polling_interval_s,
                "install_signal_handlers": False,
                "update_heartbeat_interval": self.heartbeat_s,
                "stalled_worker_timeout": self.stalled_after_s,
            }
            if self.shutdown_graceful_timeout_s is not None:
                options["shutdown_graceful_timeout"] = self.shutdown_graceful_timeout_s
            self._worker = asyncio.create_task(
                self.app.run_worker_async(**options), name="procrastinate-worker"
            )

    async def waiting_keys(self, queueing_locks: Collection[str]) -> set[str]:
        if not queueing_locks:
            return set()
        await self.open()
        rows = await self.app.connector.execute_query_all_async(
            query=_WAITING_KEYS, keys=list(queueing_locks)
        )
        return {row["queueing_lock"] for row in rows}

    async def join(self, *, poll_s: float = 0.05) -> None:
        """Wait until no frontdesk job is waiting, running or due for a retry (any worker)."""
        while await self._unfinished_jobs():
            if self._worker is not None and self._worker.done():
                self._worker.result()  # a crashed worker raises here
                raise RuntimeError("the worker stopped while jobs were still waiting")
            await asyncio.sleep(poll_s)

    async def _unfinished_jobs(self) -> int:
        await self.open()
        row = await self.app.connector.execute_query_one_async(
            query=_UNFINISHED_JOBS, names=self.task_names
        )
        return int(row["n"])

    async def requeue_stalled(self, *, seconds_since_heartbeat: float | None = None) -> list[int]:
        """Put back to waiting the jobs of workers that stopped sending heartbeats (kill -9,
        lost machine) for ``seconds_since_heartbeat`` (default ``stalled_after_s``); returns
        their ids. For a periodic sweeper; two sweepers at once requeue each job once."""
        await self.open()
        stalled = await self.app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=seconds_since_heartbeat or self.stalled_after_s
        )
        names = set(self.task_names)
        requeued: list[int] = []
        for job in stalled:
            if job.task_name not in names or job.id is None:
                continue
            try:
                await self.app.job_manager.retry_job(job)  # frees its queueing lock, see above
            except pq_exceptions.ConnectorException:
                continue  # no longer ``doing``: another sweeper (or its worker) got there first
            requeued.append(job.id)
        if requeued:
            log.warning("job.requeued_stalled", job_ids=requeued)
        return requeued

    async def prune_finished(self, *, older_than_hours: int) -> None:
        """Delete jobs that ended (succeeded, failed, aborted) more than that long ago."""
        await self.open()
        await self.app.job_manager.delete_old_jobs(
            nb_hours=older_than_hours, include_failed=True, include_aborted=True
        )

    async def stop(self, *, drain: bool = True) -> None:
        """Stop; the worker stops fetching and lets running jobs finish (``drain``: all jobs)."""
        if drain and self._worker is not None:
            await self.join()
        if self._worker is not None:
            # Cancelling run_worker_async is procrastinate's graceful stop: no new fetches,
            # running jobs finish (up to shutdown_graceful_timeout_s, then they are aborted).
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        await self.close()

    async def run_until(self, stop_requested: asyncio.Event) -> None:
        """Work until ``stop_requested`` is set, then stop gracefully (``frontdesk worker``)."""
        await self.start()
        assert self._worker is not None
        stopper = asyncio.create_task(stop_requested.wait())
        try:
            await asyncio.wait({self._worker, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if self._worker.done():
                self._worker.result()
                raise RuntimeError("the procrastinate worker stopped on its own")
            started = time.monotonic()
            log.info("worker.stopping", running_jobs_finish_first=True)
            await self.stop(drain=False)
            log.info("worker.stopped", shutdown_s=round(time.monotonic() - started, 2))
        finally:
            stopper.cancel()
            await self.close()


@contextlib.asynccontextmanager
async def _in_transaction_of(connection: Any) -> AsyncIterator[psycopg.AsyncConnection[Any] | None]:
    """The psycopg connection of the caller's transaction, inside a savepoint; or None.

    The savepoint matters: a refused queueing lock is a unique violation, which would
    otherwise abort the caller's whole transaction.
    """
    if connection is None:
        yield None
        return
    if isinstance(connection, AsyncSession):
        async with connection.begin_nested():
            yield await _driver_connection(await connection.connection())
        return
    if isinstance(connection, AsyncConnection):
        async with connection.begin_nested():
            yield await _driver_connection(connection)
        return
    if isinstance(connection, psycopg.AsyncConnection):
        async with connection.transaction():
            yield connection
        return
    raise TypeError(f"cannot defer on a {type(connection).__name__}")


async def _driver_connection(connection: AsyncConnection) -> psycopg.AsyncConnection[Any]:
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, psycopg.AsyncConnection):
        raise TypeError("deferring in a transaction needs a PostgreSQL (psycopg) connection")
    return driver
