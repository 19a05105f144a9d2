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
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.clock import Clock
from frontdesk.delivery.tracking.models import TrackedLink
from frontdesk.engagement.optouts import contact_pepper
from frontdesk.security.secrets import SecretBox

PATH = "/r/"


def token_for(pepper: bytes, ledger_key: str) -> str:
    digest = hmac.new(pepper, f"link:{ledger_key}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")[:11]


async def tracked_link(
    session: AsyncSession,
    *,
    secrets: SecretBox,
    clock: Clock,
    public_url: str,
    ledger_key: str,
    target_url: str,
) -> str:
    """The short link of ``ledger_key`` leading to ``target_url`` (made once, then reused)."""
    pepper = await contact_pepper(session, secrets=secrets, clock=clock)
    assert pepper is not None
    token = token_for(pepper, ledger_key)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(TrackedLink)
        .values(
            token=token,
            ledger_key=ledger_key,
            target_url=target_url,
            clicks=0,
            created_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["token"])
    )
    return public_url.rstrip("/") + PATH + token


async def record_click(session: AsyncSession, *, token: str, now: datetime) -> str | None:
    """Count a click; the target URL, or None for an unknown token."""
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
    return row.target_url


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
