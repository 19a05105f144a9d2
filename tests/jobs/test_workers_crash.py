"""Three ``frontdesk worker`` processes on PostgreSQL, 100 groups, one worker ``kill -9``-ed
mid-run: every run completes, every appointment has one decision, every eligible one exactly
one message — none twice, none lost.

Real pieces only: the workers are the real command (procrastinate backend) in subprocesses;
the Unity sandbox serves 100 practices on loopback (in this process, 20 ms per call); mail
goes to the SMTP capture (aiosmtpd in a thread, one ``captured_mail`` row per message). The
runs are asked for through the integration API, as an API node would; the workers' periodic
dispatcher gives them their jobs. The first worker is killed once it is running sync jobs and
a fifth of the runs are done. Recovery is the design's: the sweeper requeues the dead
worker's jobs (no heartbeat for ``jobs.stalled_after_s``), the dispatcher requeues its runs
(lease expired), decisions already written are skipped, ledger rows are unique. SMTP cannot
tell whether a message caught mid-send went out, so such a request is *parked*; the test
plays the operator as ``tests/ledger/test_crash.py`` does: a parked request whose Message-ID
reached the mail server was delivered, the others are requeued and sent.

All waits are on database state, with deadlines.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import func, select, text
from tests.sync.conftest import SERVICE_USERNAME, Loopback, unity  # noqa: F401  (fixture)

from frontdesk.access.principal import Principal
from frontdesk.businesses.service import add_business
from frontdesk.composition import Role, build_process, builtin_plugins
from frontdesk.context import AppContext
from frontdesk.delivery.capture import MailCapture
from frontdesk.delivery.email_format import message_id_for
from frontdesk.delivery.models import CapturedMail
from frontdesk.engagement import outbox
from frontdesk.engagement.checkin_models import ELIGIBLE, CheckIn
from frontdesk.engagement.ledger_models import PARKED, SENT, ReviewRequest
from frontdesk.integrations.catalog import TriggerRef
from frontdesk.integrations.groups import PropertyInput, create_group
from frontdesk.integrations.mappings import MappingChanges, create_mapping
from frontdesk.sandbox.unity import (
    DEFAULT_APPNAME,
    DEFAULT_SERVICE_PASSWORD,
    Knobs,
    Latency,
    SandboxConfig,
    multi_group_config,
)
from frontdesk.settings import Settings, SmtpSettings, UnitySettings
from frontdesk.sync.models import SyncRun
from frontdesk.sync.service import request_run

PG_ENV = "FRONTDESK_TEST_POSTGRES_URL"
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} unset"),
]

GROUPS = 100
LOCATIONS = 2
APPOINTMENTS = 5  # per location: 1,000 appointments
DAY = date(2025, 3, 3)  # a Monday; the runs act as the 4th and read the 3rd
DOMAIN = "fd.test"
OPERATOR = Principal.system("operator")
SECRET_KEY = Fernet.generate_key().decode()


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return multi_group_config(
        groups=GROUPS,
        locations=LOCATIONS,
        appointments_per_location=APPOINTMENTS,
        service_username=SERVICE_USERNAME,
        knobs=Knobs(latency=Latency(ms=20)),
    )


@pytest.fixture
async def capture(pg_url: str) -> AsyncIterator[MailCapture]:
    mail = MailCapture(pg_url)
    await mail.astart()
    yield mail
    await mail.astop()


@pytest.fixture
def settings(pg_url: str, unity: Loopback, capture: MailCapture, tmp_path: Path) -> Settings:  # noqa: F811
    return Settings(
        data_dir=tmp_path / "data",
        database_url=pg_url,
        secret_keys=SecretStr(SECRET_KEY),
        log_level="WARNING",
        access_log=False,
        unity=UnitySettings(
            url=f"{unity.url}/UnityService.svc/json",
            appname=DEFAULT_APPNAME,
            service_username=SERVICE_USERNAME,
            service_password=SecretStr(DEFAULT_SERVICE_PASSWORD),
        ),
        smtp=SmtpSettings(host="127.0.0.1", port=capture.port, **{"from": f"reviews@{DOMAIN}"}),
    )


@pytest.fixture
async def ctx(settings: Settings) -> AsyncIterator[AppContext]:
    context = await AppContext.open(settings, migrate=False)
    yield context
    await context.close()


def worker_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update(
        {
            "FRONTDESK_DATA_DIR": str(settings.data_dir),
            "FRONTDESK_DATABASE_URL": settings.database_url or "",
            "FRONTDESK_JOBS__BACKEND": "procrastinate",
            "FRONTDESK_SECRET_KEYS": SECRET_KEY,
            "FRONTDESK_AUTO_MIGRATE": "false",
            "FRONTDESK_LOG_LEVEL": "INFO",
            "FRONTDESK_UNITY__URL": settings.unity.url,
            "FRONTDESK_UNITY__APPNAME": settings.unity.appname,
            "FRONTDESK_UNITY__SERVICE_USERNAME": SERVICE_USERNAME,
            "FRONTDESK_UNITY__SERVICE_PASSWORD": DEFAULT_SERVICE_PASSWORD,
            "FRONTDESK_SMTP__HOST": settings.smtp.host,
            "FRONTDESK_SMTP__PORT": str(settings.smtp.port),
            "FRONTDESK_SMTP__FROM": settings.smtp.from_,
            "FRONTDESK_SYNC__LOG_DECISIONS": "false",
            "FRONTDESK_SYNC__TICK_S": "1",
            "FRONTDESK_SYNC__LEASE_S": "3",
            "FRONTDESK_SYNC__RETRY_BASE_S": "0.1",
            "FRONTDESK_SYNC__RETRY_MAX_S": "0.5",
            "FRONTDESK_REVIEW__LEASE_S": "10",
            "FRONTDESK_REVIEW__SWEEP_S": "1",
            "FRONTDESK_JOBS__HEARTBEAT_S": "1",
            "FRONTDESK_JOBS__STALLED_AFTER_S": "5",
        }
    )
    return env


def worker_command() -> list[str]:
    script = Path(sys.executable).with_name("frontdesk")  # the installed console script
    if script.exists():
        return [str(script), "worker"]
    return [sys.executable, "-c", "from frontdesk.cli.main import main; main()", "worker"]


class Workers:
    """``frontdesk worker --concurrency 4`` processes, their logs, their procrastinate ids."""

    def __init__(self, ctx: AppContext, env: dict[str, str], logs: Path) -> None:
        self.ctx = ctx
        self.env = env
        self.logs = logs
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self, n: int) -> None:
        for i in range(n):
            with (self.logs / f"worker-{i}.log").open("wb") as log:
                proc = await asyncio.create_subprocess_exec(
                    *worker_command(), "--concurrency", "4", env=self.env, stderr=log
                )
            self.procs.append(proc)
        await until(lambda: self._registered(n), within_s=60, what="workers up")

    async def _registered(self, n: int) -> bool:
        for i, proc in enumerate(self.procs):
            assert proc.returncode is None, self.log(i)
        return await scalar(self.ctx, "SELECT count(*) FROM procrastinate_workers") >= n

    def running(self, i: int) -> set[int]:
        """The runs worker ``i`` started and has not finished (from its JSON log lines)."""
        started: set[int] = set()
        for line in (self.logs / f"worker-{i}.log").read_text(errors="replace").splitlines():
            if '"sync.run.' not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:  # a line being written
                continue
            if event["event"] == "sync.run.started":
                started.add(event["run_id"])
            elif event["event"] in ("sync.run.finished", "sync.run.lease_lost"):
                started.discard(event["run_id"])
        return started

    def log(self, i: int) -> str:
        return (self.logs / f"worker-{i}.log").read_text(errors="replace")[-3000:]

    async def stop_all(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), timeout=30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def until(check: Callable[[], Awaitable[bool]], *, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        await asyncio.sleep(0.1)


async def scalar(ctx: AppContext, sql: str, **params: Any) -> int:
    async with ctx.db.reader() as session:
        return int((await session.execute(text(sql), params)).scalar_one())


async def configure(ctx: AppContext, unity: Loopback) -> dict[int, str]:  # noqa: F811
    """For each sandbox practice: an enterprise, its locations, the group and one mapping per
    location (through the service layer, one transaction per group); group id → the
    practice's service user."""
    groups: dict[int, str] = {}
    plugins = builtin_plugins(ctx)
    never = datetime(2100, 1, 1)  # no scheduled run: only the runs asked for below
    for g, credential in enumerate(unity.sandbox.config.credentials, start=1):
        enterprise = 300_000_000_000_000 + g * 1000
        pm_user = credential.users[0]
        async with ctx.db.transaction() as session:
            await add_business(
                session, principal=OPERATOR, clock=ctx.clock, number=enterprise, name=f"E{g}"
            )
            group = await create_group(
                session,
                principal=OPERATOR,
                clock=ctx.clock,
                secrets=ctx.secrets,
                plugins=plugins,
                parent_business_number=enterprise,
                source_id=32,
                triggers=[TriggerRef(trigger_id=56, trigger_type_id=1)],
                properties=[
                    PropertyInput(
                        "User_Name", credential.service_user.split("^1^")[0] + "^1^", True
                    ),
                    PropertyInput("PM_Password", pm_user.password, True),
                    PropertyInput("pms_user_name", pm_user.username),
                    PropertyInput("review.url", "https://r.example/x"),
                ],
            )
            practice = unity.sandbox.practice_for(credential.service_user)
            for n, location in enumerate(practice.enterprise.locations, start=1):
                await add_business(
                    session,
                    principal=OPERATOR,
                    clock=ctx.clock,
                    number=enterprise + n,
                    name=location.name,
                    enterprise_number=enterprise,
                )
                await create_mapping(
                    session,
                    principal=OPERATOR,
                    clock=ctx.clock,
                    secrets=ctx.secrets,
                    plugins=plugins,
                    group_id=group.id,
                    business_number=enterprise + n,
                    changes=MappingChanges(
                        next_run_at=never,
                        properties=[PropertyInput("allscripts.location.name", location.name)],
                    ),
                )
        groups[group.id] = credential.service_user
    return groups


