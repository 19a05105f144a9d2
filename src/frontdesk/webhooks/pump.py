"""Delivering signed webhook events: claim → sign → POST → record, with backoff and parking.

The state lives in ``webhook_events`` (:mod:`frontdesk.webhooks.models`), not in a job
engine, so it survives restarts and any runner can drive it:

* :func:`attempt` makes one attempt. It **claims** the row in a short transaction
  (``pending`` and due, or ``sending`` whose lease ran out because its sender died) by
  setting ``sending``, ``attempts + 1`` and a lease; signs and POSTs with no transaction
  open; then **records** the outcome if the row is still its claim (``attempts`` fences a
  late record): 2xx → ``delivered``; a retryable failure → ``pending`` again after the one
  :class:`~frontdesk.retry.RetryPolicy`'s backoff, or ``parked`` once the kind's
  ``max_attempts`` are spent; a refusal (3xx, 4xx but 408/429) → ``parked`` at once unless
  the kind retries refusals (ticket pushes, as documented to answering services); a
  destination the outbound rule refuses → ``parked``. An event with no target (no active
  webhook, no endpoint) is parked without a POST.
* :class:`WebhookPump` is the one in-process loop (built by the composition root): it sends
  what is due every ``webhooks.poll_s`` seconds, and at once when kicked.

Delivery is at least once, with the same event id on every attempt: a crash between the
POST and the record leaves ``sending``; after the lease the next runner POSTs again, and the
receiver drops what it already has (``X-Frontdesk-Delivery`` / ``webhook-id``).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ColumnElement, and_, select

from frontdesk.context import AppContext
from frontdesk.logs import get_logger
from frontdesk.retry import RetryPolicy
from frontdesk.security.outbound import OutboundPolicy
from frontdesk.settings import WebhookDeliverySettings
from frontdesk.webhooks.kinds import KINDS, Kind
from frontdesk.webhooks.models import DELIVERED, PARKED, PENDING, SENDING, WebhookEvent
from frontdesk.webhooks.sender import Senders, SendResult, WebhookSender
from frontdesk.webhooks.signing import Signing

log = get_logger(__name__)
SKIPPED: Final = "skipped"


def backoff(options: WebhookDeliverySettings, attempts: int) -> timedelta:
    """The wait before the next POST after ``attempts`` failed ones (the one retry policy)."""
    policy = RetryPolicy(base_s=options.backoff_base_s, max_s=options.backoff_max_s)
    return timedelta(seconds=policy.delay(attempts))


@dataclass(frozen=True, slots=True)
class _Claim:
    attempt: int
    kind: Kind
    url: str
    secret: str = field(repr=False)
    event_id: str
    event: str
    body: bytes = field(repr=False)


def _due(now: datetime) -> ColumnElement[bool]:
    """Pending and due, or sending with its lease run out."""
    return and_(
        WebhookEvent.state.in_((PENDING, SENDING)),
        WebhookEvent.next_attempt_at <= now,
    )


async def _claim(ctx: AppContext, row_id: int) -> _Claim | str:
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        row = await session.get(WebhookEvent, row_id, with_for_update=True)
        due = row is not None and row.next_attempt_at is not None and row.next_attempt_at <= now
        if row is None or row.state not in (PENDING, SENDING) or not due:
            return SKIPPED
        kind = KINDS[row.kind]
        target = await kind.target(session, secrets=ctx.secrets, row=row)
        row.updated_at = now
        if target is None:
            row.state, row.next_attempt_at, row.last_error = PARKED, None, kind.no_target
            await kind.recorded(session, row=row, now=now)
            return PARKED
        row.state = SENDING
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=kind.options(ctx.settings).lease_s)
        return _Claim(
            attempt=row.attempts,
            kind=kind,
            url=target.url,
            secret=target.secret,
            event_id=row.event_id,
            event=row.event,
            body=kind.body(row, secrets=ctx.secrets),
        )


async def _record(ctx: AppContext, row_id: int, claim: _Claim, result: SendResult) -> str:
    now = ctx.clock.now()
    options = claim.kind.options(ctx.settings)
    async with ctx.db.transaction() as session:
        row = await session.get(WebhookEvent, row_id, with_for_update=True)
        if row is None or row.state != SENDING or row.attempts != claim.attempt:
            return SKIPPED  # the lease ran out and another runner took over
        row.updated_at = now
        row.last_status_code = result.status_code
        if result.delivered:
            row.state, row.delivered_at, row.next_attempt_at = DELIVERED, now, None
            row.last_error = None
        elif row.attempts >= options.max_attempts or not (
            result.retryable or (claim.kind.retries_refusals and not result.refused)
        ):
            row.state, row.next_attempt_at, row.last_error = PARKED, None, result.error
        else:
            row.state, row.last_error = PENDING, result.error
            row.next_attempt_at = now + backoff(options, row.attempts)
        await claim.kind.recorded(session, row=row, now=now)
        return row.state


async def attempt(
    ctx: AppContext, row_id: int, *, sender: Senders | WebhookSender | None = None
) -> str:
    """One attempt of event ``row_id``; the new state, or ``"skipped"`` when nothing was due.

    ``sender``: the pump's senders (or one sender, for tests); none: one made for this
    attempt on the process's outbound stack."""
    claim = await _claim(ctx, row_id)
    if isinstance(claim, str):
        return claim
    signing = Signing(
        secret=claim.secret,
        delivery_id=row_id,
        event_id=claim.event_id,
        event=claim.event,
        body=claim.body,
        when=ctx.clock.now(),
    )
    headers = claim.kind.signer.headers(signing)
    timeout_s = claim.kind.options(ctx.settings).timeout_s
    own = sender is None
    if isinstance(sender, Senders):
        sender = sender.pick(guarded=claim.kind.guarded)
    elif sender is None:
        check = OutboundPolicy.from_settings(ctx.settings).check_connect
        sender = WebhookSender.from_settings(
            ctx.settings, timeout_s=timeout_s, connect_check=check if claim.kind.guarded else None
        )
    try:
        result = await sender.post(claim.url, claim.body, headers, timeout_s=timeout_s)
    finally:
        if own:
            await sender.aclose()
    state = await _record(ctx, row_id, claim, result)
    log.info(
        "webhooks.attempt",
        kind=claim.kind.name,
        delivery_id=row_id,
        attempt=claim.attempt,
        status_code=result.status_code,
        error=result.error,
        state=state,
    )
    return state


