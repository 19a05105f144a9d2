"""Which sending facilities (MSH-4.1) are configured: the ``hl7.sending.facility`` property
of the HL7 source's integration groups, cached for ``FRONTDESK_MLLP__FACILITY_REFRESH_S``."""

from __future__ import annotations

import time

from sqlalchemy import select

from frontdesk.access.principal import Principal
from frontdesk.businesses.models import Business
from frontdesk.connectors.hl7v2.keys import FACILITY, SOURCE_ID
from frontdesk.db.engine import Database
from frontdesk.integrations.models import GroupProperty, IntegrationGroup


def facility_key(name: str) -> str:
    """The comparison form of a facility name: trimmed, case-folded."""
    return name.strip().casefold()


class KnownFacilities:
    """The configured facilities, refreshed at most every ``refresh_s`` seconds."""

    def __init__(self, db: Database, *, refresh_s: float) -> None:
        self.db = db
        self.refresh_s = refresh_s
        self._known: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")

    async def knows(self, facility: str) -> bool:
        """Whether a group of the HL7 source names ``facility`` (a miss re-reads, once a
        second at most, so a group configured a moment ago is found)."""
        now = time.monotonic()
        key = facility_key(facility)
        stale = now - self._loaded_at > self.refresh_s
        if stale or (key not in self._known and now - self._loaded_at > 1.0):
            await self.reload()
        return key in self._known

    async def reload(self) -> None:
        statement = (
            select(GroupProperty.value)
            .join(IntegrationGroup, IntegrationGroup.id == GroupProperty.group_id)
            .where(
                IntegrationGroup.source_id == SOURCE_ID,
                IntegrationGroup.removed_at.is_(None),
                GroupProperty.key == FACILITY,
            )
        )
        async with self.db.reader() as session:
            values = (await session.execute(statement)).scalars().all()
        self._known = frozenset(
            facility_key(item) for v in values for item in (v or "").split(",") if item.strip()
        )
        self._loaded_at = time.monotonic()


async def visible_facilities(db: Database, principal: Principal) -> frozenset[str] | None:
    """The facilities of the HL7 groups ``principal`` may see (None: every message, staff)."""
    if principal.is_staff:
        return None
    statement = (
        select(GroupProperty.value, Business.id, Business.enterprise_id)
        .join(IntegrationGroup, IntegrationGroup.id == GroupProperty.group_id)
        .join(Business, Business.id == IntegrationGroup.business_id)
        .where(
            IntegrationGroup.source_id == SOURCE_ID,
            IntegrationGroup.removed_at.is_(None),
            GroupProperty.key == FACILITY,
        )
    )
    async with db.reader() as session:
        rows = (await session.execute(statement)).all()
    return frozenset(
        item.strip()
        for value, business_id, enterprise_id in rows
        if principal.can_see(business_id, enterprise_id)
        for item in (value or "").split(",")
        if item.strip()
    )
