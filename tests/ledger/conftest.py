"""Ledger fixtures: the sync tests' sandbox and practice, a real SMTP sink (aiosmtpd) that
records every message by ``Message-ID`` and can refuse or stall, and a sender wired to a
local job queue like ``frontdesk serve`` wires it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from sqlalchemy import select
from tests.sync.conftest import (  # noqa: F401  (fixtures)
    DAY,
    STATUSES,
    TYPES,
    Loopback,
    Practice,
    clock,
    fast_connectors,
    practice,
    sandbox_config,
    unity,
    unity_settings,
)

from frontdesk.clock import ManualClock
from frontdesk.composition import Process, Role, build_process
from frontdesk.context import AppContext
from frontdesk.delivery.capture import LoopbackController
from frontdesk.engagement.ledger_models import PENDING, ReviewRequest
from frontdesk.engagement.sending import ReviewSender
from frontdesk.jobs.local import LocalJobQueue
from frontdesk.settings import JobsSettings, ReviewSettings, Settings, SmtpSettings, SyncSettings
from frontdesk.sync.engine import SyncEngine

ON = DAY + timedelta(days=1)
Reply = Callable[[str, int], str | None]
"""``reply(recipient, attempt number for that recipient)`` → an SMTP reply or None (accept)."""


@dataclass
class Sink:
    """An SMTP server's handler: keeps every accepted message; replies can be scripted."""

    rcpt_reply: Reply | None = None
    rcpt_delay_s: float = 0.0  # stall before accepting a recipient (nothing stored yet)
    data_delay_s: float = 0.0  # stall after storing a message, before answering 250
    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: list[str]
    ) -> str:
        with self.lock:
            self.attempts[address] = self.attempts.get(address, 0) + 1
            count = self.attempts[address]
        if self.rcpt_delay_s:
            await asyncio.sleep(self.rcpt_delay_s)
        reply = self.rcpt_reply(address, count) if self.rcpt_reply else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(
                (str(parsed["Message-ID"]), list(envelope.rcpt_tos), envelope.content)
            )
        if self.data_delay_s:
            await asyncio.sleep(self.data_delay_s)
        return "250 2.0.0 queued"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m[0] for m in self.messages]

    def parsed(self) -> list[Any]:
        with self.lock:
            return [message_from_bytes(m[2], policy=policy.default) for m in self.messages]


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    controller = LoopbackController(handler)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def settings(settings: Settings, unity: Loopback, sink: tuple[Sink, int]) -> Settings:  # noqa: F811
    """As in the sync tests (Unity on the loopback sandbox), SMTP on the sink, fast sweeps."""
    return settings.model_copy(
        update={
            "unity": unity_settings(unity.url),
            "sync": SyncSettings(lease_s=30.0, tick_s=0.05, retry_base_s=0.01, retry_max_s=0.05),
            "smtp": SmtpSettings(host="127.0.0.1", port=sink[1], **{"from": "reviews@fd.test"}),
            "review": ReviewSettings(
                max_attempts=3, retry_base_s=60, retry_max_s=600, lease_s=30, sweep_s=0.05
            ),
            "jobs": JobsSettings(concurrency=4),
        }
    )


@dataclass
class Wired:
    """A server process's sender, its queue (started; the runner's loops are not) and its
    sync engine, whose decision hook is the sender's."""

    ctx: AppContext
    sender: ReviewSender
    queue: LocalJobQueue
    engine: SyncEngine
    process: Process

    async def drain(self) -> None:
        """Send everything due now (the sweeper re-defers what is due; then wait)."""
        for _ in range(50):
            await asyncio.sleep(0)
            await self.queue.join()
            await self.sender.sweep(grace_s=0)
            await self.queue.join()
            if not await self.due():
                return
        raise AssertionError("requests still due after draining")

    async def due(self) -> int:
        now = self.ctx.clock.now()
        async with self.ctx.db.reader() as session:
            rows = await session.execute(
                select(ReviewRequest.id).where(
                    ReviewRequest.state == PENDING, ReviewRequest.next_attempt_at <= now
                )
            )
            return len(rows.all())

    async def run_day(self, configured: Practice, on: date) -> None:
        """Run now (through the API) acting as ``on``; decide here; send."""
        for run in await configured.run_now(on):
            await self.engine.attempt(run["runId"])
        await self.drain()


@asynccontextmanager
async def wire(ctx: AppContext, **overrides: Any) -> AsyncIterator[Wired]:
    """The parts ``frontdesk serve`` wires (role ``server``) with fast connectors; its job
    queue runs, the dispatcher and sweeper loops do not (tests drive them)."""
    process = build_process(ctx, Role.SERVER, connectors=fast_connectors(), **overrides)
    queue = process.queue
    assert isinstance(queue, LocalJobQueue)
    await queue.start()
    try:
        yield Wired(ctx, process.sender, queue, process.engine, process)
    finally:
        await process.stop()


@pytest.fixture
async def wired(ctx: AppContext, clock: ManualClock) -> AsyncIterator[Wired]:  # noqa: F811
    async with wire(ctx) as made:
        yield made


async def requests(ctx: AppContext) -> list[Any]:
    async with ctx.db.reader() as session:
        return list((await session.execute(select(ReviewRequest.__table__))).all())
