"""The ``sync_group`` task body: one attempt at one run, from claim to finish.

``claim`` (queued → running, lease) → ``prepare`` (one short transaction) → ``read`` the
window through the group's connector → per batch (``batch_size`` appointments, or fewer once
the batch is ``batch_max_wait_s`` old): decide (bulk look-ups, plain rules) and
write (one short transaction: renew the fenced lease, insert check-ins ``ON CONFLICT DO
NOTHING``, call the decision hook) → ``finish`` with counts and the new cursor.

Failures, classified once by the connector:

- transient (timeouts, 5xx, 429): the run goes back to ``queued`` and
  :class:`~frontdesk.errors.TransientError` is raised so the job queue retries with backoff;
  after ``max_attempts`` claims the run fails with the error's code;
- credentials rejected: the group becomes ``unauthorized`` (with the reason) and the run
  fails; a missing licence or another configuration error fails the run, naming the action;
- cancellation (shutdown): the run goes back to ``queued`` at once;
- a crash: the lease expires and the dispatcher queues the run again.

Decisions already written stay; the next attempt skips them. Task bodies never import a
job engine: ``SyncEngine.sync_group`` is registered by :mod:`frontdesk.sync.jobs` (both runners).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.connectors.base import Appointment, Connector
from frontdesk.connectors.errors import CredentialsRejected, MissingLicense
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.context import AppContext
from frontdesk.credentials import incidents
from frontdesk.engagement.checkins import WrittenCheckIn, insert_checkins, run_counts
from frontdesk.errors import FrontdeskError, TransientError, Unauthorized
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.logs import get_logger
from frontdesk.plugins import ConnectorBuilder, Plugins
from frontdesk.settings import Settings
from frontdesk.sync import runs
from frontdesk.sync.batch import BatchDecider
from frontdesk.sync.models import CANCELLED, FAILED, SUCCEEDED
from frontdesk.sync.prepare import NotRunnable, PreparedRun, prepare_run
from frontdesk.sync.reporting import log_decisions, record_unauthorized
from frontdesk.sync.routing import Router
from frontdesk.usage.meter import Meter, metering_business

log = get_logger(__name__)

DecisionHook = Callable[[AsyncSession, Sequence[WrittenCheckIn]], Awaitable[None]]
Progress = Callable[[int, int], None]
"""``progress(fetched, decided)`` after every batch."""


class LeaseLost(Exception):
    """Another worker took the run over (this one's lease expired)."""


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended: the run's status and counts (None: not claimed)."""

    run_id: int
    status: str
    counts: dict[str, Any]


class SyncEngine:
    """Runs sync attempts for a process; one instance per process (shares the limits)."""

    def __init__(
        self,
        ctx: AppContext,
        *,
        plugins: Plugins,
        connectors: ConnectorBuilder | None = None,
        on_decided: DecisionHook | None = None,
        meter: Meter | None = None,
    ) -> None:
        """``meter`` counts runs, check-ins and the connectors' remote calls (None: nothing)."""
        self.ctx = ctx
        self.plugins = plugins
        self.sources = plugins.sources
        self.settings = ctx.settings.sync
        self._connectors = connectors or self._default_connector
        self._on_decided = on_decided
        self._limits: ConcurrencyLimits | None = None
        self.meter = meter if meter is not None and meter.observing else None
        self._started: dict[int, float] = {}

    def _default_connector(
        self, source: str, properties: Mapping[str, str], settings: Settings
    ) -> Connector:
        if self._limits is None:
            if self.meter is not None:
                self._limits = ConcurrencyLimits.from_settings(settings, observer=self.meter)
            else:
                self._limits = ConcurrencyLimits.from_settings(settings)
        return self.plugins.connector(source, properties, settings, self._limits)

    async def sync_group(self, *, run_id: int) -> None:
        """The task body (registered as ``sync_group``)."""
        await self.attempt(run_id)

    async def attempt(self, run_id: int, *, progress: Progress | None = None) -> Outcome | None:
        """Claim and run ``run_id`` once; None when it was not queued (nothing to do)."""
        ctx = self.ctx
        async with ctx.db.transaction() as session:
            claim = await runs.claim(
                session, run_id=run_id, now=ctx.clock.now(), lease_s=self.settings.lease_s
            )
        if claim is None:
            log.info("sync.run.not_claimed", run_id=run_id)
            return None
        log.info("sync.run.started", run_id=run_id, group_id=claim.group_id, attempt=claim.attempt)
        self._started[run_id] = time.perf_counter()
        heartbeat = asyncio.create_task(self._heartbeat(claim))
        try:
            return await self._run(claim, progress)
        except LeaseLost:
            log.warning("sync.run.lease_lost", run_id=run_id, attempt=claim.attempt)
            return None
        except asyncio.CancelledError:
            await asyncio.shield(self._release(claim))
            raise
        except TransientError as error:
            if claim.attempt >= self.settings.max_attempts:
                return await self._fail(claim, error.code, error.message)
            async with ctx.db.transaction() as session:
                await runs.requeue(
                    session,
                    claim_=claim,
                    available_at=ctx.clock.now(),
                    error_code=error.code,
                    error_message=error.message,
                )
            log.warning("sync.run.retry", run_id=run_id, attempt=claim.attempt, error=error.code)
            raise
        except (CredentialsRejected, Unauthorized) as error:
            async with ctx.db.transaction() as session:
                await record_unauthorized(session, clock=ctx.clock, claim=claim, error=error)
                await incidents.record_stop(
                    session,
                    clock=ctx.clock,
                    group_id=claim.group_id,
                    run_id=claim.run_id,
                    reason=error.reason if isinstance(error, CredentialsRejected) else error.code,
                    message=error.message,
                )
            outcome = await self._fail(claim, "unauthorized", error.message)
            await incidents.notify_incidents(ctx)
            return outcome
        except MissingLicense as error:
            async with ctx.db.transaction() as session:
                await incidents.block_for_license(
                    session,
                    clock=ctx.clock,
                    group_id=claim.group_id,
                    run_id=claim.run_id,
                    action=error.action,
                )
            outcome = await self._fail(claim, error.code, f"{error.message}: add it to the licence")
            await incidents.notify_incidents(ctx)
            return outcome
        except FrontdeskError as error:
            return await self._fail(claim, error.code, error.message)
        except Exception as error:  # a bug: fail the run, keep patient data out of the text
            log.exception("sync.run.crashed", run_id=run_id, error_type=type(error).__name__)
            return await self._fail(claim, "internal_error", type(error).__name__)
        finally:
            self._started.pop(run_id, None)
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _run(self, claim: runs.Claim, progress: Progress | None) -> Outcome | None:
        ctx = self.ctx
        async with ctx.db.transaction() as session:
            prepared = await prepare_run(
                session,
                sources=self.sources,
                run_id=claim.run_id,
                settings=self.settings,
                secrets=ctx.secrets,
                clock=ctx.clock,
            )
        if isinstance(prepared, NotRunnable):
            return await self._end(claim, CANCELLED, {}, None, prepared.code, prepared.message)
        with metering_business(prepared.scope.scope_business_id):
            connector = self._connectors(
                prepared.source_name, prepared.connector_properties, ctx.settings
            )
            try:
                decider = self._decider(prepared, connector)
                stream = connector.read(prepared.window, prepared.cursor)
                size, max_wait = self.settings.batch_size, self.settings.batch_max_wait_s
                now = asyncio.get_running_loop().time
                batch: list[Appointment] = []
                deadline = 0.0
                async for appointment in stream:
                    if not batch:
                        deadline = now() + max_wait
                    batch.append(appointment)
                    if len(batch) >= size or now() >= deadline:
                        await self._write(claim, decider, batch, progress)
                        batch = []
                await self._write(claim, decider, batch, progress)
                cursor = stream.cursor
            finally:
                await connector.aclose()
        async with ctx.db.reader() as session:
            counts = {**decider.tally.as_dict(), **await run_counts(session, run_id=claim.run_id)}
        return await self._end(claim, SUCCEEDED, counts, cursor, None, None)

    def _decider(self, prepared: PreparedRun, connector: Connector) -> BatchDecider:
        router = Router.build(
            active=prepared.active,
            in_scope=prepared.in_scope,
            status_matches=connector.status_matches,
        )
        return BatchDecider(
            scope=prepared.scope,
            router=router,
            pepper=prepared.pepper,
            secrets=self.ctx.secrets,
            cap_days=max(r.frequency_cap_days for r in prepared.in_scope),
            reach_of=self.plugins.channels.reach,
            choice_of=self.plugins.channels.choice,
        )

    async def _write(
        self,
        claim: runs.Claim,
        decider: BatchDecider,
        batch: list[Appointment],
        progress: Progress | None,
    ) -> None:
        ctx = self.ctx
        rows = await decider.decide(ctx.db, batch, ctx.clock.now()) if batch else []
        async with ctx.db.transaction() as session:
            if not await runs.renew_lease(
                session, claim_=claim, now=ctx.clock.now(), lease_s=self.settings.lease_s
            ):
                raise LeaseLost(claim.run_id)
            written = await insert_checkins(session, rows)
            if written and self._on_decided is not None:
                await self._on_decided(session, written)
        if written and self.meter is not None:
            self._count_checkins(decider.scope.scope_business_id, rows, written)
        if self.settings.log_decisions:
            log_decisions(claim, rows, written)
        if progress is not None:
            progress(decider.tally.fetched, decider.tally.decided)

    def _count_checkins(
        self, scope_business: int, rows: list[dict[str, Any]], written: list[WrittenCheckIn]
    ) -> None:
        """Meter the decisions this batch wrote (rows already decided elsewhere are not)."""
        assert self.meter is not None
        new = {(w.appointment_id, w.appointment_day) for w in written}
        for row in rows:
            if (row["appointment_id"], row["appointment_day"]) in new:
                self.meter.checkin(
                    row["business_id"] or scope_business, row["decision"], row["restriction_reason"]
                )

    async def _heartbeat(self, claim: runs.Claim) -> None:
        interval = max(self.settings.lease_s / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            async with self.ctx.db.transaction() as session:
                owned = await runs.renew_lease(
                    session, claim_=claim, now=self.ctx.clock.now(), lease_s=self.settings.lease_s
                )
            if not owned:
                return

    async def _release(self, claim: runs.Claim) -> None:
        async with self.ctx.db.transaction() as session:
            await runs.requeue(
                session,
                claim_=claim,
                available_at=self.ctx.clock.now(),
                error_code="interrupted",
                error_message="the worker stopped during the run",
            )
        log.warning("sync.run.interrupted", run_id=claim.run_id, attempt=claim.attempt)

    async def _fail(self, claim: runs.Claim, code: str, message: str) -> Outcome | None:
        return await self._end(claim, FAILED, {}, None, code, message)

    async def _end(
        self,
        claim: runs.Claim,
        status: str,
        counts: dict[str, Any],
        cursor: str | None,
        code: str | None,
        message: str | None,
    ) -> Outcome | None:
        async with self.ctx.db.transaction() as session:
            owned = await runs.finish(
                session,
                claim_=claim,
                status=status,
                now=self.ctx.clock.now(),
                counts=counts or None,
                cursor=cursor,
                error_code=code,
                error_message=message,
            )
            business = (
                await session.scalar(
                    select(IntegrationGroup.business_id).where(
                        IntegrationGroup.id == claim.group_id
                    )
                )
                if owned and self.meter is not None
                else None
            )
        if not owned:
            log.warning("sync.run.lease_lost", run_id=claim.run_id, attempt=claim.attempt)
            return None
        if self.meter is not None:
            started = self._started.get(claim.run_id, time.perf_counter())
            self.meter.sync_run(business or 0, status, time.perf_counter() - started)
        log.info(
            "sync.run.finished",
            run_id=claim.run_id,
            group_id=claim.group_id,
            attempt=claim.attempt,
            status=status,
            error=code,
            **{k: v for k, v in counts.items() if k != "restricted"},
            restricted=counts.get("restricted", {}),
        )
        return Outcome(run_id=claim.run_id, status=status, counts=counts)
