"""Idempotent demo data: an enterprise with locations, an SMB, a fresh staff API key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from frontdesk.access.models import ApiKey
from frontdesk.access.principal import Principal
from frontdesk.access.service import create_api_key, revoke_api_key
from frontdesk.businesses.service import add_business, get_by_number
from frontdesk.composition import Process
from frontdesk.context import AppContext
from frontdesk.demo.answering import DemoAnswering

DEMO_ENTERPRISE = (149547879572938, "Riverside Family Medicine")
DEMO_LOCATIONS = (
    (149547899859217, "Riverside Family Medicine - Loudoun Office"),
    (149547899859218, "Riverside Family Medicine - Fairfax Office"),
    (149547899859219, "Riverside Family Medicine - Reston Office"),
)
DEMO_SMB = (149547800000001, "Lakeside Pediatrics")
DEMO_KEY_NAME = "demo"
DEMO_USER = "demo"


@dataclass
class DemoSeed:
    businesses: list[tuple[int, str, str]] = field(default_factory=list)
    api_key: str = ""
    login: tuple[str, str] = ("", "")
    answering: DemoAnswering | None = None


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
        seed.login = await _demo_login(session, ctx, system)
    return seed


async def _demo_login(session: AsyncSession, ctx: AppContext, system: Principal) -> tuple[str, str]:
    """The dashboard's demo admin, with a fresh password on every start (only its hash is kept)."""
    from frontdesk.staff.service import create_user, get_user_by_name, set_password

    password = secrets.token_urlsafe(12)
    user = await get_user_by_name(session, username=DEMO_USER)
    if user is None:
        await create_user(
            session,
            principal=system,
            clock=ctx.clock,
            username=DEMO_USER,
            password=password,
            role="admin",
        )
    else:
        await set_password(session, principal=system, clock=ctx.clock, user=user, password=password)
    return DEMO_USER, password


# -- the demo integration: the Unity sandbox's practice, mapped, with review links ---------

SANDBOX_ENTERPRISE = (149547879572940, "Loudoun Valley Medical Group")
SANDBOX_LOCATIONS = (  # the sandbox's default practice (``default_config``): name, number
    ("Loudoun Office", 149547899859301),
    ("Ashburn Office", 149547899859302),
    ("Leesburg Family Medicine", 149547899859303),
    ("Sterling Pediatrics", 149547899859304),
    ("Reston Office", 149547899859305),
    ("Purcellville Clinic", 149547899859306),  # no review link: shows "no review link"
)
DEMO_STATUSES = "Acknowledge,Confirmed"
SMS_LOCATION = "Ashburn Office"
"""The location that asks by text message in the demo (from the process-wide sender)."""
SITES_LOCATION = "Loudoun Office"
"""The location listing several review sites: its tracked links land on a page of them."""


def demo_sites(number: int) -> str:
    """The ``review.sites`` of :data:`SITES_LOCATION` (example addresses, never real ones)."""
    return (
        f"Google=https://reviews.example.org/{number}/google\n"
        f"Healthgrades=https://reviews.example.org/{number}/healthgrades\n"
        f"Zocdoc=https://reviews.example.org/{number}/zocdoc"
    )


@dataclass
class DemoIntegration:
    group_id: int
    created: bool
    businesses: list[tuple[int, str, str]] = field(default_factory=list)


