"""The messages of claimed review requests: one query for their check-ins, cached location
facts and templates, a fresh signed unsubscribe link each, no patient data anywhere else.

A request that cannot become a message gets a classified error instead (recorded by the
sender in the claiming transaction): an opt-out recorded since the decision, an unusable
address or review link (permanent), a deleted mapping (configuration: parked).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.context import AppContext
from frontdesk.delivery.addresses import usable_review_url
from frontdesk.delivery.channel import (
    ChannelRegistry,
    OutgoingMessage,
    PermanentDeliveryError,
    TemplateSet,
)
from frontdesk.delivery.reach import contact_of
from frontdesk.delivery.template_service import resolve_template_set
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.ledger import Claim, Claimed
from frontdesk.engagement.ledger_models import ReviewRequest
from frontdesk.engagement.optout_models import OptOut
from frontdesk.engagement.optouts import contact_pepper, hash_contact
from frontdesk.engagement.unsubscribe import DEFAULT_TTL, make_unsubscribe_token, unsubscribe_url
from frontdesk.errors import ConfigurationError, FrontdeskError
from frontdesk.integrations.mappings import effective_properties
from frontdesk.integrations.models import IntegrationMapping

REPLY_TO_KEY = "review.reply_to"
REVIEW_URL_KEY = "review.url"
LOCATION_CACHE_S = 30.0
"""How long a location's review link, reply-to and templates are reused (bulk sends)."""


@dataclass(frozen=True)
class LocationFacts:
    """What a message needs from the location's configuration."""

    location_id: int
    location_name: str
    review_url: str | None
    reply_to: str | None
    templates: TemplateSet


@dataclass(frozen=True)
class Prepared:
    """A claimed request and its message."""

    claim: Claim
    channel: str
    message: OutgoingMessage


class Composer:
    """Builds messages for claimed requests; caches per process what rarely changes."""

    def __init__(self, ctx: AppContext, *, channels: ChannelRegistry) -> None:
        self.ctx = ctx
        self.channels = channels
        self._locations: dict[tuple[int, str], tuple[float, LocationFacts]] = {}
        self._pepper: bytes | None = None

    async def prepare(
        self, session: AsyncSession, claimed: Sequence[Claimed]
    ) -> tuple[list[Prepared], list[tuple[Claim, FrontdeskError]]]:
        """Messages for ``claimed`` (in a write transaction), and the claims that failed."""
        request = ReviewRequest.__table__.c
        opted = (
            select(OptOut.contact_hash)
            .where(
                OptOut.business_id == request.scope_business_id,
                OptOut.channel == request.channel,
                OptOut.contact_hash == CheckIn.contact_hash,
            )
            .exists()
        )
        rows = await session.execute(
            select(
                request.id,
                CheckIn.mapping_id,
                CheckIn.patient_id,
                CheckIn.patient_sealed,
                CheckIn.contact_hash,
                opted,
            )
            .join(CheckIn, CheckIn.id == request.checkin_id)
            .where(request.id.in_([c.claim.request_id for c in claimed]))
        )
        found = {row[0]: row[1:] for row in rows}
        prepared: list[Prepared] = []
        failed: list[tuple[Claim, FrontdeskError]] = []
        for item in claimed:
            try:
                mapping_id, patient_id, sealed, contact_hash, opted_out = found[
                    item.claim.request_id
                ]
                message = await self._message(
                    session, item, mapping_id, patient_id, sealed, contact_hash, bool(opted_out)
                )
            except FrontdeskError as error:
                failed.append((item.claim, error))
                continue
            prepared.append(Prepared(claim=item.claim, channel=item.channel, message=message))
        return prepared, failed

    async def _message(
        self,
        session: AsyncSession,
        item: Claimed,
        mapping_id: int | None,
        patient_id: str,
        sealed: str | None,
        contact_hash: str | None,
        opted_out: bool,
    ) -> OutgoingMessage:
        if opted_out:
            raise PermanentDeliveryError("opted out since the decision", reason="opted_out")
        patient: dict[str, Any] = json.loads(self.ctx.secrets.decrypt(sealed)) if sealed else {}
        reach = self.channels.reach(item.channel)
        address = contact_of(reach, {**patient, "patient_id": patient_id}).address
        if address is None:
            raise PermanentDeliveryError(f"no usable {reach} contact", reason="no_usable_contact")
        if mapping_id is None:
            raise ConfigurationError("the location's mapping was deleted", field="mapping")
        location = await self.location(session, mapping_id, item.channel)
        if location.review_url is None:
            raise PermanentDeliveryError("review.url is missing", reason="no_review_link")
        if contact_hash is None:
            contact_hash = hash_contact(
                await self._contact_pepper(session), channel=item.channel, contact=address
            )
        token = make_unsubscribe_token(
            self.ctx.secrets,
            clock=self.ctx.clock,
            scope_business_id=item.scope_business_id,
            channel=item.channel,
            contact_hash=contact_hash,
            ledger_key=item.key,
            ttl=DEFAULT_TTL,
        )
        return OutgoingMessage(
            ledger_key=item.key,
            recipient=address,
            patient_first_name=greeting_name(patient),
            location_name=location.location_name,
            review_url=location.review_url,
            sender_name=location.location_name,
            templates=location.templates,
            unsubscribe_url=unsubscribe_url(self.ctx.settings.public_url, token),
            reply_to=location.reply_to,
        )

    async def _contact_pepper(self, session: AsyncSession) -> bytes:
        if self._pepper is None:
            pepper = await contact_pepper(session, secrets=self.ctx.secrets, clock=self.ctx.clock)
            assert pepper is not None
            self._pepper = pepper
        return self._pepper

    async def location(self, session: AsyncSession, mapping_id: int, channel: str) -> LocationFacts:
        """The location's facts, cached for :data:`LOCATION_CACHE_S`."""
        cached = self._locations.get((mapping_id, channel))
        if cached is not None and time.monotonic() - cached[0] < LOCATION_CACHE_S:
            return cached[1]
        mapping = await session.get(IntegrationMapping, mapping_id)
        if mapping is None:
            raise ConfigurationError("the location's mapping was deleted", field="mapping")
        properties = effective_properties(mapping, secrets=self.ctx.secrets)
        facts = LocationFacts(
            location_id=mapping.business_id,
            location_name=mapping.business.name,
            review_url=usable_review_url(properties.get(REVIEW_URL_KEY)),
            reply_to=(properties.get(REPLY_TO_KEY) or "").strip() or None,
            templates=await resolve_template_set(
                session,
                business_id=mapping.business_id,
                channel=self.channels.template_rule(channel).kind,
            ),
        )
        self._locations[(mapping_id, channel)] = (time.monotonic(), facts)
        return facts


def greeting_name(sealed: dict[str, Any]) -> str:
    """The first name a message greets: the guardian's when the request goes to them (a
    minor's visit, ``to_guardian``), else the patient's."""
    key = "guardian_first_name" if sealed.get("to_guardian") else "first_name"
    return str(sealed.get(key) or "").strip()
