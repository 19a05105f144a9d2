"""``frontdesk worker``: a procrastinate worker process with graceful shutdown.

SIGTERM or SIGINT: stop fetching jobs, let the running ones finish (up to the graceful
timeout, if one is set; jobs still running then are aborted), exit 0. A second signal gets
the default action and ends the process at once: the jobs it interrupts stay ``doing`` in
procrastinate's table and are found again from our own rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator

from sqlalchemy.engine import make_url

from frontdesk.composition import Process, Role, build_process
from frontdesk.context import AppContext
from frontdesk.db.migrate import current_revisions, head_revisions
from frontdesk.errors import ConfigurationError
from frontdesk.gc_tuning import freeze_startup_heap
from frontdesk.jobs.procrastinate_queue import ProcrastinateJobQueue
from frontdesk.logs import get_logger
from frontdesk.security.secrets import key_file
from frontdesk.settings import Settings

log = get_logger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def check_worker_settings(settings: Settings) -> None:
    """Refuse, with a message a human can act on, what a distributed worker cannot run on."""
    if settings.jobs.backend != "procrastinate":
        raise ConfigurationError(
            "frontdesk worker runs the procrastinate job backend: set "
            "FRONTDESK_JOBS__BACKEND=procrastinate (the embedded runner lives in frontdesk serve)",
            field="jobs.backend",
        )
    if make_url(settings.sqlalchemy_url).get_backend_name() != "postgresql":
        raise ConfigurationError(
            "frontdesk worker needs PostgreSQL, not the embedded SQLite database: set "
            "FRONTDESK_DATABASE_URL to a postgresql:// URL",
            field="database_url",
        )
    if settings.secret_keys is None and not key_file(settings).exists():
        # Without a key ring this process would make a key of its own: every secret the API
        # nodes stored would be unreadable here.
        raise ConfigurationError(
            "frontdesk worker needs the deployment's key ring: set FRONTDESK_SECRET_KEYS "
            "(identical on every node, e.g. from the secrets directory)",
            field="secret_keys",
        )


async def run_worker(
    settings: Settings,
    *,
    concurrency: int | None = None,
    graceful_timeout_s: float | None = None,
    stop_requested: asyncio.Event | None = None,
) -> None:
    """Work on the application's tasks until a stop signal (or ``stop_requested``)."""
    check_worker_settings(settings)
    jobs_settings = settings.jobs.model_copy(
        update={
            "concurrency": concurrency or settings.jobs.concurrency,
            "shutdown_graceful_timeout_s": graceful_timeout_s
            or settings.jobs.shutdown_graceful_timeout_s,
        }
    )
    ctx = await AppContext.open(settings.model_copy(update={"jobs": jobs_settings}))
    process: Process | None = None
    try:
        await _require_current_schema(ctx)
        process = build_process(ctx, Role.WORKER)
        await process.start()
        queue = process.queue
        assert isinstance(queue, ProcrastinateJobQueue)
        freeze_startup_heap()  # a long-lived process like serve: keep full collections short
        stop = stop_requested or asyncio.Event()
        log.info(
            "worker.started",
            concurrency=queue.concurrency,
            tasks=sorted(task.name for task in process.tasks),
            periodic={p.task: p.cron for p in process.schedule},
        )
        with _stop_on_signals(stop):
            await queue.run_until(stop)
    finally:
        if process is not None:
            await process.stop()
        await ctx.close()


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    loop = asyncio.get_running_loop()

    def remove() -> None:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)

    def on_signal(signum: signal.Signals) -> None:
        log.info("worker.signal", signal=signum.name)
        remove()  # the next signal gets the default action: stop at once
        stop.set()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        yield
    finally:
        remove()


async def _require_current_schema(ctx: AppContext) -> None:
    applied, expected = await current_revisions(ctx.db), head_revisions()
    if applied != expected:
        raise ConfigurationError(
            f"the database schema is at {', '.join(applied) or 'nothing'}, this version needs "
            f"{', '.join(expected)}: run `frontdesk db upgrade` first",
            field="database_url",
        )
