"""The ticket desk's view of its pushes: list them, redeliver one, drive them in tests/tasks.

Since issue 22 the pushes are events (kind ``ticket``) of the one outbound event store and
the one pump (:mod:`frontdesk.webhooks`), which claims, signs with the desk's
``X-Frontdesk-*`` headers, POSTs, backs off and parks them. This module keeps the desk's
contract on top of it:

* :func:`list_deliveries` and :func:`redeliver` behind ``/api/answering/webhook-deliveries``
  (the desk's configure right; a redelivery is audited as ``answering.webhook.redeliver``);
* :func:`attempt_delivery` / :func:`deliver_due` / :func:`deliver_webhook` (the job queue's
  ``answering_deliver_webhook`` task): one attempt, or every due push.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering.desk.visibility import TicketAccess
from frontdesk.context import AppContext
from frontdesk.webhooks import pump, store
from frontdesk.webhooks.models import TICKET, WebhookEvent
from frontdesk.webhooks.sender import WebhookSender
from frontdesk.webhooks.service import replay_event

TASK_NAME: Final = "answering_deliver_webhook"


async def attempt_delivery(
    ctx: AppContext, delivery_id: int, *, sender: WebhookSender | None = None
) -> str:
    """One attempt; returns the new state, or ``"skipped"`` when nothing was due."""
    return await pump.attempt(ctx, delivery_id, sender=sender)


async def deliver_webhook(ctx: AppContext, *, delivery_id: int) -> None:
    """Task body for the job queue: one attempt of ``delivery_id`` (backoff lives in the row)."""
    await pump.attempt(ctx, delivery_id)


async def deliver_due(ctx: AppContext, *, sender: WebhookSender | None = None) -> int:
    """Attempt every due ticket push (oldest first, up to a batch); returns how many."""
    return await pump.deliver_due(ctx, sender=sender, kind=TICKET)


async def list_deliveries(
    session: AsyncSession,
    *,
    access: TicketAccess,
    state: str | None,
    company_id: int | None,
    before_id: int | None,
    limit: int,
) -> list[WebhookEvent]:
    """The desk's pushes, newest first (the configure right)."""
    access.require_configure()
    return await store.list_events(
        session,
        kind=TICKET,
        state=state,
        company_id=company_id,
        before_id=before_id,
        limit=limit,
    )


async def redeliver(
    session: AsyncSession, *, access: TicketAccess, ctx: AppContext, delivery_id: int
) -> WebhookEvent:
    """Queue a parked or delivered delivery again, now, with a fresh attempt budget."""
    access.require_configure()
    return await replay_event(
        session,
        clock=ctx.clock,
        actor=access.principal,
        row_id=delivery_id,
        kind=TICKET,
        action="answering.webhook.redeliver",
    )
