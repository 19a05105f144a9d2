"""The outbound event store's writes and reads: enqueue, find, list, replay.

Functions take the caller's session and never commit (services own the transaction): a
ticket's status change queues its push in the transaction of the change; the review webhook
channel queues its event in a transaction of its own, once per event id.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.errors import Conflict, NotFound
from frontdesk.webhooks.models import PENDING, REPLAYABLE, REVIEW, TICKET, WebhookEvent

_TABLE: Table = WebhookEvent.__table__  # type: ignore[assignment]


def _pending(now: datetime) -> dict[str, Any]:
    return {
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def add_ticket_event(
    session: AsyncSession,
    *,
    company_id: int,
    ticket_pk: int,
    event: str,
    payload: dict[str, Any],
    now: datetime,
) -> WebhookEvent:
    """Queue a ticket push (its receiver dedupes by the row id, ``X-Frontdesk-Delivery``)."""
    row = WebhookEvent(
        event_id="tkt_" + secrets.token_hex(16),
        kind=TICKET,
        event=event,
        company_id=company_id,
        ticket_pk=ticket_pk,
        payload=payload,
        **_pending(now),
    )
    session.add(row)
    return row


async def add_review_event(
    session: AsyncSession,
    *,
    event_id: str,
    business_id: int,
    event: str,
    sealed_body: str,
    now: datetime,
) -> bool:
    """Queue a review-request event once per ``event_id`` (``ON CONFLICT DO NOTHING``);
    True when this call queued it, False when it was already there."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(_TABLE)
        .values(
            event_id=event_id,
            kind=REVIEW,
            event=event,
            business_id=business_id,
            sealed=sealed_body,
            **_pending(now),
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(_TABLE.c.id)
    )
    return (await session.execute(statement)).first() is not None


async def by_event_id(session: AsyncSession, *, event_id: str) -> WebhookEvent | None:
    """The event carrying ``event_id``, if it was ever queued."""
    query = select(WebhookEvent).where(WebhookEvent.event_id == event_id)
    return (await session.execute(query)).scalar_one_or_none()


async def list_events(
    session: AsyncSession,
    *,
    kind: str | None = None,
    state: str | None = None,
    company_id: int | None = None,
    business_ids: list[int] | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[WebhookEvent]:
    """Events newest first, filtered (the caller decides who may see which)."""
    query = select(WebhookEvent).order_by(WebhookEvent.id.desc())
    if kind is not None:
        query = query.where(WebhookEvent.kind == kind)
    if state:
        query = query.where(WebhookEvent.state == state)
    if company_id is not None:
        query = query.where(WebhookEvent.company_id == company_id)
    if business_ids is not None:
        query = query.where(WebhookEvent.business_id.in_(business_ids))
    if before_id is not None:
        query = query.where(WebhookEvent.id < before_id)
    return list((await session.execute(query.limit(limit))).scalars())


async def replay(
    session: AsyncSession, *, row_id: int, now: datetime, kind: str | None = None
) -> tuple[WebhookEvent, str]:
    """Queue a parked (or delivered) event again, now, with a fresh attempt budget and the
    same event id; returns the row and the state it was in. The caller audits."""
    row = await session.get(WebhookEvent, row_id, with_for_update=True)
    if row is None or (kind is not None and row.kind != kind):
        raise NotFound(f"delivery {row_id} not found", field="delivery")
    if row.state not in REPLAYABLE:
        raise Conflict(f"delivery {row_id} is {row.state}; it will be sent", field="state")
    previous = row.state
    row.state, row.attempts, row.next_attempt_at = PENDING, 0, now
    row.last_error, row.updated_at = None, now
    return row, previous
