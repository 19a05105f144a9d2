"""Emails carry the tracked link too: through the sync engine with a real SMTP sink, the
mailed review link is ``/r/{token}``; following it records the click, redirects (or lands on
the page of the location's review sites), shows in the outbox and counts in the funnel."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.ledger.conftest import Sink
from tests.messaging.conftest import CLINIC, DAY, PUBLIC_URL, Simulator, Texting, practice
from tests.web.conftest import PASSWORD, login

from frontdesk.access.principal import Principal
from frontdesk.connectors.base import Appointment, Patient
from frontdesk.context import AppContext
from frontdesk.delivery.capture import LoopbackController
from frontdesk.settings import Settings, SmtpSettings
from frontdesk.staff.service import create_user

REVIEW_PAGE = "https://reviews.example/care"  # the practice's ``review.url``
LINK = re.compile(re.escape(PUBLIC_URL) + r"/r/[A-Za-z0-9_-]{11}")


@pytest.fixture
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    controller = LoopbackController(handler)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def sink(smtp_sink: tuple[Sink, int]) -> Sink:
    return smtp_sink[0]


@pytest.fixture
def settings(settings: Settings, smtp_sink: tuple[Sink, int]) -> Settings:
    smtp = SmtpSettings(host="127.0.0.1", port=smtp_sink[1], **{"from": "reviews@fd.test"})
    return settings.model_copy(update={"smtp": smtp})


@pytest.fixture
async def mailing(
    ctx: AppContext, twilio_sim: Simulator, staff_headers: dict[str, str]
) -> AsyncIterator[Texting]:
    async with practice(ctx, twilio_sim, staff_headers, channel="email") as t:
        yield t


def visit(t: Texting, number: int, day: date, *, email: str, phone: str = "") -> None:
    start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC) + timedelta(minutes=number)
    patient = Patient(
        f"P{number}", first_name="Ann", birth_date=date(1970, 1, 1), cell_phone=phone, email=email
    )
    t.book.visits.append(
        Appointment(f"A{number}", f"P{number}", start, "DONE", "VISIT", "Clinic", patient=patient)
    )


def bodies(sink: Sink) -> dict[str, tuple[str, str]]:
    """Recipient → (text part, html part) of every mailed message."""
    found: dict[str, tuple[str, str]] = {}
    for message in sink.parsed():
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        found[str(message["To"])] = (text, html)
    return found


async def group_property(t: Texting, key: str, value: str) -> Any:
    url = f"/integration/businessintegrationgroup/id/{t.group}/properties/{key}"
    return await t.api.put(url, json={"propertyValue": value})


async def test_a_mailed_link_is_tracked_and_a_click_counts(mailing: Texting, sink: Sink) -> None:
    t = mailing
    visit(t, 1, DAY, email="one@example.org")
    visit(t, 2, DAY, email="two@example.org")
    ids = await t.run(DAY)
    assert sorted((await t.process.sender.send_requests(ids)).values()) == ["sent", "sent"]
    await t.process.sender.send_requests(ids)  # again: nothing twice
    mailed = bodies(sink)
    assert sorted(mailed) == ["one@example.org", "two@example.org"]
    links = {}
    for to, (text, html) in mailed.items():
        assert REVIEW_PAGE not in text  # only the tracked link
        assert REVIEW_PAGE not in html
        (link,) = set(LINK.findall(text))
        assert f'href="{link}"' in html  # the button of the html part: the same link
        links[to] = link
    assert links["one@example.org"] != links["two@example.org"]
    # following it records the click and redirects to the location's review page
    r = await t.api.get(links["one@example.org"].removeprefix(PUBLIC_URL))
    assert (r.status_code, r.headers["location"]) == (303, REVIEW_PAGE)
    assert r.headers["cache-control"] == "no-store"
    items = (await t.api.get("/api/outbox", params={"limit": 1000})).json()["items"]
    clicks = {i["recipient"]: (i["channel"], i["clicks"]) for i in items}
    assert clicks == {"o***@example.org": ("email", 1), "t***@example.org": ("email", 0)}
    # the funnel: clicked counts for email; delivered stays honest (no receipts)
    r = await t.api.get("/api/outbox/funnel", params={"businessNumber": CLINIC})
    assert r.status_code == 200, r.text
    funnel = r.json()
    assert (funnel["sent"], funnel["delivered"], funnel["clicked"]) == (2, 0, 1)
    assert funnel["channels"] == {
        "email": {"sent": 2, "delivered": 0, "clicked": 1, "receipts": False}
    }
    # the outbox page shows it too, for a support user
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
        page = " ".join((await browser.get("/outbox")).text.split())
    assert (
        "Last 30 days: <strong>2</strong> sent → <strong>0</strong> delivered → "
        "<strong>1</strong> clicked" in page
    )


async def test_a_business_email_template_renders_the_tracked_link_and_sites_land(
    mailing: Texting, sink: Sink
) -> None:
    t = mailing
    templates = f"/api/businesses/{CLINIC}/message-templates/email"
    own = {
        "subject": "Thanks from {{ location_name }}",
        "textBody": "Tell us: {{ review_url }}\nStop: {{ unsubscribe_url }}",
        "htmlBody": '<a href="{{ review_url }}">Review</a> <a href="{{ unsubscribe_url }}">x</a>',
    }
    r = await t.api.put(templates, json=own)
    assert r.status_code == 200, r.text
    preview = (await t.api.get(f"{templates}/preview")).json()
    assert preview["origin"].startswith("business:")
    assert LINK.search(preview["textBody"])  # the preview shows a tracked link too
    sites = "Google=https://g.example/care\nHealthgrades=https://hg.example/care?a=1&b=2"
    assert (await group_property(t, "review.sites", sites)).status_code == 200
    visit(t, 1, DAY, email="one@example.org")
    ids = await t.run(DAY)
    assert list((await t.process.sender.send_requests(ids)).values()) == ["sent"]
    ((text, html),) = bodies(sink).values()
    (link,) = set(LINK.findall(text))
    assert text.splitlines()[0] == f"Tell us: {link}"
    assert f'<a href="{link}">Review</a>' in html
    for clicks in (1, 2):  # several sites: the landing page lists every one, no rating asked
        page = await t.api.get(link.removeprefix(PUBLIC_URL))
        assert page.status_code == 200
        assert 'href="https://g.example/care">Google</a>' in page.text
        assert 'href="https://hg.example/care?a=1&amp;b=2">Healthgrades</a>' in page.text
        assert "star" not in page.text.lower()
        items = (await t.api.get("/api/outbox")).json()["items"]
        assert [(i["channel"], i["clicks"]) for i in items] == [("email", clicks)]
    funnel = (await t.api.get("/api/outbox/funnel", params={"businessNumber": CLINIC})).json()
    assert funnel["clicked"] == 1  # two clicks of one request: one clicked request


async def test_email_and_text_of_one_visit_carry_links_of_their_own(
    ctx: AppContext, twilio_sim: Simulator, staff_headers: dict[str, str], sink: Sink
) -> None:
    async with practice(ctx, twilio_sim, staff_headers, channel="email_and_sms") as t:
        visit(t, 1, DAY, email="one@example.org", phone="+15715550103")
        ids = await t.run(DAY)
        assert sorted((await t.process.sender.send_requests(ids)).values()) == ["sent"] * 2
        ((text, _html),) = bodies(sink).values()
        (mailed,) = set(LINK.findall(text))
        (texted,) = LINK.findall(t.sim.state.messages[0].body)
        assert mailed != texted
        r = await t.api.get(mailed.removeprefix(PUBLIC_URL))
        assert (r.status_code, r.headers["location"]) == (303, REVIEW_PAGE)
        items = (await t.api.get("/api/outbox")).json()["items"]
        assert sorted((i["channel"], i["clicks"]) for i in items) == [("email", 1), ("sms", 0)]
        funnel = (await t.api.get("/api/outbox/funnel", params={"businessNumber": CLINIC})).json()
        assert {c: s["clicked"] for c, s in funnel["channels"].items()} == {"email": 1, "sms": 0}