async def ask_for_runs(ctx: AppContext, groups: dict[int, str]) -> None:
    """Run now for every group, as an API node does: the rows only; the workers' periodic
    dispatcher gives them their jobs."""
    async with ctx.db.transaction() as session:
        for group_id in groups:
            await request_run(
                session,
                principal=OPERATOR,
                clock=ctx.clock,
                group_id=group_id,
                on=DAY + timedelta(days=1),
            )


async def test_kill_9_of_one_of_three_workers_loses_and_doubles_nothing(
    ctx: AppContext,
    settings: Settings,
    unity: Loopback,  # noqa: F811
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    workers = Workers(ctx, worker_env(settings), tmp_path)
    try:
        starting = asyncio.create_task(workers.start(3))
        groups = await configure(ctx, unity)  # while the workers start
        await starting
        phases = {"workers_up": time.monotonic() - started}
        await ask_for_runs(ctx, groups)

        # kill -9 worker 0 in the middle of sync runs, once a fifth of the runs are done
        async def victim_busy() -> bool:
            done = await scalar(ctx, "SELECT count(*) FROM sync_runs WHERE status = 'succeeded'")
            return done >= GROUPS // 5 and bool(await victim_runs(ctx, workers))

        await until(victim_busy, within_s=60, what="worker 0 in the middle of sync runs")
        workers.procs[0].send_signal(signal.SIGKILL)
        await workers.procs[0].wait()
        phases["killed"] = time.monotonic() - started
        interrupted = await victim_runs(ctx, workers)
        in_flight = await scalar(
            ctx, "SELECT count(*) FROM review_requests WHERE state = 'sending'"
        )

        async def settled() -> bool:
            for i, proc in enumerate(workers.procs[1:], start=1):
                assert proc.returncode is None, workers.log(i)
            open_runs = await scalar(
                ctx,
                "SELECT count(*) FROM sync_runs"
                " WHERE status NOT IN ('succeeded', 'failed', 'cancelled')",
            )
            open_requests = await scalar(
                ctx, "SELECT count(*) FROM review_requests WHERE state IN ('pending', 'sending')"
            )
            return open_runs == 0 and open_requests == 0

        await until(settled, within_s=75, what="every run ended and every request resolved")
        phases["settled"] = time.monotonic() - started
    finally:
        await workers.stop_all()
    assert [p.returncode for p in workers.procs[1:]] == [0, 0], workers.log(1)  # SIGTERM: clean

    # Every run completed; the dead worker's were taken over.
    async with ctx.db.transaction() as session:  # (objects stay loaded after a commit)
        runs = (await session.execute(select(SyncRun))).scalars().all()
    assert len(runs) == GROUPS
    assert {r.status for r in runs} == {"succeeded"}, [(r.id, r.error_code) for r in runs]
    assert interrupted, "the kill landed between runs"
    assert all(r.attempts > 1 for r in runs if r.id in interrupted)  # taken over

    # Every appointment the sandbox served has exactly one decision (the table's unique key
    # forbids two; none is missing).
    async with ctx.db.reader() as session:
        decided = Counter(
            (await session.execute(select(CheckIn.group_id, CheckIn.appointment_id))).all()
        )
    assert max(decided.values()) == 1
    served = set()
    for run in runs:
        practice = unity.sandbox.practice_for(groups[run.group_id])
        days = (run.window_last - run.window_first).days + 1
        for offset in range(days):
            for appointment in practice.appointments_on(run.window_first + timedelta(offset)):
                served.add((run.group_id, str(appointment.appointment_id)))
    assert set(decided) == served
    assert len(served) == GROUPS * LOCATIONS * APPOINTMENTS

    # One ledger row per eligible check-in, each sent or parked mid-send; no message twice.
    async with ctx.db.transaction() as session:
        eligible = set(
            (await session.execute(select(CheckIn.id).where(CheckIn.decision == ELIGIBLE)))
            .scalars()
            .all()
        )
        ledger = (await session.execute(select(ReviewRequest))).scalars().all()
    assert eligible
    assert sorted(r.checkin_id for r in ledger) == sorted(eligible)
    assert {r.state for r in ledger} <= {SENT, PARKED}
    received = await received_ids(ctx)
    assert max(received.values()) == 1, "a message was sent twice"
    mids = {r.id: message_id_for(r.ledger_key, domain=DOMAIN) for r in ledger}
    for row in ledger:
        if row.state == SENT:
            assert received[mids[row.id]] == 1
    parked = [r for r in ledger if r.state == PARKED]
    assert all(r.last_error_code == "outcome_unknown" for r in parked)
    assert all(r.message_id == mids[r.id] for r in parked)  # stored at claim time
    assert len(parked) <= in_flight  # only requests caught mid-send by the kill

    # The operator: parked and in the mail log → delivered; the others requeued and sent.
    operator = build_process(ctx, Role.CLI)  # sends in the foreground (no queue)
    sender = operator.sender
    try:
        for row in parked:
            if received[mids[row.id]] == 0:
                async with ctx.db.transaction() as session:
                    await outbox.requeue(
                        session, principal=OPERATOR, clock=ctx.clock, request_id=row.id
                    )
                assert await sender.send_request(row.id) == SENT
    finally:
        await operator.stop()
    received = await received_ids(ctx)
    assert sorted(received) == sorted(mids.values())  # exactly one message per request
    assert set(received.values()) == {1}
    attempts = Counter(r.attempts for r in runs)
    print(
        f"runs={len(runs)} attempts={dict(attempts)} interrupted={sorted(interrupted)} "
        f"decisions={len(decided)} eligible={len(eligible)} parked={len(parked)} "
        f"sending_at_kill={in_flight} " + " ".join(f"{k}={v:.1f}s" for k, v in phases.items())
    )


async def victim_runs(ctx: AppContext, workers: Workers) -> set[int]:
    """Runs worker 0 started and has not finished that are still ``running`` in the table."""
    started = workers.running(0)
    if not started:
        return set()
    async with ctx.db.reader() as session:
        rows = await session.execute(
            select(SyncRun.id).where(SyncRun.id.in_(started), SyncRun.status == "running")
        )
        return set(rows.scalars())


async def received_ids(ctx: AppContext) -> Counter[str]:
    async with ctx.db.reader() as session:
        rows = await session.execute(
            select(CapturedMail.message_id, func.count()).group_by(CapturedMail.message_id)
        )
        return Counter({str(mid): int(n) for mid, n in rows.all()})
