"""The demo's second practice: Harbor Health Partners on the FHIR sandbox (source 33).

An enterprise with three locations mapped by Location id (``loc-1-1`` … ``loc-1-3``, the
sandbox's seed-1 practice), a FHIR R4 group with the sandbox's demo client and key,
statuses ``fulfilled`` (the spec's default) — configured once through the integration API.
The practice texts from a sender number of its own (group property ``twilio.from``: A2P 10DLC
registers senders per brand); its North Clinic asks by text, the others by email.
The sandbox listens on a new loopback port at every start, so ``fhir.base.url`` is set
again each time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy import select

from frontdesk.access.principal import Principal
from frontdesk.businesses.service import add_business, get_by_number
from frontdesk.context import AppContext
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.sandbox.fhir.config import DEMO_CLIENT_ID, demo_private_key

FHIR_ENTERPRISE = (149547879572950, "Harbor Health Partners")
FHIR_LOCATIONS = (  # the FHIR sandbox's seed-1 Location ids: name, number, Location id
    ("Harbor Health - North Clinic", 149547899859401, "loc-1-1"),
    ("Harbor Health - South Clinic", 149547899859402, "loc-1-2"),
    ("Harbor Health - East Clinic", 149547899859403, "loc-1-3"),
)

FHIR_SENDER = "+17035550190"
"""Harbor Health's own sender number (``twilio.from``), not the process-wide one."""
FHIR_SMS_LOCATION = "Harbor Health - North Clinic"


@dataclass
class DemoFhir:
    group_id: int
    created: bool
    businesses: list[tuple[int, str, str]] = field(default_factory=list)


def _prop(key: str, value: str, secure: bool = False) -> dict[str, object]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": secure}


async def seed_fhir_integration(
    ctx: AppContext, *, api: httpx.AsyncClient, api_key: str, base_url: str
) -> DemoFhir:
    """Create the practice and its FHIR group once; point the group at ``base_url``."""
    system = Principal.system("demo")
    listed: list[tuple[int, str, str]] = []
    async with ctx.db.transaction() as session:
        wanted = [
            (FHIR_ENTERPRISE, None),
            *(((n, name), FHIR_ENTERPRISE[0]) for name, n, _ in FHIR_LOCATIONS),
        ]
        for (number, name), enterprise in wanted:
            if await get_by_number(session, number=number) is None:
                await add_business(
                    session,
                    principal=system,
                    clock=ctx.clock,
                    number=number,
                    name=name,
                    enterprise_number=enterprise,
                    timezone="America/New_York",
                )
        for (number, _name), _ in wanted:
            business = await get_by_number(session, number=number)
            assert business is not None
            listed.append((business.number, business.name, business.kind))
        enterprise_row = await get_by_number(session, number=FHIR_ENTERPRISE[0])
        assert enterprise_row is not None
        group_id = (
            await session.execute(
                select(IntegrationGroup.id).where(IntegrationGroup.business_id == enterprise_row.id)
            )
        ).scalar()
    headers = {"Authorization": f"Bearer {api_key}"}
    if group_id is not None:
        r = await api.put(
            f"/integration/businessintegrationgroup/id/{group_id}/properties/fhir.base.url",
            json={"propertyValue": base_url},
            headers=headers,
        )
        r.raise_for_status()
        return DemoFhir(group_id=group_id, created=False, businesses=listed)
    r = await api.put(
        "/integration/add/businessintegrationgroup",
        json={
            "parentBusinessNumber": FHIR_ENTERPRISE[0],
            "integrationSourceId": 33,
            "integrationGroupTriggers": [{"triggerId": 57, "triggerTypeId": 1}],
            "integrationGroupProperties": [
                _prop("fhir.base.url", base_url),
                _prop("fhir.client.id", DEMO_CLIENT_ID),
                _prop("fhir.private.key", demo_private_key(1), True),
                _prop("twilio.from", FHIR_SENDER),
            ],
        },
        headers=headers,
    )
    r.raise_for_status()
    group_id = int(r.json()["groupId"])
    for name, number, location_id in FHIR_LOCATIONS:
        properties = [
            _prop("fhir.location.id", location_id),
            _prop("review.url", f"https://reviews.example.org/{number}"),
        ]
        if name == FHIR_SMS_LOCATION:  # texts from the practice's own sender; no quiet hours
            properties += [_prop("review.channel", "sms"), _prop("review.quiet.hours", "off")]
        r = await api.put(
            "/integration/add/businessintegrationmapping",
            json={
                "businessNumber": number,
                "integrationGroupId": group_id,
                "integrationProperties": properties,
            },
            headers=headers,
        )
        r.raise_for_status()
    return DemoFhir(group_id=group_id, created=True, businesses=listed)
