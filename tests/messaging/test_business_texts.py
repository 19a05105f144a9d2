"""A business's own texts through the sync engine against the Twilio simulator over HTTP:
its SMS templates (kind ``mobile``, "Reply STOP" instead of an unsubscribe link), its own
sender (``twilio.from`` / ``twilio.messaging_service_sid``) and its HELP text."""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape
from typing import Any

import httpx
from sqlalchemy import select
from tests.messaging.conftest import CLINIC, DAY, PUBLIC_URL, SENDER, TOKEN, Texting
from tests.web.conftest import PASSWORD, login

from frontdesk.access.principal import Principal
from frontdesk.delivery.sms.models import SmsConsent
from frontdesk.delivery.sms.signatures import SIGNATURE_HEADER, sign
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.funnel import review_funnel
from frontdesk.staff.service import create_user

ANN, BOB = "+17035550101", "+15715550103"

TEMPLATES = f"/api/businesses/{CLINIC}/message-templates"
OWN_TEXT = "{{ location_name }} here. How did we do? {{ review_url }} Reply STOP to opt out"


async def test_a_business_sms_template_is_checked_and_used(texting: Texting) -> None:
    t = texting
    unsubscribe_only = "Review us: {{ review_url }} {{ unsubscribe_url }}"
    r = await t.api.put(f"{TEMPLATES}/sms", json={"textBody": unsubscribe_only})
    assert r.status_code == 422
    assert "Reply STOP" in r.text
    no_link = "Please review us. Reply STOP to opt out"
    r = await t.api.put(f"{TEMPLATES}/mobile", json={"textBody": no_link})
    assert r.status_code == 422
    assert "review_url" in r.text
    r = await t.api.put(f"{TEMPLATES}/sms", json={"textBody": OWN_TEXT})
    assert r.status_code == 200, r.text
    # the channel's name and its template kind are the same templates
    r = await t.api.get(f"{TEMPLATES}/mobile")
    assert (r.json()["origin"], r.json()["textBody"]) == ("business", OWN_TEXT)
    preview = (await t.api.get(f"{TEMPLATES}/sms/preview")).json()
    assert preview["origin"].startswith("business:")
    assert preview["textBody"].startswith("Care North here. How did we do?")
    assert preview["segments"] == {
        "encoding": "GSM-7",
        "characters": len(preview["textBody"]),
        "segments": 1,
    }
    # an email still needs its unsubscribe link
    r = await t.api.put(
        f"{TEMPLATES}/email",
        json={"subject": "Hi", "textBody": OWN_TEXT, "htmlBody": "<p>{{ review_url }}</p>"},
    )
    assert r.status_code == 422
    assert "unsubscribe_url" in r.text

    t.book.visit(1, DAY, "+15715550103")
    ids = await t.run(DAY)
    assert list((await t.process.sender.send_requests(ids)).values()) == ["sent"]
    (message,) = t.sim.state.messages
    assert message.body.startswith("Care North here. How did we do? " + PUBLIC_URL + "/r/")
    assert message.body.endswith("Reply STOP to opt out")


async def group_property(t: Texting, key: str, value: str) -> Any:
    url = f"/integration/businessintegrationgroup/id/{t.group}/properties/{key}"
    return await t.api.put(url, json={"propertyValue": value})


async def test_the_sender_property_is_the_channels_own(texting: Texting) -> None:
    t = texting
    r = await group_property(t, "twilio.from", "555-0100")
    assert r.status_code == 422
    assert "twilio.from" in r.text
    r = await group_property(t, "twilio.messaging_service_sid", "MG123")
    assert r.status_code == 422
    r = await group_property(t, "twilio.from", "+1 (571) 555-0177")
    assert r.status_code == 200, r.text
    group = r.json()
    assert group["unknownPropertyKeys"] == []
    stored = {p["propertyKey"]: p for p in group["integrationGroupProperties"]}
    assert stored["twilio.from"]["propertyValue"] == "+15715550177"
    assert stored["twilio.from"]["known"] is True


OWN = "+15715550177"


async def _reply(t: Texting, number: str, to: str, body: str) -> None:
    r = await t.sim.client.post("/sandbox/inbound", json={"from": number, "to": to, "body": body})
    assert r.status_code == 200, r.text
    assert int(r.json()["callbackStatus"]) == 200


async def _decision(t: Texting, appointment_id: str) -> tuple[str, str | None]:
    async with t.ctx.db.reader() as session:
        row = (
            await session.execute(select(CheckIn).where(CheckIn.appointment_id == appointment_id))
        ).scalar_one()
        return row.decision, row.restriction_reason


async def test_a_business_texts_from_its_own_sender_and_its_stops_stay_there(
    texting: Texting,
) -> None:
    t = texting
    assert (await group_property(t, "twilio.from", OWN)).status_code == 200
    t.book.visit(1, DAY, ANN)
    ids = await t.run(DAY)
    assert list((await t.process.sender.send_requests(ids)).values()) == ["sent"]
    assert [(m.from_, m.to) for m in t.sim.state.messages] == [(OWN, ANN)]
    # a STOP to the shared number does not concern this business; one to its own does
    await _reply(t, BOB, SENDER, "STOP")
    await _reply(t, ANN, OWN, "STOP")
    day2 = DAY + timedelta(days=40)  # past the frequency cap
    t.book.visit(2, day2, ANN)
    t.book.visit(3, day2, BOB)
    ids = await t.run(day2)
    assert await _decision(t, "A2") == ("restricted", "opted_out")
    assert await _decision(t, "A3") == ("eligible", None)
    assert list((await t.process.sender.send_requests(ids)).values()) == ["sent"]
    assert [(m.from_, m.to) for m in t.sim.state.messages][1:] == [(OWN, BOB)]
    async with t.ctx.db.reader() as session:
        consents = (await session.execute(select(SmsConsent))).scalars().all()
        assert sorted((c.sender, c.opted_out) for c in consents) == [(SENDER, True), (OWN, True)]


