"""``frontdesk demo`` shows texts too: the Twilio simulator runs beside the server, one
location asks by text, and its first sync's requests land in the simulator, not the mail
capture."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import func, select

from frontdesk.composition import Role, running
from frontdesk.context import AppContext
from frontdesk.delivery.models import CapturedMail
from frontdesk.demo.runtime import start_services
from frontdesk.demo.seed import first_sync, seed_demo, seed_integration
from frontdesk.engagement.ledger_models import SENT, ReviewRequest
from frontdesk.server.app import create_app
from frontdesk.settings import Settings


async def test_the_demo_sends_texts_to_the_simulator(settings: Settings, tmp_path: Path) -> None:
    services = start_services(settings.model_copy(update={"data_dir": tmp_path / "demo"}))
    try:
        ctx = await AppContext.open(services.settings, migrate=False)
        try:
            async with running(ctx, Role.CLI) as process:
                transport = httpx.ASGITransport(app=create_app(ctx.settings, process=process))
                async with httpx.AsyncClient(transport=transport, base_url="http://demo") as api:
                    seed = await seed_demo(ctx)
                    integration = await seed_integration(ctx, api=api, api_key=seed.api_key)
                    synced = await first_sync(process, group_id=integration.group_id)
            async with ctx.db.reader() as session:
                by_channel = dict(
                    (
                        await session.execute(
                            select(ReviewRequest.channel, func.count())
                            .where(ReviewRequest.state == SENT)
                            .group_by(ReviewRequest.channel)
                        )
                    ).all()
                )
                mails = (
                    await session.execute(select(func.count()).select_from(CapturedMail))
                ).scalar_one()
        finally:
            await ctx.close()
        async with httpx.AsyncClient() as client:
            texts = (await client.get(f"{services.twilio.url}/sandbox/messages")).json()
        assert by_channel.get("sms", 0) == len(texts) > 0
        assert by_channel.get("email", 0) == mails > 0
        assert synced["sent"] == len(texts) + mails
    finally:
        services.stop()
