"""``kill -9`` of the worker process during a sync run and again during sending: after the
restarts every appointment the sandbox served has exactly one decision and every eligible
appointment exactly one message (by ``Message-ID``) — none twice, none lost.

The worker is a real process (``crash_worker.py``: the embedded runner of ``frontdesk
serve``) against the loopback sandbox (100 ms latency, so a run takes a while) and a real
SMTP server in this process that stalls after storing each message (so a kill lands while
messages are in flight). SMTP cannot tell whether a message went out, so a request killed
while ``sending`` is *parked*, not resent; the test then plays the operator: it looks the
Message-ID up in the mail log (the sink) and requeues only what never arrived.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from tests.sync.conftest import SERVICE_USERNAME
from tests.sync.test_decisions import decisions, expected

from frontdesk.access.principal import Principal
from frontdesk.composition import Role, build_process
from frontdesk.context import AppContext
from frontdesk.credentials.health import group_health
from frontdesk.delivery.email_format import message_id_for
from frontdesk.engagement import outbox
from frontdesk.engagement.checkin_models import ELIGIBLE, CheckIn
from frontdesk.engagement.ledger_models import PARKED, PENDING, SENDING, SENT, ReviewRequest
from frontdesk.integrations.models import IntegrationMapping
from frontdesk.sandbox.unity.knobs import Knobs, Latency
from frontdesk.settings import Settings
from frontdesk.sync.models import SyncRun

from .conftest import DAY, ON, Loopback, Practice, Sink, requests

WORKER = Path(__file__).with_name("crash_worker.py")
pytestmark = pytest.mark.slow
OPERATOR = Principal.system("operator")
SENDING_ROWS = select(func.count()).select_from(ReviewRequest).where(ReviewRequest.state == SENDING)


def worker_env(settings: Settings, port: int, data_dir: Path) -> dict[str, str]:
    assert settings.secret_keys is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(
        {
            "FRONTDESK_DATA_DIR": str(data_dir),
            "FRONTDESK_DATABASE_URL": settings.database_url or "",
            "FRONTDESK_SECRET_KEYS": settings.secret_keys.get_secret_value(),
            "FRONTDESK_AUTO_MIGRATE": "false",
            "FRONTDESK_LOG_LEVEL": "WARNING",
            "FRONTDESK_UNITY__URL": settings.unity.url,
            "FRONTDESK_UNITY__APPNAME": settings.unity.appname,
            "FRONTDESK_UNITY__SERVICE_USERNAME": SERVICE_USERNAME,
            "FRONTDESK_UNITY__SERVICE_PASSWORD": settings.unity.service_password.get_secret_value(),
            "FRONTDESK_SMTP__HOST": "127.0.0.1",
            "FRONTDESK_SMTP__PORT": str(port),
            "FRONTDESK_SMTP__FROM": "reviews@fd.test",
            "FRONTDESK_SYNC__TICK_S": "0.2",
            "FRONTDESK_SYNC__LEASE_S": "2",
            "FRONTDESK_SYNC__BATCH_SIZE": "10",
            "FRONTDESK_SYNC__RETRY_BASE_S": "0.1",
            "FRONTDESK_SYNC__RETRY_MAX_S": "0.5",
            "FRONTDESK_REVIEW__LEASE_S": "2",
            "FRONTDESK_REVIEW__SWEEP_S": "0.2",
            "FRONTDESK_REVIEW__RETRY_BASE_S": "0.2",
        }
    )
    return env


class Worker:
    """The worker process: start, wait for ``ready``, ``kill -9``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER),
                env=self.env,
                stdout=asyncio.subprocess.PIPE,
                stderr=out,
            )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=30)
        assert line.strip() == b"ready", self.log.read_text()[-2000:]

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        self.proc = None