async def test_help_answers_the_business_text_of_its_sender(texting: Texting) -> None:
    t = texting
    assert (await group_property(t, "twilio.from", OWN)).status_code == 200
    r = await _help(t, OWN)
    assert "Care: review requests after your visit" in r  # names the practice
    text = "Care Dental texts review links. Reply STOP to stop. Call 555-0100 for help."
    assert (await group_property(t, "twilio.help_text", text)).status_code == 200
    assert text in await _help(t, OWN)
    shared = await _help(t, SENDER)
    assert escape(t.ctx.settings.twilio.help_text) in shared


async def _help(t: Texting, to: str) -> str:
    params = {"From": ANN, "To": to, "Body": "HELP", "MessageSid": "SM1"}
    url = f"{PUBLIC_URL}/webhooks/twilio/inbound"
    r = await t.api.post(
        "/webhooks/twilio/inbound",
        data=params,
        headers={SIGNATURE_HEADER: sign(TOKEN, url, params)},
    )
    assert r.status_code == 200, r.text
    return r.text


async def test_a_link_of_a_location_with_several_sites_lands_on_all_of_them(
    texting: Texting,
) -> None:
    t = texting
    r = await group_property(t, "review.sites", "Google=https://g.example/care;Yelp=ftp://x")
    assert r.status_code == 422
    sites = "Google=https://g.example/care\nHealthgrades=https://hg.example/care?a=1&b=2"
    assert (await group_property(t, "review.sites", sites)).status_code == 200
    t.book.visit(1, DAY, ANN)
    ids = await t.run(DAY)
    assert list((await t.process.sender.send_requests(ids)).values()) == ["sent"]
    (message,) = t.sim.state.messages
    link = next(w for w in message.body.split() if w.startswith(f"{PUBLIC_URL}/r/"))
    path = link.removeprefix(PUBLIC_URL)
    for clicks in (1, 2):
        page = await t.api.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert 'href="https://g.example/care">Google</a>' in page.text
        assert 'href="https://hg.example/care?a=1&amp;b=2">Healthgrades</a>' in page.text
        assert "star" not in page.text.lower()  # no rating asked: every site offered
        items = (await t.api.get("/api/outbox")).json()["items"]
        assert [i["clicks"] for i in items] == [clicks]
    # one site only: straight to the review link, as before
    assert (await group_property(t, "review.sites", "Google=https://g.example/care")).is_success
    r = await t.api.get(path)
    assert (r.status_code, r.headers["location"]) == (303, "https://reviews.example/care")


async def test_the_funnel_counts_sent_delivered_clicked(texting: Texting) -> None:
    t = texting
    t.book.visit(1, DAY, ANN)
    t.book.visit(2, DAY, BOB)
    ids = await t.run(DAY)
    assert sorted((await t.process.sender.send_requests(ids)).values()) == ["sent", "sent"]
    await t.sim.settled()  # the simulator's status callbacks: delivered
    link = next(w for w in t.sim.state.messages[0].body.split() if "/r/" in w)
    for _ in range(2):  # two clicks of one request count as one clicked request
        await t.api.get(link.removeprefix(PUBLIC_URL))
    r = await t.api.get("/api/outbox/funnel", params={"businessNumber": CLINIC})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["sent"], body["delivered"], body["clicked"]) == (2, 2, 1)
    assert body["channels"] == {"sms": {"sent": 2, "delivered": 2, "clicked": 1, "receipts": True}}
    today = t.ctx.clock.now().date()
    earlier = {"from": str(today - timedelta(days=9)), "to": str(today - timedelta(days=1))}
    assert (await t.api.get("/api/outbox/funnel", params=earlier)).json()["sent"] == 0
    wrong = {"from": str(today), "to": str(today - timedelta(days=1))}
    assert (await t.api.get("/api/outbox/funnel", params=wrong)).status_code == 422
    async with t.ctx.db.reader() as session:
        location = (await session.execute(select(CheckIn.business_id))).scalars().first()
        assert location is not None
        found = await review_funnel(session, first=today, last=today, business_id=location)
    assert (found.sent, found.delivered, found.clicked) == (2, 2, 1)
    # the outbox page shows it on top, for a support user
    async with t.ctx.db.transaction() as session:
        await create_user(
            session,
            principal=Principal.system("test"),
            clock=t.ctx.clock,
            username="support-user",
            password=PASSWORD,
            role="support",
        )
    transport = httpx.ASGITransport(app=t.app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as browser:
        assert (await login(browser, "support-user")).status_code == 303
        page = await browser.get("/outbox")
        assert page.status_code == 200
        text = " ".join(page.text.split())
        assert (
            "Last 30 days: <strong>2</strong> sent → <strong>2</strong> delivered → "
            "<strong>1</strong> clicked" in text
        )
        # and the usage dashboard draws it: sent → delivered → clicked, per channel
        usage = await browser.get("/usage", params={"business": CLINIC})
        assert usage.status_code == 200
        row = re.search(r'<tr data-channel="sms">(.*?)</tr>', usage.text, re.S)
        assert row is not None
        assert re.findall(r'class="num">(\d+)<', row.group(1)) == ["2", "2", "1"]
        assert 'aria-label="Review funnel: sent 2, delivered 2, clicked 1"' in usage.text
