"""Choosing the job runner from settings (``FRONTDESK_JOBS__BACKEND=local|procrastinate``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.engine import make_url

from frontdesk.errors import ConfigurationError
from frontdesk.jobs.local import LocalJobQueue
from frontdesk.jobs.periodic import Periodic
from frontdesk.jobs.procrastinate_queue import ProcrastinateJobQueue
from frontdesk.jobs.queue import JobQueue
from frontdesk.jobs.tasks import TaskRegistry
from frontdesk.settings import Settings


def build_job_queue(
    settings: Settings,
    registry: TaskRegistry,
    *,
    db_url: str,
    periodic: Iterable[Periodic] = (),
) -> JobQueue:
    """The embedded runner (``local``) or the PostgreSQL one (``procrastinate``).

    ``periodic`` schedules are run by the procrastinate workers (the queue of an API node
    only defers, it is never started); the embedded runner leaves them to the in-process
    dispatcher loop of ``frontdesk serve``.
    """
    if settings.jobs.backend == "local":
        return LocalJobQueue(registry, concurrency=settings.jobs.concurrency)
    return build_procrastinate_queue(settings, registry, db_url=db_url, periodic=periodic)


def build_procrastinate_queue(
    settings: Settings,
    registry: TaskRegistry,
    *,
    db_url: str,
    periodic: Iterable[Periodic] = (),
    concurrency: int | None = None,
    shutdown_graceful_timeout_s: float | None = None,
) -> ProcrastinateJobQueue:
    """The procrastinate runner on ``db_url``, which must be PostgreSQL."""
    if make_url(db_url).get_backend_name() != "postgresql":
        raise ConfigurationError(
            "the procrastinate job backend needs PostgreSQL: set FRONTDESK_DATABASE_URL to a "
            "postgresql:// URL, or FRONTDESK_JOBS__BACKEND=local for the embedded runner",
            field="database_url",
        )
    return ProcrastinateJobQueue(
        registry,
        url=db_url,
        concurrency=concurrency or settings.jobs.concurrency,
        periodic=periodic,
        shutdown_graceful_timeout_s=shutdown_graceful_timeout_s
        or settings.jobs.shutdown_graceful_timeout_s,
        heartbeat_s=settings.jobs.heartbeat_s,
        stalled_after_s=settings.jobs.stalled_after_s,
    )
