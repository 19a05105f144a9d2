"""Which sender a business texts from, and which businesses text from a sender.

A group may name its own sender (``twilio.messaging_service_sid``, else ``twilio.from``:
A2P 10DLC registers senders per brand, :mod:`.properties`); every other group sends from the
process-wide one (``FRONTDESK_TWILIO__MESSAGING_SERVICE_SID``, else ``__FROM``). A sender's
*key* — the messaging service, else the number — is what consent is recorded against
(:mod:`.consent`): a STOP to it applies to every practice sending from it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.businesses.models import Business
from frontdesk.context import AppContext
from frontdesk.delivery.sms.properties import FROM_KEY, HELP_KEY, SERVICE_KEY, default_help_text
from frontdesk.integrations.models import GroupProperty, IntegrationGroup, IntegrationMapping
from frontdesk.settings import TwilioSettings

CACHE_S = 30.0
_KEYS = (FROM_KEY, SERVICE_KEY)


@dataclass(frozen=True)
class Sender:
    """A number or a messaging service (which wins) that texts go out from."""

    from_: str | None
    messaging_service_sid: str | None

    @property
    def key(self) -> str:
        """What consent is recorded against (the service's pool shares opt-outs)."""
        return self.messaging_service_sid or self.from_ or ""


def default_sender(twilio: TwilioSettings) -> Sender:
    """The process-wide sender (settings)."""
    return Sender(twilio.from_, twilio.messaging_service_sid)


def _own(properties: dict[str, str]) -> Sender | None:
    service, number = properties.get(SERVICE_KEY), properties.get(FROM_KEY)
    return Sender(number, service) if service or number else None


async def _group_senders(session: AsyncSession) -> dict[int, tuple[int, Sender | None]]:
    """Group id → (its practice, its own sender or None)."""
    groups = await session.execute(
        select(IntegrationGroup.id, Business.id, Business.enterprise_id).join(
            Business, Business.id == IntegrationGroup.business_id
        )
    )
    found: dict[int, dict[str, str]] = {}
    rows = await session.execute(
        select(GroupProperty.group_id, GroupProperty.key, GroupProperty.value).where(
            GroupProperty.key.in_(_KEYS)
        )
    )
    for group_id, key, value in rows:
        if value:
            found.setdefault(group_id, {})[key] = value
    return {
        group_id: (enterprise_id or business_id, _own(found.get(group_id, {})))
        for group_id, business_id, enterprise_id in groups
    }


async def scopes_sending_from(
    session: AsyncSession, *, twilio: TwilioSettings, sender: str
) -> list[int]:
    """The practices (opt-out scopes) that send from the sender whose key is ``sender``: the
    practices of groups naming it as their own, and — for the process-wide sender — every
    practice with a group (or none) that names no sender of its own."""
    if not sender:
        return []
    groups = await _group_senders(session)
    scopes = {scope for scope, own in groups.values() if own is not None and own.key == sender}
    if sender == default_sender(twilio).key:
        practices = await session.execute(
            select(Business.id).where(Business.enterprise_id.is_(None))
        )
        owning = {scope for scope, own in groups.values() if own is not None}
        defaulting = {scope for scope, own in groups.values() if own is None}
        scopes |= {p for p in practices.scalars() if p not in owning or p in defaulting}
    return sorted(scopes)


async def help_text(session: AsyncSession, *, twilio: TwilioSettings, sender: str) -> str:
    """The answer to HELP sent to ``sender``: the process-wide sender answers the settings'
    text; a practice's own sender its ``twilio.help_text``, else a text naming it."""
    if sender == default_sender(twilio).key:
        return twilio.help_text
    groups = await _group_senders(session)
    owners = sorted({g for g, (_, own) in groups.items() if own is not None and own.key == sender})
    if not owners:
        return twilio.help_text
    row = await session.execute(
        select(GroupProperty.value).where(
            GroupProperty.group_id == owners[0], GroupProperty.key == HELP_KEY
        )
    )
    own_text = row.scalar_one_or_none()
    if own_text:
        return own_text
    group = await session.get(IntegrationGroup, owners[0])
    return default_help_text(group.business.name if group is not None else "Your practice")


class BusinessSenders:
    """Location id → the sender its texts go out from, cached for :data:`CACHE_S`."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._default = default_sender(ctx.settings.twilio)
        self._cache: dict[int, tuple[float, Sender]] = {}
        self._lock = asyncio.Lock()

    async def of(self, location_id: int) -> Sender:
        cached = self._cache.get(location_id)
        if cached is not None and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        async with self._lock:  # one read however many texts are in flight
            cached = self._cache.get(location_id)
            if cached is not None and time.monotonic() - cached[0] < CACHE_S:
                return cached[1]
            sender = await self._read(location_id)
            self._cache[location_id] = (time.monotonic(), sender)
            return sender

    async def _read(self, location_id: int) -> Sender:
        async with self._ctx.db.reader() as session:
            rows = await session.execute(
                select(GroupProperty.key, GroupProperty.value)
                .join(IntegrationMapping, IntegrationMapping.group_id == GroupProperty.group_id)
                .where(IntegrationMapping.business_id == location_id, GroupProperty.key.in_(_KEYS))
                .order_by(IntegrationMapping.id)
            )
            properties: dict[str, str] = {}
            for key, value in rows:
                if value:
                    properties.setdefault(key, value)
        return _own(properties) or self._default