async def due_events(ctx: AppContext, *, limit: int, kind: str | None = None) -> list[int]:
    """Ids of the events due now (oldest due first)."""
    query = select(WebhookEvent.id).where(_due(ctx.clock.now()))
    if kind is not None:
        query = query.where(WebhookEvent.kind == kind)
    query = query.order_by(WebhookEvent.next_attempt_at, WebhookEvent.id).limit(limit)
    async with ctx.db.reader() as session:
        return list((await session.execute(query)).scalars())


async def deliver_due(
    ctx: AppContext, *, sender: Senders | WebhookSender | None = None, kind: str | None = None
) -> int:
    """Attempt every due event (oldest first, up to ``webhooks.batch``); returns how many."""
    ids = await due_events(ctx, limit=ctx.settings.webhooks.batch, kind=kind)
    for row_id in ids:
        await attempt(ctx, row_id, sender=sender)
    return len(ids)


class WebhookPump:
    """The one in-process delivery loop (``frontdesk serve``, the API node, the demo)."""

    def __init__(self, ctx: AppContext, *, senders: Senders) -> None:
        self.ctx = ctx
        self._sender = senders
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-pump")

    def kick(self) -> None:
        """Events were just queued or replayed: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._sender.aclose()

    async def _run(self) -> None:
        while True:
            try:
                while await deliver_due(self.ctx, sender=self._sender):
                    pass
            except Exception as exc:  # keep going: the rows hold the truth
                log.error("webhooks.pump_failed", error_type=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.ctx.settings.webhooks.poll_s)
            self._wake.clear()
