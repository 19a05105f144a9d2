"""Usage fixtures: the sync tests' sandbox (with every request to it counted) and practice,
the ledger tests' SMTP sink, /metrics on, and one server process behind the app (so the API,
the sync engine and the sender count into one meter, as in ``frontdesk serve``)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from tests.ledger.conftest import Sink, sink  # noqa: F401  (fixtures)
from tests.sync.conftest import (  # noqa: F401  (fixtures)
    Loopback,
    ScheduleEditor,
    clock,
    practice,
    sandbox_config,
    unity_settings,
)

from frontdesk.clock import ManualClock
from frontdesk.composition import Process, Role, build_process
from frontdesk.context import AppContext
from frontdesk.jobs.local import LocalJobQueue
from frontdesk.sandbox.unity import ManualClock as SandboxClock
from frontdesk.sandbox.unity import SandboxConfig, create_unity_app
from frontdesk.server.app import create_app
from frontdesk.settings import (
    JobsSettings,
    MetricsSettings,
    ReviewSettings,
    Settings,
    SmtpSettings,
    SyncSettings,
)

TOKEN = "scrape-me-please-0123456789"


class CallCounter:
    """ASGI wrapper: counts every request the sandbox answered, by Unity action."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls: Counter[str] = Counter()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        endpoint = scope["path"].rsplit("/", 1)[-1]
        action = endpoint
        if endpoint.lower() == "magicjson":
            action = str(json.loads(body or b"{}").get("Action", ""))
        self.calls[action] += 1

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


@pytest.fixture
async def counted(sandbox_config: SandboxConfig) -> AsyncIterator[tuple[Loopback, CallCounter]]:  # noqa: F811
    app = create_unity_app(sandbox_config, clock=SandboxClock())
    editor = ScheduleEditor(app)
    counter = CallCounter(editor)
    server = uvicorn.Server(
        uvicorn.Config(
            counter, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Loopback(f"http://127.0.0.1:{port}", app.state.sandbox, editor, server), counter
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def unity(counted: tuple[Loopback, CallCounter]) -> Loopback:
    return counted[0]


@pytest.fixture
def settings(
    settings: Settings,
    unity: Loopback,
    sink: tuple[Sink, int],  # noqa: F811
) -> Settings:
    """Unity on the counted sandbox, SMTP on the sink, /metrics on."""
    return settings.model_copy(
        update={
            "unity": unity_settings(unity.url),
            "sync": SyncSettings(lease_s=30.0, tick_s=0.05, retry_base_s=0.01, retry_max_s=0.05),
            "smtp": SmtpSettings(host="127.0.0.1", port=sink[1], **{"from": "reviews@fd.test"}),
            "review": ReviewSettings(
                max_attempts=3, retry_base_s=60, retry_max_s=600, lease_s=30, sweep_s=0.05
            ),
            "jobs": JobsSettings(concurrency=4),
            "metrics": MetricsSettings(token=SecretStr(TOKEN)),
        }
    )


@pytest.fixture
async def server(ctx: AppContext, clock: ManualClock) -> AsyncIterator[Process]:  # noqa: F811
    """A server process (its queue runs; its loops do not: tests drive them)."""
    process = build_process(ctx, Role.SERVER)
    queue = process.queue
    assert isinstance(queue, LocalJobQueue)
    await queue.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest.fixture
def app(settings: Settings, server: Process) -> FastAPI:
    return create_app(settings, process=server)
