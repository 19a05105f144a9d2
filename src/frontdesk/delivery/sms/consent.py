"""Consent per sender number: STOP / START / HELP and plain-language revocations, 21610.

A reply is recorded against the *sender* it was sent to (our number, or the messaging
service whose pool it belongs to), as carriers and Twilio do: a STOP applies to every
business sending from that sender, even one that never texted the patient. Two records:

- ``sms_consents``: where each (sender, contact hash) stands now, consulted by the ``sms``
  channel before every send (a business configured later is covered too);
- the practice opt-outs (``opt_outs``, channel ``sms``) of every business sending from that
  sender, written at the same time, so the decision step shows ``opted_out`` for the next
  check-in and the composer drops requests already queued. A START removes them again.

Every reply also appends a ``sms_consent_events`` row (action, keyword, source, time).
Nothing here stores or logs a phone number: only the opt-out hash of it.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.clock import Clock
from frontdesk.db.engine import Database
from frontdesk.delivery.sms.keywords import Intent
from frontdesk.delivery.sms.models import DeliveryStatus, SmsConsent, SmsConsentEvent
from frontdesk.delivery.sms.senders import default_sender, scopes_sending_from
from frontdesk.engagement.optout_models import OptOut
from frontdesk.engagement.optouts import SOURCES as OPT_OUT_SOURCE_NAMES
from frontdesk.engagement.optouts import contact_pepper, hash_contact
from frontdesk.security.secrets import SecretBox
from frontdesk.settings import TwilioSettings

CHANNEL = "sms"
STATUS_ORDER = {"accepted": 0, "queued": 1, "sending": 2, "sent": 3}
FINAL = frozenset({"delivered", "undelivered", "failed", "read", "canceled"})
OPT_OUT_SOURCES = {"keyword": "sms_keyword", "plain_language": "sms_reply", "provider": "provider"}


def sender_of(twilio: TwilioSettings) -> str:
    """The sender key of the process-wide sender: the messaging service, else the number."""
    return default_sender(twilio).key


@dataclass(frozen=True)
class ConsentChange:
    """What a reply changed."""

    intent: Intent
    changed: bool
    scopes: int
    """Practices whose ``sms`` opt-outs were written (or removed)."""


async def record_reply(
    session: AsyncSession,
    *,
    secrets: SecretBox,
    clock: Clock,
    twilio: TwilioSettings,
    sender: str,
    contact: str,
    intent: Intent,
    keyword: str | None,
    source: str,
    message_id: str | None = None,
) -> ConsentChange:
    """Record a reply (``source``: keyword, plain_language, provider) against ``sender``."""
    pepper = await contact_pepper(session, secrets=secrets, clock=clock)
    assert pepper is not None
    contact_hash = hash_contact(pepper, channel=CHANNEL, contact=contact)
    now = clock.now()
    session.add(
        SmsConsentEvent(
            sender=sender,
            contact_hash=contact_hash,
            action=intent.value,
            keyword=keyword,
            source=source,
            message_id=message_id,
            received_at=now,
        )
    )
    if intent is Intent.HELP:
        return ConsentChange(intent, changed=False, scopes=0)
    opted_out = intent is Intent.OPT_OUT
    before = await _current(session, sender=sender, contact_hash=contact_hash)
    await _upsert(
        session,
        values={
            "sender": sender,
            "contact_hash": contact_hash,
            "opted_out": opted_out,
            "keyword": keyword,
            "source": source,
            "changed_at": now,
        },
    )
    scopes = await scopes_sending_from(session, twilio=twilio, sender=sender)
    if opted_out and scopes:  # one statement for every practice (a repeat keeps the first)
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        opt_source = OPT_OUT_SOURCES.get(source, "sms_reply")
        assert opt_source in OPT_OUT_SOURCE_NAMES
        await session.execute(
            insert(OptOut).on_conflict_do_nothing(
                index_elements=["business_id", "channel", "contact_hash"]
            ),
            [
                {
                    "business_id": scope,
                    "channel": CHANNEL,
                    "contact_hash": contact_hash,
                    "source": opt_source,
                    "request_key": None,
                    "created_at": now,
                }
                for scope in scopes
            ],
        )
    if not opted_out and scopes:
        await session.execute(
            delete(OptOut).where(
                OptOut.business_id.in_(scopes),
                OptOut.channel == CHANNEL,
                OptOut.contact_hash == contact_hash,
            )
        )
    return ConsentChange(intent, changed=before != opted_out, scopes=len(scopes))


class SenderConsent:
    """The opted-out contact hashes of one sender, held in memory for the channel.

    Every :data:`REFRESH_S` at most, one aggregate query (count and latest change) tells
    whether anything changed; only then is the set read again. The practice opt-outs written
    with each STOP are checked in the claiming transaction anyway (the composer); this set
    covers what they cannot: a practice created after the STOP, within ``REFRESH_S``.
    """

    REFRESH_S = 2.0

    def __init__(self, db: Database, *, sender: str) -> None:
        self._db = db
        self._sender = sender
        self._hashes: frozenset[str] = frozenset()
        self._version: tuple[int, datetime | None] | None = None
        self._checked = -math.inf
        self._lock = asyncio.Lock()

    async def opted_out(self, *, pepper: bytes, contact: str) -> bool:
        """Whether ``contact`` told this sender to stop."""
        if time.monotonic() - self._checked >= self.REFRESH_S:
            async with self._lock:
                if time.monotonic() - self._checked >= self.REFRESH_S:
                    await self._refresh()
        return hash_contact(pepper, channel=CHANNEL, contact=contact) in self._hashes

    async def _refresh(self) -> None:
        sender = SmsConsent.sender == self._sender
        async with self._db.reader() as session:
            count, latest = (
                await session.execute(
                    select(func.count(), func.max(SmsConsent.changed_at)).where(sender)
                )
            ).one()
            version = (int(count), latest)
            if version != self._version:
                rows = await session.execute(
                    select(SmsConsent.contact_hash).where(sender, SmsConsent.opted_out.is_(True))
                )
                self._hashes = frozenset(rows.scalars())
                self._version = version
        self._checked = time.monotonic()


async def record_status(
    session: AsyncSession,
    *,
    message_id: str,
    status: str,
    error_code: str | None,
    now: datetime,
    channel: str = CHANNEL,
) -> bool:
    """The provider's status of ``message_id``; a late callback never moves it backwards."""
    status = status.lower()
    row = await session.get(DeliveryStatus, message_id)
    if row is None:
        session.add(
            DeliveryStatus(
                message_id=message_id,
                channel=channel,
                status=status,
                error_code=error_code,
                updated_at=now,
            )
        )
        return True
    if row.status in FINAL or STATUS_ORDER.get(status, 9) < STATUS_ORDER.get(row.status, 9):
        return False
    row.status, row.error_code, row.updated_at = status, error_code, now
    return True


async def statuses_of(session: AsyncSession, *, message_ids: list[str]) -> dict[str, str]:
    """Message id → its latest delivery status (the outbox)."""
    if not message_ids:
        return {}
    rows = await session.execute(
        select(DeliveryStatus.message_id, DeliveryStatus.status).where(
            DeliveryStatus.message_id.in_(message_ids)
        )
    )
    return {row[0]: row[1] for row in rows}


async def _current(session: AsyncSession, *, sender: str, contact_hash: str) -> bool | None:
    row = await session.execute(
        select(SmsConsent.opted_out).where(
            SmsConsent.sender == sender, SmsConsent.contact_hash == contact_hash
        )
    )
    return row.scalar_one_or_none()


async def _upsert(session: AsyncSession, *, values: dict[str, object]) -> None:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(SmsConsent).values(**values)
    changing = {k: statement.excluded[k] for k in ("opted_out", "keyword", "source", "changed_at")}
    await session.execute(
        statement.on_conflict_do_update(index_elements=["sender", "contact_hash"], set_=changing)
    )
