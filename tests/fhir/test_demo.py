"""``frontdesk demo``'s second practice: the FHIR sandbox starts beside the server, Harbor
Health Partners is configured once through the integration API (its base URL follows the
sandbox's new port on every start), and its first sync sends review requests to the capture."""

from __future__ import annotations

from pathlib import Path

import httpx

from frontdesk.composition import Role, running
from frontdesk.context import AppContext
from frontdesk.demo.fhir import seed_fhir_integration
from frontdesk.demo.runtime import start_services
from frontdesk.demo.seed import first_sync, seed_demo
from frontdesk.integrations.groups import group_properties
from frontdesk.server.app import create_app
from frontdesk.settings import Settings


async def test_the_demo_adds_a_practice_on_the_fhir_sandbox(
    settings: Settings, tmp_path: Path
) -> None:
    services = start_services(settings.model_copy(update={"data_dir": tmp_path / "demo"}))
    try:
        assert services.fhir_base_url is not None
        for attempt in (1, 2):
            base_url = services.fhir_base_url if attempt == 1 else "http://127.0.0.1:9/fhir"
            ctx = await AppContext.open(services.settings, migrate=False)
            try:
                async with running(ctx, Role.CLI) as process:
                    seed = await seed_demo(ctx)
                    app = create_app(process.settings, process=process)
                    async with httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=app), base_url="http://demo"
                    ) as api:
                        fhir = await seed_fhir_integration(
                            ctx, api=api, api_key=seed.api_key, base_url=base_url
                        )
                    assert fhir.created == (attempt == 1)
                    assert len(fhir.businesses) == 4
                    async with ctx.db.reader() as session:
                        properties = await group_properties(
                            session, group_id=fhir.group_id, secrets=ctx.secrets
                        )
                    assert properties["fhir.base.url"] == base_url
                    if attempt == 1:
                        synced = await first_sync(process, group_id=fhir.group_id)
                        assert synced["fetched"] == 36  # three locations, 12 a day
                        assert synced["sent"] == synced["eligible"] > 0
            finally:
                await ctx.close()
    finally:
        services.stop()
