"""``frontdesk demo`` configures an HL7 group for its SMB and sends SIU messages to its own
listener (once configured, every start sends them again: stored once, ACKed AA again)."""

from __future__ import annotations

from datetime import date

import httpx

from frontdesk.composition import Role, hl7_store, running
from frontdesk.context import AppContext
from frontdesk.demo.hl7 import seed_hl7
from frontdesk.demo.seed import DEMO_SMB, seed_demo
from frontdesk.hl7.store import Search
from frontdesk.server.app import create_app


async def test_the_demo_feed_is_received_and_stored_once(ctx: AppContext) -> None:
    async with running(ctx, Role.CLI) as process:
        app = create_app(ctx.settings, process=process)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://demo"
        ) as api:
            seed = await seed_demo(ctx)
            first = await seed_hl7(
                ctx, api=api, api_key=seed.api_key, smb_number=DEMO_SMB[0], today=date(2026, 3, 3)
            )
            again = await seed_hl7(
                ctx, api=api, api_key=seed.api_key, smb_number=DEMO_SMB[0], today=date(2026, 3, 3)
            )
    assert first.acks == ("AA",) * 5
    assert again.acks == ("AA",) * 5
    assert first.group_id == again.group_id
    rows = await hl7_store(ctx).search(Search())
    assert len(rows) == 5
    assert {r.state for r in rows} == {"accepted"}
    assert {str(r.appointment_day) for r in rows} == {"2026-03-02"}
