"""Sending webhook deliveries: claim → POST → record, with backoff, parking and redelivery.

The state lives in ``answering_webhook_deliveries``, not in a job engine, so it survives
restarts and any runner can drive it:

* :func:`attempt_delivery` makes one attempt. It **claims** the row in a short transaction
  (``pending`` and due, or ``sending`` whose lease ran out because its sender died) by setting
  ``sending``, ``attempts + 1`` and a lease; POSTs with no transaction open; then **records**
  the outcome if the row is still its claim: 2xx → ``delivered``; otherwise ``pending`` again
  with ``next_attempt_at`` after an exponential backoff with jitter, or ``parked`` once
  ``max_attempts`` POSTs failed. A company without an active webhook parks its deliveries.
* :func:`deliver_webhook` is the same as a plain task body (``delivery_id`` keyword) for the
  job queue; :class:`WebhookPump` is the in-process loop ``frontdesk serve`` runs: it sends
  what is due every ``poll_s`` seconds, and at once when kicked after a status change.
* :func:`redeliver` puts a parked (or delivered) delivery back to ``pending`` with a fresh
  attempt budget.

Delivery is at least once: a crash between the POST and the record repeats the POST, so
receivers dedupe by ``X-Frontdesk-Delivery``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering.desk.models import AnsweringCompanyWebhook, AnsweringWebhookDelivery
from frontdesk.answering.desk.visibility import TicketAccess
from frontdesk.answering.desk.webhook_sender import SendResult, WebhookSender
from frontdesk.answering.desk.webhooks import (
    DELIVERED,
    DELIVERY_HEADER,
    EVENT_HEADER,
    PARKED,
    PENDING,
    SENDING,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    encode_body,
    sign,
)
from frontdesk.audit.service import record_event
from frontdesk.context import AppContext
from frontdesk.errors import Conflict, NotFound
from frontdesk.logs import get_logger
from frontdesk.retry import RetryPolicy
from frontdesk.settings import TicketWebhookSettings

log = get_logger(__name__)
TASK_NAME: Final = "answering_deliver_webhook"


def backoff(options: TicketWebhookSettings, attempts: int) -> timedelta:
    """The wait before the next POST after ``attempts`` failed ones (the one retry policy)."""
    policy = RetryPolicy(base_s=options.backoff_base_s, max_s=options.backoff_max_s)
    return timedelta(seconds=policy.delay(attempts))


@dataclass(frozen=True, slots=True)
class _Claim:
    attempt: int
    url: str
    secret: str
    body: bytes
    event: str


def _due(now: datetime) -> ColumnElement[bool]:
    """Pending and due, or sending with its lease run out."""
    return and_(
        AnsweringWebhookDelivery.state.in_((PENDING, SENDING)),
        AnsweringWebhookDelivery.next_attempt_at <= now,
    )


async def _claim(ctx: AppContext, delivery_id: int, options: TicketWebhookSettings) -> _Claim | str:
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        row = await session.get(AnsweringWebhookDelivery, delivery_id, with_for_update=True)
        due = row is not None and row.next_attempt_at is not None and row.next_attempt_at <= now
        if row is None or row.state not in (PENDING, SENDING) or not due:
            return "skipped"
        hook = await session.get(AnsweringCompanyWebhook, row.company_id)
        row.updated_at = now
        if hook is None or not hook.active:
            row.state = PARKED
            row.next_attempt_at = None
            row.last_error = "no active webhook for the company"
            return PARKED
        row.state = SENDING
        row.attempts += 1
        row.next_attempt_at = now + timedelta(seconds=options.lease_s)
        return _Claim(
            attempt=row.attempts,
            url=hook.url,
            secret=ctx.secrets.decrypt(hook.secret),
            body=encode_body(dict(row.payload), row.id),
            event=row.event,
        )


async def _record(
    ctx: AppContext,
    delivery_id: int,
    claim: _Claim,
    result: SendResult,
    options: TicketWebhookSettings,
) -> str:
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        row = await session.get(AnsweringWebhookDelivery, delivery_id, with_for_update=True)
        if row is None or row.state != SENDING or row.attempts != claim.attempt:
            return "skipped"  # the lease ran out and another runner took over
        row.updated_at = now
        row.last_status_code = result.status_code
        if result.delivered:
            row.state = DELIVERED
            row.delivered_at = now
            row.next_attempt_at = None
            row.last_error = None
        elif row.attempts >= options.max_attempts:
            row.state = PARKED
            row.next_attempt_at = None
            row.last_error = result.error
        else:
            row.state = PENDING
            row.next_attempt_at = now + backoff(options, row.attempts)
            row.last_error = result.error
        return row.state


async def attempt_delivery(
    ctx: AppContext, delivery_id: int, *, sender: WebhookSender | None = None
) -> str:
    """One attempt; returns the new state, or ``"skipped"`` when nothing was due."""
    options = ctx.settings.answering.webhooks
    claim = await _claim(ctx, delivery_id, options)
    if isinstance(claim, str):
        return claim
    timestamp = str(int(ctx.clock.now().timestamp()))
    headers = {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(claim.secret, timestamp, claim.body),
        DELIVERY_HEADER: str(delivery_id),
        EVENT_HEADER: claim.event,
    }
    own = sender is None
    sender = sender or WebhookSender.from_settings(ctx.settings, timeout_s=options.timeout_s)
    try:
        result = await sender.post(claim.url, claim.body, headers)
    finally:
        if own:
            await sender.aclose()
    state = await _record(ctx, delivery_id, claim, result, options)
    log.info(
        "answering.webhook_attempt",
        delivery_id=delivery_id,
        attempt=claim.attempt,
        status_code=result.status_code,
        error=result.error,
        state=state,
    )
    return state


async def deliver_webhook(ctx: AppContext, *, delivery_id: int) -> None:
    """Task body for the job queue: one attempt of ``delivery_id`` (backoff lives in the row)."""
    await attempt_delivery(ctx, delivery_id)


async def due_deliveries(ctx: AppContext, *, limit: int) -> list[int]:
    query = (
        select(AnsweringWebhookDelivery.id)
        .where(_due(ctx.clock.now()))
        .order_by(AnsweringWebhookDelivery.next_attempt_at, AnsweringWebhookDelivery.id)
        .limit(limit)
    )
    async with ctx.db.reader() as session:
        return list((await session.execute(query)).scalars())


async def deliver_due(ctx: AppContext, *, sender: WebhookSender | None = None) -> int:
    """Attempt every due delivery (oldest first, up to ``batch``); returns how many."""
    ids = await due_deliveries(ctx, limit=ctx.settings.answering.webhooks.batch)
    for delivery_id in ids:
        await attempt_delivery(ctx, delivery_id, sender=sender)
    return len(ids)


class WebhookPump:
    """The in-process delivery loop of ``frontdesk serve``."""

    def __init__(self, ctx: AppContext, *, sender: WebhookSender | None = None) -> None:
        self.ctx = ctx
        self._sender = sender
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._sender is None:
            self._sender = WebhookSender.from_settings(
                self.ctx.settings, timeout_s=self.ctx.settings.answering.webhooks.timeout_s
            )
        self._task = asyncio.create_task(self._run(), name="answering-webhooks")

    def kick(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sender is not None:
            await self._sender.aclose()

    async def _run(self) -> None:
        while True:
            try:
                while await deliver_due(self.ctx, sender=self._sender):
                    pass
            except Exception as exc:  # keep going: the rows hold the truth
                log.error("answering.webhook_pump_failed", error_type=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), self.ctx.settings.answering.webhooks.poll_s
                )
            self._wake.clear()


async def list_deliveries(
    session: AsyncSession,
    *,
    access: TicketAccess,
    state: str | None,
    company_id: int | None,
    before_id: int | None,
    limit: int,
) -> list[AnsweringWebhookDelivery]:
    access.require_configure()
    query = select(AnsweringWebhookDelivery).order_by(AnsweringWebhookDelivery.id.desc())
    if state:
        query = query.where(AnsweringWebhookDelivery.state == state)
    if company_id is not None:
        query = query.where(AnsweringWebhookDelivery.company_id == company_id)
    if before_id is not None:
        query = query.where(AnsweringWebhookDelivery.id < before_id)
    return list((await session.execute(query.limit(limit))).scalars())


async def redeliver(
    session: AsyncSession, *, access: TicketAccess, ctx: AppContext, delivery_id: int
) -> AnsweringWebhookDelivery:
    """Queue a parked or delivered delivery again, now, with a fresh attempt budget."""
    access.require_configure()
    row = await session.get(AnsweringWebhookDelivery, delivery_id, with_for_update=True)
    if row is None:
        raise NotFound(f"delivery {delivery_id} not found", field="delivery")
    if row.state not in (PARKED, DELIVERED):
        raise Conflict(f"delivery {delivery_id} is {row.state}; it will be sent", field="state")
    now = ctx.clock.now()
    previous = row.state
    row.state = PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.last_error = None
    row.updated_at = now
    await record_event(
        session,
        clock=ctx.clock,
        actor=access.principal,
        action="answering.webhook.redeliver",
        target_type="answering_webhook_delivery",
        target_id=str(delivery_id),
        business_id=None,
        details={"from": previous, "companyId": row.company_id},
    )
    return row
