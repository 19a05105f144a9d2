"""The demo's HL7v2 feed: Lakeside Pediatrics (the demo SMB) receives SIU messages over MLLP.

Once, through the integration API: an HL7V2 group for the SMB (sending facility
``LAKESIDE``, location ``LAKESIDE-PEDS``). On every start: the demo's own listener (on a free
loopback port during preparation) receives a few SIU messages of yesterday — a visit booked
then completed, a cancellation and a no-show — sent by ``hl7.mllp`` (python-hl7's asyncio
MLLP client), so the store, ``frontdesk hl7 messages`` and the next scheduled run have data.
Synthetic patients only (``example.org`` addresses, 555 numbers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import httpx
from hl7.mllp import open_hl7_connection
from sqlalchemy import select

from frontdesk.composition import mllp_listener
from frontdesk.connectors.hl7v2.keys import FACILITY, LOCATION, SOURCE_ID, TRIGGER_ID
from frontdesk.context import AppContext
from frontdesk.integrations.models import IntegrationGroup

DEMO_FACILITY = "LAKESIDE"
DEMO_LOCATION = "LAKESIDE-PEDS"


@dataclass(frozen=True)
class DemoFeed:
    group_id: int
    sent: int
    acks: tuple[str, ...]


def _siu(event: str, control_id: str, appointment: str, day: date, status: str, n: int) -> str:
    start = f"{day:%Y%m%d}{9 + n:02d}0000"
    return "\r".join(
        [
            f"MSH|^~\\&|DEMOEHR|{DEMO_FACILITY}|FRONTDESK|FRONTDESK|{day:%Y%m%d}080000||"
            f"SIU^{event}^SIU_S12|{control_id}|P|2.5.1",
            f"SCH|{appointment}|{appointment}|||||ROUTINE|WELLCHILD^Well child visit|30|MIN|"
            f"^^30^{start}||||||||||||||||{status}",
            f"PID|1||LP{n:04d}^^^DEMO^MR||Demo^Patient{n}||20150101|F|||||"
            f"^PRN^CP^^1^555^55501{n:02d}~^NET^Internet^patient{n}@example.org",
            f"AIL|1||{DEMO_LOCATION}^^^{DEMO_FACILITY}||{start}",
        ]
    )


async def seed_hl7(
    ctx: AppContext, *, api: httpx.AsyncClient, api_key: str, smb_number: int, today: date
) -> DemoFeed:
    """The SMB's HL7 group (once) and a few SIU messages through the demo's listener."""
    group_id = await _group(ctx, api=api, api_key=api_key, smb_number=smb_number)
    day = today - timedelta(days=1)
    stamp = f"{today:%Y%m%d}"
    messages = [
        _siu("S12", f"DEMO{stamp}-1", f"LP-{stamp}-1", day, "Booked", 1),
        _siu("S14", f"DEMO{stamp}-2", f"LP-{stamp}-1", day, "Complete", 1),
        _siu("S12", f"DEMO{stamp}-3", f"LP-{stamp}-2", day, "Booked", 2),
        _siu("S15", f"DEMO{stamp}-4", f"LP-{stamp}-2", day, "Cancelled", 2),
        _siu("S26", f"DEMO{stamp}-5", f"LP-{stamp}-3", day, "Noshow", 3),
    ]
    listener = mllp_listener(ctx, host="127.0.0.1", port=0)
    await listener.start()
    acks: list[str] = []
    try:
        reader, writer = await open_hl7_connection("127.0.0.1", listener.port)
        for message in messages:
            writer.writemessage(message)
            await writer.drain()
            ack = await reader.readmessage()
            acks.append(str(ack.segment("MSA")(1)))
        writer.close()
        await writer.wait_closed()
    finally:
        await listener.stop()
    return DemoFeed(group_id=group_id, sent=len(messages), acks=tuple(acks))


async def _group(ctx: AppContext, *, api: httpx.AsyncClient, api_key: str, smb_number: int) -> int:
    from frontdesk.businesses.service import get_by_number

    async with ctx.db.reader() as session:
        business = await get_by_number(session, number=smb_number)
        assert business is not None
        existing = await session.execute(
            select(IntegrationGroup.id).where(
                IntegrationGroup.business_id == business.id,
                IntegrationGroup.source_id == SOURCE_ID,
            )
        )
        group_id = existing.scalar()
    if group_id is not None:
        return int(group_id)
    headers = {"Authorization": f"Bearer {api_key}"}

    def prop(key: str, value: str) -> dict[str, object]:
        return {"propertyKey": key, "propertyValue": value, "isSecure": False}

    r = await api.put(
        "/integration/add/businessintegrationgroup",
        json={
            "parentBusinessNumber": smb_number,
            "integrationSourceId": SOURCE_ID,
            "integrationGroupTriggers": [{"triggerId": TRIGGER_ID, "triggerTypeId": 1}],
            "integrationGroupProperties": [
                prop(FACILITY, DEMO_FACILITY),
                prop("hl7.timezone", "America/New_York"),
                prop("review.url", f"https://reviews.example.org/{smb_number}"),
            ],
        },
        headers=headers,
    )
    r.raise_for_status()
    group_id = int(r.json()["groupId"])
    r = await api.put(
        "/integration/add/businessintegrationmapping",
        json={
            "businessNumber": smb_number,
            "integrationGroupId": group_id,
            "integrationProperties": [prop(LOCATION, DEMO_LOCATION)],
        },
        headers=headers,
    )
    r.raise_for_status()
    return group_id
