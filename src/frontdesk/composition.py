"""The composition root: the one place that builds the parts of a running process.

::

    role ──▶ build_process(ctx, role) ──▶ Process
             context (settings, db, key ring, clock)
             plugins: sources (spec + connector) and channels (how they reach a patient)
             review sender (channels) ─┐
             sync engine (sources; its decision hook is the sender's) ─┐
             tasks + schedule (AppJobs) ──▶ job queue ──▶ dispatcher
             answering runtime (options, committer, caches)
             role-specific loops: embedded runner + sweeper, the signed-webhook pump,
             credential warnings, alerts; heartbeats of the runner and the MLLP listener
             usage meter (handed to the API, the answering runtime, the sync engine, the
             sender, and through the connector limits to every connector) + its flush loop

Roles:

- ``server`` (``frontdesk serve``): the API, the dashboard and, on the embedded backend, the
  runner (dispatcher loop, send jobs, sweeper) and the daily patient-data purge; the
  signed-webhook pump (ticket pushes, review-request events), credential warnings, the alert
  checks (``AlertLoop``); heartbeats of the embedded runner and the MLLP listener
  (``docs/alerts.md``);
- ``api`` (``serve --no-worker``, or any ``serve`` on procrastinate): no runner; on
  procrastinate its queue defers jobs (run now, requeue) for the workers;
- ``worker`` (``frontdesk worker``): every task and the schedule on procrastinate; its
  heartbeat;
- ``cli`` (one command): decides in the foreground; review requests are queued in the same
  transaction (deferred into procrastinate when that is the backend; on the embedded backend
  the serving process's sweeper picks them up) or sent in the foreground on demand;
- ``demo``: the server with the demo's simulators.

Entry points get their parts from the :class:`Process`: routers through typed dependencies
(:mod:`frontdesk.server.dependencies`), CLI commands and tasks by argument. Nothing else
constructs engines, senders or queues (``tests/skeleton/test_layers.py`` checks it).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from frontdesk.alerts.heartbeat import LISTENER, WORKER, Heartbeat
from frontdesk.alerts.service import AlertLoop
from frontdesk.answering.runtime import AnsweringRuntime
from frontdesk.connectors.allscripts.spec import SOURCE as ALLSCRIPTS
from frontdesk.connectors.fhir.spec import SOURCE as FHIR_R4
from frontdesk.connectors.hl7v2.spec import source as hl7v2_source
from frontdesk.connectors.spec import Source
from frontdesk.context import AppContext
from frontdesk.credentials.health import WarningLoop
from frontdesk.delivery.channel import ChannelPlugin
from frontdesk.delivery.registry import builtin_channels
from frontdesk.engagement.retention import RetentionLoop
from frontdesk.engagement.sending import ReviewSender
from frontdesk.hl7.listener import MllpListener
from frontdesk.hl7.store import MessageStore
from frontdesk.integrations.catalog import upsert_specs
from frontdesk.jobs.factory import build_job_queue
from frontdesk.jobs.periodic import Periodic
from frontdesk.jobs.queue import JobQueue
from frontdesk.jobs.registry import AppJobs
from frontdesk.jobs.tasks import TaskRegistry
from frontdesk.logs import get_logger
from frontdesk.plugins import ConnectorBuilder, Plugins
from frontdesk.security.outbound import OutboundPolicy
from frontdesk.settings import Settings
from frontdesk.sync.dispatcher import Dispatcher
from frontdesk.sync.engine import SyncEngine
from frontdesk.sync.jobs import SyncJobs
from frontdesk.sync.worker import SyncWorker
from frontdesk.usage.flush import UsageLoop
from frontdesk.usage.meter import Meter
from frontdesk.usage.metrics import Instruments
from frontdesk.webhooks.pump import WebhookPump
from frontdesk.webhooks.sender import Senders

log = get_logger(__name__)


class Role(enum.StrEnum):
    SERVER = "server"
    API = "api"
    WORKER = "worker"
    CLI = "cli"
    DEMO = "demo"


def builtin_sources(ctx: AppContext | None = None) -> list[Source]:
    """The integration sources that ship with frontdesk (the HL7 source reads ``ctx``'s
    message store; without a context its connectors refuse to read)."""
    return [ALLSCRIPTS, FHIR_R4, hl7v2_source(hl7_store(ctx) if ctx is not None else None)]


def builtin_plugins(ctx: AppContext) -> Plugins:
    """The sources and channels that ship with frontdesk."""
    return Plugins.of(
        builtin_sources(ctx),
        builtin_channels(ctx.settings, clock=ctx.clock, ctx=ctx),
        clock=ctx.clock,
    )


def hl7_store(ctx: AppContext) -> MessageStore:
    """The HL7v2 message store of ``ctx``'s database."""
    return MessageStore(ctx.db, ctx.secrets)