async def until(check: Callable[[], Awaitable[bool]], within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def count(ctx: AppContext, query: object) -> int:
    async with ctx.db.reader() as session:
        return int((await session.execute(query)).scalar_one())  # type: ignore[call-overload]


async def test_kill_9_during_a_run_and_during_sending(
    ctx: AppContext,
    settings: Settings,
    practice: Practice,
    unity: Loopback,
    sink: tuple[Sink, int],
    tmp_path: Path,
) -> None:
    handler, port = sink
    unity.sandbox.set_knobs(Knobs(latency=Latency(ms=100)))
    handler.data_delay_s = 1.0  # stall after storing: kills land with messages in flight
    async with ctx.db.transaction() as session:  # only the run asked for below
        await session.execute(
            update(IntegrationMapping).values(next_run_at=datetime(2100, 1, 1, tzinfo=UTC))
        )
    (run,) = await practice.run_now(ON)
    worker = Worker(worker_env(settings, port, tmp_path / "worker"), tmp_path / "worker.log")
    served = len(expected(unity.sandbox, [DAY]))

    # 1. kill -9 during the run, after some check-ins are written.
    await worker.start()
    await until(lambda: _at_least(ctx, select(func.count()).select_from(CheckIn), 30))
    await worker.kill()
    decided_at_kill = await count(ctx, select(func.count()).select_from(CheckIn))
    in_flight = await count(ctx, SENDING_ROWS)
    assert 30 <= decided_at_kill < served

    # 2. restart; kill -9 again while messages are being sent — this time stalled before
    # the mail server has them (the recipient step), so they never arrive.
    handler.data_delay_s, handler.rcpt_delay_s = 0.0, 1.0
    received_before = len(handler.message_ids())
    await worker.start()
    await until(lambda: _received(handler, received_before + 2))
    await worker.kill()
    in_flight += await count(ctx, SENDING_ROWS)

    # 3. restart with a fast mail server; let everything settle.
    handler.rcpt_delay_s = 0.0
    await worker.start()
    try:
        await until(lambda: _settled(ctx, run["runId"]), within_s=90)
    finally:
        await worker.kill()

    # Every appointment served has exactly one decision, the one a clean run makes.
    assert await decisions(ctx) == expected(unity.sandbox, [DAY])
    async with ctx.db.reader() as session:
        eligible = set(
            (await session.execute(select(CheckIn.id).where(CheckIn.decision == ELIGIBLE)))
            .scalars()
            .all()
        )
    ledger = await requests(ctx)
    assert sorted(r.checkin_id for r in ledger) == sorted(eligible)
    assert {r.state for r in ledger} <= {SENT, PARKED}
    received = Counter(handler.message_ids())
    assert max(received.values()) == 1, "a message was sent twice"

    def mid(row: object) -> str:
        return message_id_for(ReviewRequest.ledger_key.fget(row), domain="fd.test")  # type: ignore[attr-defined]

    for row in ledger:
        if row.state == SENT:
            assert received[mid(row)] == 1
    parked = [r for r in ledger if r.state == PARKED]
    assert all(r.last_error_code == "outcome_unknown" for r in parked)
    assert all(r.message_id == mid(r) for r in parked)  # stored at claim time, for the operator
    assert len(parked) <= in_flight  # only requests caught mid-send are parked
    async with ctx.db.reader() as session:  # `frontdesk integration health` reports them
        (health,) = await group_health(
            session, principal=None, settings=ctx.settings, now=ctx.clock.now()
        )
    assert health.parked_requests == len(parked)

    # The operator: a parked request whose Message-ID is in the mail log was delivered;
    # the others are requeued and sent.
    delivered = [r for r in parked if received[mid(r)] == 1]
    undelivered = [r for r in parked if received[mid(r)] == 0]
    operator = build_process(ctx, Role.CLI)  # sends in the foreground (no queue)
    try:
        for row in undelivered:
            async with ctx.db.transaction() as session:
                await outbox.requeue(
                    session, principal=OPERATOR, clock=ctx.clock, request_id=row.id
                )
            assert await operator.sender.send_request(row.id) == SENT
    finally:
        await operator.stop()
    received = Counter(handler.message_ids())
    assert sorted(received) == sorted(mid(r) for r in ledger)
    assert set(received.values()) == {1}
    print(
        f"served={served} decided_at_first_kill={decided_at_kill} eligible={len(eligible)} "
        f"parked={len(parked)} (delivered {len(delivered)}, requeued {len(undelivered)})"
    )


async def _at_least(ctx: AppContext, query: object, n: int) -> bool:
    return await count(ctx, query) >= n


async def _received(handler: Sink, n: int) -> bool:
    return len(handler.message_ids()) >= n


async def _settled(ctx: AppContext, run_id: int) -> bool:
    async with ctx.db.reader() as session:
        status = (
            await session.execute(select(SyncRun.status).where(SyncRun.id == run_id))
        ).scalar_one()
        open_requests = (
            await session.execute(
                select(func.count())
                .select_from(ReviewRequest)
                .where(ReviewRequest.state.in_((PENDING, SENDING)))
            )
        ).scalar_one()
    return status == "succeeded" and open_requests == 0
