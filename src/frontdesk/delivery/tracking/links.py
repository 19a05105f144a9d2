"""Short tracked links (``{FRONTDESK_PUBLIC_URL}/r/{token}``): made before a message is sent,
clicked by the patient, redirected to the location's review page.

The token is derived from the ledger key with the install's contact pepper (HMAC-SHA256,
11 base64url characters, 66 bits): a resend carries the same link, and tokens cannot be
guessed from ledger keys. Every patient is offered the location's review page whatever
they might say about the visit: nothing here gates by rating (Google's policy and the 2024
FTC rule forbid review gating).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.answering.group_commit import BatchPlan
from frontdesk.delivery.tracking.models import TrackedLink

PATH = "/r/"


def token_for(pepper: bytes, ledger_key: str) -> str:
    digest = hmac.new(pepper, f"link:{ledger_key}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:11]


@dataclass(frozen=True, slots=True)
class NewLink:
    token: str
    ledger_key: str
    target_url: str
    created_at: datetime


class LinkWriter:
    """Writes links in batches (:class:`~frontdesk.answering.group_commit.GroupCommitter`):
    the links of the messages in flight share one transaction. A link made before is kept
    (``ON CONFLICT DO NOTHING``: a resend carries the same token)."""

    def __init__(self, dialect: str) -> None:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        self._statement = insert(TrackedLink).on_conflict_do_nothing(index_elements=["token"])

    def plan(self, items: Sequence[NewLink]) -> BatchPlan[None]:
        rows = [_row(item) for item in items]
        return BatchPlan(steps=[(self._statement, rows)], results=[None] * len(items))

    async def write_one(self, session: AsyncSession, item: NewLink) -> None:
        await session.execute(self._statement, [_row(item)])


def _row(item: NewLink) -> dict[str, Any]:
    return {
        "token": item.token,
        "ledger_key": item.ledger_key,
        "target_url": item.target_url,
        "clicks": 0,
        "created_at": item.created_at,
        "first_clicked_at": None,
        "last_clicked_at": None,
    }


def link_url(public_url: str, token: str) -> str:
    return public_url.rstrip("/") + PATH + token


@dataclass(frozen=True, slots=True)
class Click:
    """A counted click: where the link leads, and whose request it is."""

    target_url: str
    ledger_key: str

    @property
    def location_id(self) -> int | None:
        """The location of the request (``rr:<location>:…``)."""
        parts = self.ledger_key.split(":")
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


async def record_click(session: AsyncSession, *, token: str, now: datetime) -> Click | None:
    """Count a click; the link's target and request, or None for an unknown token."""
    row = await session.get(TrackedLink, token)
    if row is None:
        return None
    await session.execute(
        update(TrackedLink)
        .where(TrackedLink.token == token)
        .values(
            clicks=TrackedLink.clicks + 1,
            first_clicked_at=row.first_clicked_at or now,
            last_clicked_at=now,
        )
    )
    return Click(row.target_url, row.ledger_key)


async def clicks_of(session: AsyncSession, *, ledger_keys: list[str]) -> dict[str, int]:
    """Ledger key → clicks so far (the outbox)."""
    if not ledger_keys:
        return {}
    rows = await session.execute(
        select(TrackedLink.ledger_key, TrackedLink.clicks).where(
            TrackedLink.ledger_key.in_(ledger_keys)
        )
    )
    return {row[0]: row[1] for row in rows}
