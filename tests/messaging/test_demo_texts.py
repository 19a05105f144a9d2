"""``frontdesk demo`` shows texts too: the Twilio simulator runs beside the server, one
location asks by text, and its first sync's requests land in the simulator, not the mail
capture. A second practice texts from its own sender (``twilio.from``); one location lists
several review sites, so its tracked links land on a page of them."""

from __future__ import annotations

import re
from email import message_from_string, policy
from pathlib import Path

import httpx
from sqlalchemy import func, select

from frontdesk.composition import Role, running
from frontdesk.context import AppContext
from frontdesk.delivery.models import CapturedMail
from frontdesk.demo.fhir import FHIR_SENDER, FHIR_SMS_LOCATION, seed_fhir_integration
from frontdesk.demo.runtime import DEMO_SENDER, start_services
from frontdesk.demo.seed import (
    SITES_LOCATION,
    SMS_LOCATION,
    first_sync,
    seed_demo,
    seed_integration,
)
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


async def test_the_demo_shows_a_business_sender_and_a_landing_page_of_sites(
    settings: Settings, tmp_path: Path
) -> None:
    services = start_services(settings.model_copy(update={"data_dir": tmp_path / "demo"}))
    public = services.settings.public_url.rstrip("/")
    link = re.compile(re.escape(public) + r"/r/[\w-]{11}")
    try:
        ctx = await AppContext.open(services.settings, migrate=False)
        try:
            async with running(ctx, Role.CLI) as process:
                transport = httpx.ASGITransport(app=create_app(ctx.settings, process=process))
                async with httpx.AsyncClient(transport=transport, base_url="http://demo") as api:
                    seed = await seed_demo(ctx)
                    integration = await seed_integration(ctx, api=api, api_key=seed.api_key)
                    await first_sync(process, group_id=integration.group_id)
                    assert services.fhir_base_url is not None
                    fhir = await seed_fhir_integration(
                        ctx, api=api, api_key=seed.api_key, base_url=services.fhir_base_url
                    )
                    await first_sync(process, group_id=fhir.group_id)
                    async with ctx.db.reader() as session:
                        raws = (await session.execute(select(CapturedMail.raw))).scalars().all()
                    mails = [message_from_string(raw, policy=policy.default) for raw in raws]
                    sites_mail = next(m for m in mails if SITES_LOCATION in str(m["Subject"]))
                    text = sites_mail.get_body(("plain",)).get_content()
                    assert "reviews.example.org" not in text  # the tracked link only
                    (found,) = set(link.findall(text))
                    page = await api.get(found.removeprefix(public))
                    other_mail = next(m for m in mails if SITES_LOCATION not in str(m["Subject"]))
                    other_text = other_mail.get_body(("plain",)).get_content()
                    (other,) = set(link.findall(other_text))
                    redirect = await api.get(other.removeprefix(public))
        finally:
            await ctx.close()
        async with httpx.AsyncClient() as client:
            texts = (await client.get(f"{services.twilio.url}/sandbox/messages")).json()
    finally:
        services.stop()
    # the location listing several sites: its emailed link lands on a page of all of them
    assert page.status_code == 200
    for site in ("Google", "Healthgrades", "Zocdoc"):
        assert f">{site}</a>" in page.text
    assert "reviews.example.org/" in page.text
    assert redirect.status_code == 303  # one review link: straight there
    assert redirect.headers["location"].startswith("https://reviews.example.org/")
    # texts: Ashburn from the process-wide sender, Harbor's clinic from the practice's own
    senders = {
        location: {t["from"] for t in texts if f"visiting {location}" in t["body"]}
        for location in (SMS_LOCATION, FHIR_SMS_LOCATION)
    }
    assert senders == {SMS_LOCATION: {DEMO_SENDER}, FHIR_SMS_LOCATION: {FHIR_SENDER}}
    assert all(link.search(t["body"]) for t in texts)
