"""``frontdesk serve`` with the procrastinate backend is an API node: it runs no dispatcher
and no job, and defers into procrastinate what its requests queue (run now)."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI

from frontdesk.clock import ManualClock
from frontdesk.composition import Role, running
from frontdesk.context import AppContext
from frontdesk.jobs.local import LocalJobQueue
from frontdesk.jobs.procrastinate_queue import ProcrastinateJobQueue, libpq_url
from frontdesk.server.app import create_app
from frontdesk.settings import JobsSettings, Settings, SyncSettings
from frontdesk.sync.worker import SyncWorker

from .conftest import Practice

PROCRASTINATE = JobsSettings(backend="procrastinate")


async def sync_jobs(url: str) -> list[tuple[str, str, dict[str, Any], str | None]]:
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as conn:
        cursor = await conn.execute(
            "SELECT task_name, status::text, args, queueing_lock FROM procrastinate_jobs"
            " ORDER BY id"
        )
        return [(r[0], r[1], r[2], r[3]) for r in await cursor.fetchall()]


@pytest.fixture
def postgres_only(ctx: AppContext) -> None:
    if ctx.db.is_sqlite:
        pytest.skip("the procrastinate backend needs PostgreSQL")


@pytest.mark.usefixtures("postgres_only")
async def test_run_now_on_an_api_node_defers_the_job_into_procrastinate(
    ctx: AppContext, practice: Practice, clock: ManualClock
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"jobs": PROCRASTINATE})
    async with running(ctx, Role.API) as process:
        node = process.runner
        assert isinstance(node, SyncWorker)
        assert isinstance(node.queue, ProcrastinateJobQueue)
        assert node.queue is process.queue
        assert not node.runs_jobs
        assert node._loop is None  # no dispatcher competing with the workers' periodic one
        (run,) = await practice.run_now(clock.now().date())
        process.runs_queued()
        process.runs_queued()  # a second kick finds the job waiting
        await asyncio.gather(*node._offers)
        assert await sync_jobs(ctx.db.url) == [
            ("frontdesk.sync_group", "todo", {"run_id": run["runId"]}, f"run:{run['runId']}")
        ]
        assert process.sender.queue is node.queue  # operator requeue defers there


@pytest.mark.usefixtures("postgres_only")
async def test_serve_with_procrastinate_defers_only_even_with_the_worker_flag(
    settings: Settings,
) -> None:
    settings = settings.model_copy(
        update={"jobs": PROCRASTINATE, "sync": SyncSettings(worker=True, tick_s=0.05)}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        node = app.state.context.runner
        assert isinstance(node, SyncWorker)
        assert not node.runs_jobs
        assert node._loop is None
        assert node._sweeper is None


async def test_serve_with_the_embedded_runner_runs_it_unless_no_worker(
    settings: Settings,
) -> None:
    embedded = create_app(settings.model_copy(update={"sync": SyncSettings(tick_s=60)}))
    async with embedded.router.lifespan_context(embedded):
        node = embedded.state.context.runner
        assert isinstance(node, SyncWorker)
        assert isinstance(node.queue, LocalJobQueue)
        assert node.runs_jobs
        assert node._loop is not None
    api_only: FastAPI = create_app(settings.model_copy(update={"sync": SyncSettings(worker=False)}))
    async with api_only.router.lifespan_context(api_only):
        assert api_only.state.context.role is Role.API
        assert api_only.state.context.runner is None
