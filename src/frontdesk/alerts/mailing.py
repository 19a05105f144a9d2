"""One support e-mail per row, across processes: claim, compose, send, record the outcome.

Credential incidents, credential expiry warnings and alerts share this step. A row is
claimed with a conditional ``UPDATE ... WHERE notification IS NULL`` (to ``sending``)
before anything is sent, so two processes evaluating at once never mail twice; the
outcome (``sent``, ``no_support_email``, ``failed: <code>``) and its time are recorded
after the send. A crash between claim and record leaves ``sending``: at most once, by design.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from frontdesk.context import AppContext
from frontdesk.credentials.notify import SupportNotifier

SENDING = "sending"

Compose = Callable[[AsyncSession], Awaitable[tuple[str, str] | None]]
"""Given the claiming transaction, the mail's subject and body (None: nothing to send)."""


@dataclass(frozen=True)
class MailColumns:
    """Where a table keeps its id, its notification outcome and when it was mailed."""

    id: InstrumentedAttribute[int]
    notification: InstrumentedAttribute[str | None]
    mailed_at: InstrumentedAttribute[datetime | None]


async def mail_once(
    ctx: AppContext,
    notifier: SupportNotifier,
    columns: MailColumns,
    row_id: int,
    compose: Compose,
) -> str | None:
    """Mail about row ``row_id`` unless another process claimed it first (None then).

    Returns the outcome recorded on the row.
    """
    table = columns.id.class_
    async with ctx.db.transaction() as session:
        claimed = await session.execute(
            update(table)
            .where(columns.id == row_id, columns.notification.is_(None))
            .values({columns.notification.key: SENDING})
            .returning(columns.id)
            .execution_options(synchronize_session=False)
        )
        if claimed.first() is None:
            return None
        mail = await compose(session)
    outcome = "skipped" if mail is None else await notifier.notify(subject=mail[0], body=mail[1])
    async with ctx.db.transaction() as session:
        await session.execute(
            update(table)
            .where(columns.id == row_id)
            .values({columns.notification.key: outcome, columns.mailed_at.key: ctx.clock.now()})
            .execution_options(synchronize_session=False)
        )
    return outcome
