"""Idempotent demo data: an enterprise with locations, an SMB, a fresh staff API key."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from frontdesk.access.models import ApiKey
from frontdesk.access.principal import Principal
from frontdesk.access.service import create_api_key, revoke_api_key
from frontdesk.businesses.service import add_business, get_by_number
from frontdesk.server.context import AppContext

DEMO_ENTERPRISE = (149547879572938, "Riverside Family Medicine")
DEMO_LOCATIONS = (
    (149547899859217, "Riverside Family Medicine - Loudoun Office"),
    (149547899859218, "Riverside Family Medicine - Fairfax Office"),
    (149547899859219, "Riverside Family Medicine - Reston Office"),
)
DEMO_SMB = (149547800000001, "Lakeside Pediatrics")
DEMO_KEY_NAME = "demo"


@dataclass
class DemoSeed:
    businesses: list[tuple[int, str, str]] = field(default_factory=list)
    api_key: str = ""


async def seed_demo(ctx: AppContext) -> DemoSeed:
    """Create what is missing; replace the demo API key (its secret is never stored)."""
    system = Principal.system("demo")
    seed = DemoSeed()
    async with ctx.db.transaction() as session:
        wanted = [
            (DEMO_ENTERPRISE, None),
            *((loc, DEMO_ENTERPRISE[0]) for loc in DEMO_LOCATIONS),
            (DEMO_SMB, None),
        ]
        for (number, name), enterprise in wanted:
            business = await get_by_number(session, number=number)
            if business is None:
                business = await add_business(
                    session,
                    principal=system,
                    clock=ctx.clock,
                    number=number,
                    name=name,
                    enterprise_number=enterprise,
                    timezone="America/New_York",
                )
            seed.businesses.append((business.number, business.name, business.kind))
        # Kinds change as locations join their enterprise: report them as they ended up.
        for i, (number, name, _kind) in enumerate(seed.businesses):
            final = await get_by_number(session, number=number)
            seed.businesses[i] = (number, name, final.kind if final else _kind)
        old = await session.execute(
            select(ApiKey.id).where(ApiKey.name == DEMO_KEY_NAME, ApiKey.revoked_at.is_(None))
        )
        for (key_id,) in old.all():
            await revoke_api_key(session, principal=system, clock=ctx.clock, key_id=key_id)
        created = await create_api_key(
            session, principal=system, clock=ctx.clock, name=DEMO_KEY_NAME
        )
        seed.api_key = created.secret
    return seed
