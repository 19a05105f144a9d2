"""The review funnel of a business over a period: sent → delivered → clicked, per channel.

A request counts once it was *sent* in the period (``sent_at``, UTC days). *Delivered*
counts the provider's delivery receipts (``delivery_statuses``: texts' status callbacks);
channels without receipts (email, webhook) report ``receipts: false`` and no deliveries,
rather than guessing. *Clicked* counts requests whose tracked link (``/r/{token}``) was
opened at least once, whenever that happened. The usage dashboard and the outbox
(``GET /api/outbox/funnel``) show it; nothing here reads patient data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.delivery.sms.models import DeliveryStatus
from frontdesk.delivery.tracking.models import TrackedLink
from frontdesk.engagement.ledger_models import ReviewRequest


@dataclass
class Stage:
    """The funnel of one channel."""

    sent: int = 0
    delivered: int = 0
    clicked: int = 0
    receipts: bool = False
    """Whether the channel reports deliveries (else ``delivered`` stays 0)."""


@dataclass
class Funnel:
    """The funnel of all channels together, and of each."""

    first: date
    last: date
    sent: int = 0
    delivered: int = 0
    clicked: int = 0
    channels: dict[str, Stage] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "sent": self.sent,
            "delivered": self.delivered,
            "clicked": self.clicked,
            "channels": {
                name: {
                    "sent": s.sent,
                    "delivered": s.delivered,
                    "clicked": s.clicked,
                    "receipts": s.receipts,
                }
                for name, s in sorted(self.channels.items())
            },
        }


def _ledger_key() -> ColumnElement[str]:
    """:func:`~frontdesk.engagement.ledger_models.ledger_key` in SQL (joins the links)."""
    r = ReviewRequest
    parts: list[Any] = [
        cast(r.business_id, String),
        cast(r.source_id, String),
        r.appointment_id,
        cast(r.trigger_id, String),
        r.channel,
    ]
    key: ColumnElement[str] = literal("rr")
    for part in parts:
        key = key + literal(":") + part
    return key


async def review_funnel(
    session: AsyncSession,
    *,
    first: date,
    last: date,
    business_id: int | None = None,
    scope_business_id: int | None = None,
    where: ColumnElement[bool] | None = None,
) -> Funnel:
    """The funnel of the requests sent from ``first`` to ``last`` (UTC days, inclusive) by
    one location (``business_id``), one practice (``scope_business_id``), or those matching
    ``where`` (the outbox's visibility); none of them: every business."""
    r = ReviewRequest
    conditions: list[ColumnElement[bool]] = [
        r.sent_at >= datetime.combine(first, time(0), tzinfo=UTC),
        r.sent_at < datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC),
    ]
    if business_id is not None:
        conditions.append(r.business_id == business_id)
    if scope_business_id is not None:
        conditions.append(r.scope_business_id == scope_business_id)
    if where is not None:
        conditions.append(where)
    delivered = case((DeliveryStatus.status == "delivered", 1), else_=0)
    clicked = case((TrackedLink.clicks > 0, 1), else_=0)
    rows = await session.execute(
        select(
            r.channel,
            func.count(),
            func.coalesce(func.sum(delivered), 0),
            func.coalesce(func.sum(clicked), 0),
            func.count(DeliveryStatus.message_id),
        )
        .select_from(r)
        .outerjoin(DeliveryStatus, DeliveryStatus.message_id == r.message_id)
        .outerjoin(TrackedLink, TrackedLink.ledger_key == _ledger_key())
        .where(and_(*conditions))
        .group_by(r.channel)
    )
    funnel = Funnel(first=first, last=last)
    for channel, sent, delivered_count, clicked_count, receipts in rows:
        stage = Stage(int(sent), int(delivered_count), int(clicked_count), bool(receipts))
        funnel.channels[channel] = stage
        funnel.sent += stage.sent
        funnel.delivered += stage.delivered
        funnel.clicked += stage.clicked
    return funnel