def mllp_listener(
    ctx: AppContext, *, host: str | None = None, port: int | None = None
) -> MllpListener:
    """The MLLP listener (``frontdesk mllp``, or serve/demo with ``FRONTDESK_MLLP__PORT``)."""
    return MllpListener(
        hl7_store(ctx), settings=ctx.settings.mllp, clock=ctx.clock, host=host, port=port
    )


def listener_heartbeat(ctx: AppContext) -> Heartbeat:
    """The MLLP listener's heartbeat (``frontdesk mllp``; serve builds its own in the process)."""
    return Heartbeat(ctx, LISTENER)


def serving_role(settings: Settings, *, demo: bool = False) -> Role:
    """``serve``'s role: the embedded runner unless ``--no-worker`` or procrastinate."""
    if settings.jobs.backend == "procrastinate" or not settings.sync.worker:
        return Role.API
    return Role.DEMO if demo else Role.SERVER


@dataclass
class Process:
    """The parts of one running process (see the module docstring)."""

    ctx: AppContext
    role: Role
    plugins: Plugins
    sender: ReviewSender
    sync: SyncJobs
    jobs: AppJobs
    tasks: TaskRegistry
    schedule: list[Periodic]
    queue: JobQueue | None
    answering: AnsweringRuntime
    meter: Meter
    usage: UsageLoop
    runner: SyncWorker | None = None
    webhooks: WebhookPump | None = None
    warnings: WarningLoop | None = None
    retention: RetentionLoop | None = None
    mllp: MllpListener | None = None
    alerts: AlertLoop | None = None
    heartbeats: list[Heartbeat] = field(default_factory=list)
    _started: bool = False
    _outbound: tuple[Settings, OutboundPolicy] | None = None

    @property
    def engine(self) -> SyncEngine:
        return self.sync.engine

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    @property
    def outbound(self) -> OutboundPolicy:
        """The outbound rule of the process's settings (built once per settings object)."""
        settings = self.ctx.settings
        if self._outbound is None or self._outbound[0] is not settings:
            self._outbound = (settings, OutboundPolicy.from_settings(settings))
        return self._outbound[1]

    async def start(self) -> None:
        """Bring the catalog up to date with the registered sources, then start the loops."""
        async with self.ctx.db.transaction() as session:
            await upsert_specs(session, [s.spec for s in self.plugins.sources])
        if self.webhooks is not None:
            await self.webhooks.start()
        if self.runner is not None:
            await self.runner.start()
        if self.warnings is not None:
            await self.warnings.start()
        if self.retention is not None:
            await self.retention.start()
        if self.mllp is not None:
            await self.mllp.start()
        if self.alerts is not None:
            await self.alerts.start()
        for heartbeat in self.heartbeats:
            await heartbeat.start()
        await self.usage.start()
        self._started = True

    async def stop(self) -> None:
        """Stop the loops, then close the channels' pooled connections."""
        for heartbeat in self.heartbeats:
            await heartbeat.stop()
        if self.alerts is not None:
            await self.alerts.stop()
        if self.retention is not None:
            await self.retention.stop()
        if self.mllp is not None:
            await self.mllp.stop()
        if self.warnings is not None:
            await self.warnings.stop()
        if self.runner is not None:
            await self.runner.stop()
        if self.webhooks is not None:
            await self.webhooks.stop()
        if self.runner is None and self.queue is not None and self.role is not Role.WORKER:
            await self.queue.stop(drain=False)  # a deferring-only queue: its connections
        await self.sender.aclose()
        await self.usage.stop()  # last: it writes what the loops above counted

    def runs_queued(self) -> None:
        """Runs were just queued (run now, backfill, re-authorise): give them their jobs now
        rather than at the next tick (no-op where no runner or deferring queue is here)."""
        if self.runner is not None:
            self.runner.kick()


