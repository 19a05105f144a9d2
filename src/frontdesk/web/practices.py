"""The Business filter of the dashboard's lists: the practices a user sees, with their
locations (Check-ins, Outbox)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.principal import Principal
from frontdesk.businesses.models import Business
from frontdesk.businesses.service import LOCATION, list_businesses


@dataclass(frozen=True)
class PracticeChoice:
    """A practice of the Business filter, with its locations."""

    business: Business
    locations: list[Business]


async def practice_choices(session: AsyncSession, *, principal: Principal) -> list[PracticeChoice]:
    """Every visible practice (SMB or enterprise) by name, each with its locations by name."""
    visible = await list_businesses(session, principal=principal)
    owners = [b for b in visible if b.kind != LOCATION or b.enterprise_id is None]
    by_owner: dict[int, list[Business]] = {}
    for business in visible:
        if business.kind == LOCATION and business.enterprise_id is not None:
            by_owner.setdefault(business.enterprise_id, []).append(business)
    known = {b.id for b in owners}
    # A location-scoped user sees its location only: offer it on its own.
    owners += [loc for eid, locs in by_owner.items() if eid not in known for loc in locs]
    return [
        PracticeChoice(b, sorted(by_owner.get(b.id, []), key=lambda x: x.name.lower()))
        for b in sorted(owners, key=lambda b: (b.name.lower(), b.number))
    ]
