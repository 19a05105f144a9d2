"""``frontdesk worker``: a distributed worker (PostgreSQL + procrastinate)."""

from __future__ import annotations

from typing import Annotated

import typer

from frontdesk.cli.runtime import run
from frontdesk.jobs.worker import run_worker
from frontdesk.logs import configure_logging
from frontdesk.settings import load_settings


def worker_command(
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", min=1, help="jobs run at once (default: jobs.concurrency)"),
    ] = None,
    graceful_timeout: Annotated[
        float | None,
        typer.Option(
            "--graceful-timeout",
            min=0,
            help="on SIGTERM, seconds to let running jobs finish before aborting them "
            "(default: wait for them)",
        ),
    ] = None,
) -> None:
    """Run jobs from PostgreSQL until SIGTERM/SIGINT; running jobs finish first."""
    settings = load_settings()
    configure_logging(settings)
    run(
        run_worker(settings, concurrency=concurrency, graceful_timeout_s=graceful_timeout),
        event_loop=settings.event_loop,
    )