def build_process(
    ctx: AppContext,
    role: Role,
    *,
    plugins: Plugins | None = None,
    connectors: ConnectorBuilder | None = None,
    channels: list[ChannelPlugin] | None = None,
) -> Process:
    """Build every part of a process for ``role`` (nothing started; see :meth:`Process.start`).

    ``plugins`` replaces the built-in sources and channels (tests register toy ones);
    ``connectors`` replaces how connectors are built (tests: faster retries);
    ``channels`` replaces only the channels.
    """
    settings = ctx.settings
    plugins = plugins or builtin_plugins(ctx)
    if channels is not None:
        plugins = Plugins.of(list(plugins.sources), channels, clock=plugins.clock)
    meter = Meter(
        today=lambda: ctx.clock.now().date(),
        enabled=settings.usage.enabled,
        instruments=Instruments() if settings.metrics.token is not None else None,
    )
    sender = ReviewSender(ctx, channels=plugins.channels, meter=meter)
    engine = SyncEngine(
        ctx,
        plugins=plugins,
        connectors=connectors,
        on_decided=sender.on_decided,
        meter=meter,
    )
    sync = SyncJobs(ctx, engine=engine)
    jobs = AppJobs(ctx, sender=sender, sync=sync)
    tasks = jobs.registry()
    schedule = jobs.schedule() if role is Role.WORKER else []
    queue = _queue(settings, role, tasks, schedule)
    answering = AnsweringRuntime(
        db=ctx.db, options=settings.answering, meter=meter if meter.enabled else None
    )
    process = Process(
        ctx=ctx,
        role=role,
        plugins=plugins,
        sender=sender,
        sync=sync,
        jobs=jobs,
        tasks=tasks,
        schedule=schedule,
        queue=queue,
        answering=answering,
        meter=meter,
        usage=UsageLoop(ctx, meter),
    )
    if queue is not None:
        dispatcher = Dispatcher(ctx, queue)
        sync.attach(dispatcher)
        sender.attach(queue)
        jobs.attach(queue)
        if role in (Role.SERVER, Role.DEMO, Role.API) and _runner_wanted(settings, role):
            process.runner = SyncWorker(ctx, queue=queue, dispatcher=dispatcher, sender=sender)
            if process.runner.runs_jobs:  # procrastinate workers run it as retention_purge
                process.retention = RetentionLoop(ctx)
    if role in (Role.SERVER, Role.DEMO, Role.API):
        # the one signed-webhook pump: ticket pushes and review-request events
        senders = Senders.from_settings(settings, connect_check=process.outbound.check_connect)
        pump = WebhookPump(ctx, senders=senders)
        answering.webhooks_queued = pump.kick
        process.webhooks = pump
        process.warnings = WarningLoop(ctx)
        process.alerts = AlertLoop(ctx)
    if role in (Role.SERVER, Role.DEMO) and settings.mllp.port is not None:
        process.mllp = mllp_listener(ctx)
        process.heartbeats.append(listener_heartbeat(ctx))
    if role is Role.WORKER or (process.runner is not None and process.runner.runs_jobs):
        process.heartbeats.append(Heartbeat(ctx, WORKER))
    return process


def _runner_wanted(settings: Settings, role: Role) -> bool:
    """The embedded runner (local backend) or the deferring node (procrastinate)."""
    return settings.jobs.backend == "procrastinate" or role is not Role.API


def _queue(
    settings: Settings, role: Role, tasks: TaskRegistry, schedule: list[Periodic]
) -> JobQueue | None:
    """The process's queue: the embedded runner's in a server, procrastinate wherever it is
    the backend (workers run it; other roles only defer into it); none for a CLI command or
    an API node on the embedded backend (nothing here would run its jobs)."""
    if settings.jobs.backend == "procrastinate":
        return build_job_queue(settings, tasks, db_url=settings.sqlalchemy_url, periodic=schedule)
    if role in (Role.SERVER, Role.DEMO):
        return build_job_queue(settings, tasks, db_url=settings.sqlalchemy_url)
    return None


@asynccontextmanager
async def running(ctx: AppContext, role: Role, **overrides: object) -> AsyncIterator[Process]:
    """Build, start, yield and stop a process around ``ctx`` (the caller owns ``ctx``)."""
    process = build_process(ctx, role, **overrides)  # type: ignore[arg-type]
    await process.start()
    try:
        yield process
    finally:
        await process.stop()
