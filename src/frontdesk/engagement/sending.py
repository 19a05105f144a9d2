"""Sending review requests: the decision hook, the ``send_review_requests`` task, the sweeper.

``send_requests(ids)``, per slice of ``review.claim_batch`` ids:

1. one short write transaction: **claim** (``pending`` and due → ``sending``, attempts + 1,
   one conditional ``UPDATE ... RETURNING``) and **compose** (decrypt the patients' sealed
   documents, the location's review link, templates, a fresh unsubscribe link each); a
   request that cannot be composed is recorded in the same transaction and nothing is sent;
2. **send** the slice's messages at once through the location's channel, outside any
   transaction (at most ``review.send_concurrency`` messages in flight in the process: a
   slice is claimed only when it can be sent at once);
3. one short write transaction: **record** ``sent``; ``pending`` with backoff (transient);
   ``failed`` (permanent refusal); ``parked`` (attempts spent, configuration error).

The claim transaction also stores the id each message will carry (the channel's
``message_id``: the email ``Message-ID``), so a crash between 1 and 3 leaves rows ``sending``
*with* the id to look up; :meth:`ReviewSender.sweep` finds them once their claim is older
than the lease and asks the channel (``reconcile``) when it can answer, else parks them as
``outcome_unknown`` for an operator, who sees the id in the outbox and looks it up in the
relay's log: never a second message, never a silent loss. The
sweeper also re-defers pending rows that are due (the embedded queue lives in memory).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.context import AppContext
from frontdesk.delivery.channel import (
    ChannelRegistry,
    DeferredDelivery,
    PermanentDeliveryError,
    ReviewChannel,
    SendResult,
)
from frontdesk.engagement import ledger
from frontdesk.engagement.checkins import WrittenCheckIn, chunks
from frontdesk.engagement.composing import Composer, Prepared
from frontdesk.engagement.ledger_models import FAILED, PARKED, PENDING, SENT
from frontdesk.errors import ConfigurationError, FrontdeskError, TransientError
from frontdesk.jobs.local import LocalJobQueue
from frontdesk.jobs.queue import AlreadyQueued, JobQueue
from frontdesk.jobs.tasks import Task
from frontdesk.logs import get_logger
from frontdesk.retry import RetryPolicy
from frontdesk.usage.meter import Meter

log = get_logger(__name__)

SEND_TASK = "send_review_requests"
SWEEP_LOCK = "review:sweep"


class UnexpectedSendError(FrontdeskError):
    """A channel failed in a way nobody classified (a bug): the request is parked."""

    code = "internal_error"


class ReviewSender:
    """The ledger's runtime for one process: hook, task body, sweeper."""

    def __init__(
        self, ctx: AppContext, *, channels: ChannelRegistry, meter: Meter | None = None
    ) -> None:
        """``meter`` counts the outcomes recorded, per business, channel and state."""
        self.ctx = ctx
        self.meter = meter if meter is not None and meter.observing else None
        self.settings = ctx.settings.review
        self.channels = channels
        self.queue: JobQueue | None = None
        # No jitter: a row's next attempt is a plain time an operator can read in the outbox.
        self.retry = RetryPolicy(
            max_attempts=self.settings.max_attempts,
            base_s=self.settings.retry_base_s,
            max_s=self.settings.retry_max_s,
            jitter=0.0,
        )
        self.composer = Composer(ctx, channels=channels)
        # Slices in flight at once: a slice is claimed only when it can be sent at once, so a
        # row is ``sending`` only while its message is really on its way (lease arithmetic).
        slices = max(1, self.settings.send_concurrency // max(1, self.settings.claim_batch))
        self._slices = asyncio.Semaphore(slices)
        self._deferring: set[asyncio.Task[None]] = set()

    # -- wiring -------------------------------------------------------------------------

    def tasks(self) -> list[Task]:
        """The task this feature adds (retries are ledger state, not queue retries)."""
        return [Task(SEND_TASK, self.send_task, RetryPolicy(max_attempts=1))]

    def attach(self, queue: JobQueue) -> None:
        self.queue = queue

    async def aclose(self) -> None:
        """Close the channels' pooled connections: the owner calls this when it stops."""
        await self.channels.aclose()

    async def on_decided(self, session: AsyncSession, written: Sequence[WrittenCheckIn]) -> None:
        """The sync engine's decision hook: ledger rows for eligible check-ins, same transaction.

        A database-backed queue defers the send job in this transaction; the in-memory queue
        gets it after the commit (before it, the job would not see its rows). Jobs lost in a
        crash are found again by :meth:`sweep`.
        """
        ids = await ledger.insert_requests(session, written=written, now=self.ctx.clock.now())
        if not ids or self.queue is None:
            return
        if isinstance(self.queue, LocalJobQueue):
            loop = asyncio.get_running_loop()

            def deferred(_session: Any) -> None:
                task = loop.create_task(self.defer(ids))
                self._deferring.add(task)
                task.add_done_callback(self._deferring.discard)

            event.listen(session.sync_session, "after_commit", deferred, once=True)
            return
        await self.defer(ids, connection=session)

    async def defer(
        self,
        request_ids: Sequence[int],
        *,
        connection: Any = None,
        queueing_lock: str | None = None,
    ) -> None:
        """Queue one send job for ``request_ids`` (a duplicate job is harmless: claims decide)."""
        if self.queue is None or not request_ids:
            return
        with contextlib.suppress(AlreadyQueued):
            await self.queue.defer(
                SEND_TASK,
                args={"request_ids": list(request_ids)},
                queueing_lock=queueing_lock,
                connection=connection,
            )

    # -- the task body ------------------------------------------------------------------

    async def send_task(self, *, request_ids: list[int]) -> None:
        """Registered as ``send_review_requests``."""
        await self.send_requests(request_ids)

    async def send_request(self, request_id: int) -> str | None:
        """One request; the state recorded (None: not claimed here — not due, or taken)."""
        return (await self.send_requests([request_id])).get(request_id)

    async def send_requests(self, request_ids: Sequence[int]) -> dict[int, str]:
        """Claim, compose, send, record (see the module docstring); request id → state."""
        outcomes: dict[int, str] = {}
        for part in chunks(list(request_ids), self.settings.claim_batch):
            outcomes.update(await self._send_part(part))
        return outcomes

    async def _send_part(self, request_ids: Sequence[int]) -> dict[int, str]:
        async with self._slices:
            return await self._claim_send_record(request_ids)

    async def _claim_send_record(self, request_ids: Sequence[int]) -> dict[int, str]:
        ctx = self.ctx
        outcomes: dict[int, str] = {}
        async with ctx.db.transaction() as session:
            claimed = await ledger.claim_many(session, request_ids=request_ids, now=ctx.clock.now())
            if not claimed:
                return outcomes
            prepared, unusable = await self.composer.prepare(session, claimed)
            for claim, error in unusable:
                outcomes[claim.request_id] = await self._record_error(session, claim, error)
            await ledger.assign_message_ids(session, ids=self._message_ids(prepared))
        results = await asyncio.gather(*(self._send_one(p) for p in prepared))
        async with ctx.db.transaction() as session:
            sent = [(p.claim, r.message_id) for p, r in results if isinstance(r, SendResult)]
            await ledger.record_sent(session, sent=sent, now=ctx.clock.now())
            outcomes.update((claim.request_id, SENT) for claim, _ in sent)
            for p, r in results:
                if not isinstance(r, SendResult):
                    outcomes[p.claim.request_id] = await self._record_error(session, p.claim, r)
        if sent:
            log.info("review.sent", count=len(sent), request_ids=[c.request_id for c, _ in sent])
        if self.meter is not None:
            for item in claimed:
                state = outcomes.get(item.claim.request_id)
                if state is not None:
                    self.meter.review_request(item.business_id, item.channel, state)
        return outcomes

    async def _send_one(self, prepared: Prepared) -> tuple[Prepared, SendResult | FrontdeskError]:
        try:
            return prepared, await self._channel(prepared.channel).send(prepared.message)
        except FrontdeskError as error:
            return prepared, error
        except Exception as error:  # a bug: park it, keep patient data out of the text
            log.exception("review.send.crashed", request_id=prepared.claim.request_id)
            return prepared, UnexpectedSendError(type(error).__name__)

    def _message_ids(self, prepared: Sequence[Prepared]) -> list[tuple[ledger.Claim, str]]:
        """The ids the messages will carry, where the channel knows them before sending."""
        ids: list[tuple[ledger.Claim, str]] = []
        for item in prepared:
            message_id = self._channel(item.channel).message_id(item.message.ledger_key)
            if message_id:
                ids.append((item.claim, message_id))
        return ids

    def _channel(self, name: str) -> ReviewChannel:
        return self.channels.get(name)

    async def _record_error(
        self, session: AsyncSession, claim: ledger.Claim, error: FrontdeskError
    ) -> str:
        now = self.ctx.clock.now()
        code: str = error.code
        next_at: datetime | None = None
        if isinstance(error, DeferredDelivery):
            state, next_at = PENDING, error.not_before
        elif isinstance(error, TransientError):
            if not self.retry.should_retry(error, claim.attempt):
                state, code = PARKED, "attempts_exhausted"
            else:
                state, next_at = PENDING, now + timedelta(seconds=self.backoff(claim.attempt))
        elif isinstance(error, PermanentDeliveryError):
            state, code = FAILED, error.reason
        elif isinstance(error, ConfigurationError | UnexpectedSendError):
            state = PARKED
        else:
            state = FAILED
        await ledger.record(
            session,
            claim_=claim,
            state=state,
            now=now,
            error_code=code,
            error=error.message,
            next_attempt_at=next_at,
        )
        log.warning(
            "review.send.outcome",
            request_id=claim.request_id,
            attempt=claim.attempt,
            state=state,
            error=code,
        )
        return state

    def backoff(self, attempt: int) -> float:
        """Seconds before the next attempt after failed ``attempt`` (exponential, capped)."""
        return self.retry.delay(attempt)

    # -- the sweeper --------------------------------------------------------------------

    async def sweep(self, *, grace_s: float | None = None) -> dict[str, int]:
        """Resolve ``sending`` rows past the lease; re-defer pending rows that are due and
        untouched for ``grace_s`` (default ``review.sweep_grace_s``) in one job."""
        ctx = self.ctx
        now = ctx.clock.now()
        async with ctx.db.reader() as session:
            stale = await ledger.stale_sending(session, now=now, lease_s=self.settings.lease_s)
        resolved = {SENT: 0, PENDING: 0, PARKED: 0}
        for found in stale:
            state, code = await self._resolve(found)
            claim_ = ledger.Claim(found.request_id, token=found.token, attempt=found.attempt)
            async with ctx.db.transaction() as session:
                if await ledger.record(
                    session,
                    claim_=claim_,
                    state=state,
                    now=ctx.clock.now(),
                    error_code=code,
                    error="the sender stopped while sending" if code else None,
                    next_attempt_at=ctx.clock.now() if state == PENDING else None,
                ):
                    resolved[state] += 1
                    log.warning("review.send.resolved", request_id=found.request_id, state=state)
                    if self.meter is not None:
                        self.meter.review_request(found.business_id, found.channel, state)
        due: list[int] = []
        if self.queue is not None:
            grace = self.settings.sweep_grace_s if grace_s is None else grace_s
            async with ctx.db.reader() as session:
                due = await ledger.due_pending(
                    session,
                    now=now,
                    untouched_since=now - timedelta(seconds=grace),
                    limit=self.settings.sweep_batch,
                )
            await self.defer(due, queueing_lock=SWEEP_LOCK)
        return {"deferred": len(due), **{f"resolved_{k}": v for k, v in resolved.items()}}

    async def _resolve(self, stale: ledger.Stale) -> tuple[str, str | None]:
        """What a stale ``sending`` row becomes: ask the channel when it can answer."""
        try:
            channel = self._channel(stale.channel)
        except ConfigurationError:
            return PARKED, "outcome_unknown"
        try:
            delivered = await channel.reconcile(stale.key, stale.message_id)
        except FrontdeskError:
            delivered = None
        if delivered is True:
            return SENT, None
        if delivered is False:
            return PENDING, "interrupted"
        return PARKED, "outcome_unknown"