async def seed_integration(
    ctx: AppContext, *, api: httpx.AsyncClient, api_key: str
) -> DemoIntegration:
    """The sandbox's enterprise and locations, an Allscripts group with the sandbox's default
    credentials and a mapping per location — through the integration API (``api``: a client
    of this process's app), once."""
    from frontdesk.demo.runtime import SANDBOX_SERVICE_USER
    from frontdesk.integrations.models import IntegrationGroup
    from frontdesk.sandbox.unity import DEFAULT_PM_PASSWORD, DEFAULT_PM_USER

    system = Principal.system("demo")
    async with ctx.db.transaction() as session:
        enterprise = await get_by_number(session, number=SANDBOX_ENTERPRISE[0])
        if enterprise is None:
            enterprise = await add_business(
                session,
                principal=system,
                clock=ctx.clock,
                number=SANDBOX_ENTERPRISE[0],
                name=SANDBOX_ENTERPRISE[1],
                timezone="America/New_York",
            )
        for name, number in SANDBOX_LOCATIONS:
            if await get_by_number(session, number=number) is None:
                await add_business(
                    session,
                    principal=system,
                    clock=ctx.clock,
                    number=number,
                    name=name,
                    enterprise_number=SANDBOX_ENTERPRISE[0],
                    timezone="America/New_York",
                )
        listed = []
        for number in (SANDBOX_ENTERPRISE[0], *(n for _, n in SANDBOX_LOCATIONS)):
            business = await get_by_number(session, number=number)
            assert business is not None
            listed.append((business.number, business.name, business.kind))
        existing = await session.execute(
            select(IntegrationGroup.id).where(IntegrationGroup.business_id == enterprise.id)
        )
        group_id = existing.scalar()
    if group_id is not None:
        return DemoIntegration(group_id=group_id, created=False, businesses=listed)

    def prop(key: str, value: str, secure: bool = False) -> dict[str, object]:
        return {"propertyKey": key, "propertyValue": value, "isSecure": secure}

    headers = {"Authorization": f"Bearer {api_key}"}
    client = api
    r = await client.put(
        "/integration/add/businessintegrationgroup",
        json={
            "parentBusinessNumber": SANDBOX_ENTERPRISE[0],
            "integrationSourceId": 32,
            "integrationGroupTriggers": [{"triggerId": 56, "triggerTypeId": 1}],
            "integrationGroupProperties": [
                prop("User_Name", SANDBOX_SERVICE_USER, True),
                prop("PM_Password", DEFAULT_PM_PASSWORD, True),
                prop("pms_user_name", DEFAULT_PM_USER),
                prop("allscripts.appointment.status", DEMO_STATUSES),
            ],
        },
        headers=headers,
    )
    r.raise_for_status()
    group_id = int(r.json()["groupId"])
    for name, number in SANDBOX_LOCATIONS:
        properties = [prop("allscripts.location.name", name)]
        if name != "Purcellville Clinic":
            properties.append(prop("review.url", f"https://reviews.example.org/{number}"))
        if name == SMS_LOCATION:  # asks by text (the Twilio simulator); no quiet hours
            properties += [prop("review.channel", "sms"), prop("review.quiet.hours", "off")]
        if name == SITES_LOCATION:  # several review sites: the link lands on a page of them
            properties.append(prop("review.sites", demo_sites(number)))
        r = await client.put(
            "/integration/add/businessintegrationmapping",
            json={
                "businessNumber": number,
                "integrationGroupId": group_id,
                "integrationProperties": properties,
            },
            headers=headers,
        )
        r.raise_for_status()
    return DemoIntegration(group_id=group_id, created=True, businesses=listed)


async def first_sync(process: Process, *, group_id: int) -> dict[str, int]:
    """Run the group once in the foreground and send its review requests (to the capture),
    so decisions and captured mail exist when the demo opens; skipped once the group ran."""
    from frontdesk.engagement.ledger import requests_of_runs
    from frontdesk.sync.foreground import run_all
    from frontdesk.sync.models import SyncRun
    from frontdesk.sync.service import request_run

    ctx = process.ctx
    async with ctx.db.reader() as session:
        ran = await session.execute(select(SyncRun.id).where(SyncRun.group_id == group_id))
        if ran.first() is not None:
            return {}
    system = Principal.system("demo")
    async with ctx.db.transaction() as session:
        runs = await request_run(session, principal=system, clock=ctx.clock, group_id=group_id)
        run_ids = [run.id for run in runs]
    finished = await run_all(ctx, process.engine, run_ids)
    async with ctx.db.reader() as session:
        pending = await requests_of_runs(session, run_ids=run_ids)
    outcomes = await process.sender.send_requests(pending)
    return {
        "fetched": sum(int((run.counts or {}).get("fetched", 0)) for run in finished),
        "eligible": sum(int((run.counts or {}).get("eligible", 0)) for run in finished),
        "sent": sum(1 for state in outcomes.values() if state == "sent"),
    }
