"""The Outbox page over HTTP, on review requests a real sync run made and a real SMTP server
(aiosmtpd) answered: states, attempts and errors, filters and keyset pages, requeue (role,
CSRF, audit, conflict), tenants, masking for viewers, and the demo capture's message.

The practice, the sandbox on loopback, the SMTP sink and the wired sender are the ledger
tests' fixtures (see ``conftest.py`` here).
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import httpx
import pytest
from markupsafe import escape
from sqlalchemy import select
from tests.ledger.conftest import ON, Practice, Sink, Wired, requests, wire
from tests.sync.conftest import ENTERPRISE, LOCATIONS, OTHER_TENANT
from tests.web.conftest import LoginAs

from frontdesk.audit.models import AuditEvent
from frontdesk.context import AppContext
from frontdesk.delivery.capture import MailCapture
from frontdesk.delivery.channel import ChannelPlugin
from frontdesk.delivery.email import EmailChannel
from frontdesk.delivery.models import CapturedMail
from frontdesk.delivery.reach import Reach
from frontdesk.engagement import outbox_queries
from frontdesk.engagement.ledger_models import FAILED, PENDING, SENT
from frontdesk.settings import Settings, SmtpSettings
from frontdesk.staff.roles import PATIENT_DETAIL_MASK
from frontdesk.web.pages import outbox as outbox_page

ROW = re.compile(r'<tr id="request-(\d+)"')
OLDER = re.compile(r'rel="next" href="([^"]+)"')
NEWER = re.compile(r'rel="prev" href="([^"]+)"')
RECIPIENT = re.compile(r'<td class="recipient">(?:<span class="[^"]*">)?([^<]*)<')
HTMX = {"HX-Request": "true"}


def ids_on(html: str) -> list[int]:
    return [int(i) for i in ROW.findall(html)]


def link(pattern: re.Pattern[str], html: str) -> str | None:
    found = pattern.search(html)
    return unescape(found[1]) if found else None


async def test_the_list_shows_state_attempts_and_filters(
    ctx: AppContext,
    practice: Practice,
    wired: Wired,
    client: httpx.AsyncClient,
    login_as: LoginAs,
) -> None:
    await wired.run_day(practice, ON)
    ledger = await requests(ctx)
    assert ledger
    assert {r.state for r in ledger} == {SENT}
    await login_as("support")
    page = await client.get("/outbox")
    assert page.status_code == 200, page.text
    assert "<h1>Outbox</h1>" in page.text
    assert 'href="/outbox" class="current"' in page.text  # the navigation names the page
    assert sorted(ids_on(page.text), reverse=True) == ids_on(page.text)
    assert set(ids_on(page.text)) == {r.id for r in ledger}
    # The counts per state, each a link to that state's requests.
    assert re.search(rf'href="/outbox\?state=sent"[^>]*>{len(ledger)}</a>', page.text)
    assert re.search(r'href="/outbox\?state=failed"[^>]*>0</a>', page.text)
    recipients = RECIPIENT.findall(page.text)
    assert recipients
    assert all("***@" in r for r in recipients)  # the shape, not the address
    assert "Requeue</button>" not in page.text  # nothing to requeue

    loudoun = LOCATIONS["Loudoun Office"]
    mine = {r.id for r in ledger if r.business_id == await business_id(ctx, loudoun)}
    by_location = await client.get("/outbox", params={"business": loudoun})
    assert set(ids_on(by_location.text)) == mine
    by_practice = await client.get("/outbox", params={"business": ENTERPRISE, "state": "sent"})
    assert set(ids_on(by_practice.text)) == {r.id for r in ledger}
    failed = await client.get("/outbox", params={"state": FAILED})
    assert ids_on(failed.text) == []
    assert "No review request matches these filters." in failed.text
    one = ledger[0]
    by_appointment = await client.get("/outbox", params={"appointment": one.appointment_id})
    assert ids_on(by_appointment.text) == [one.id]

    fragment = await client.get("/outbox", params={"state": SENT}, headers=HTMX)
    assert fragment.text.lstrip().startswith('<div id="outbox"')
    assert "<html" not in fragment.text
    bad = await client.get("/outbox", params={"state": "bogus"})
    assert bad.status_code == 422
    assert "<!doctype html>" in bad.text.lower()  # an HTML error page, not JSON
    assert (await client.get("/outbox", params={"business": "x"})).status_code == 422


async def business_id(ctx: AppContext, number: int) -> int:
    from frontdesk.businesses.models import Business

    async with ctx.db.reader() as session:
        found = await session.scalar(select(Business.id).where(Business.number == number))
    assert found is not None
    return found


async def walk(client: httpx.AsyncClient, params: dict[str, str]) -> tuple[list[int], int]:
    """Every id from the first page through Older to the last, then back through Newer."""
    page = await client.get("/outbox", params=params)
    assert link(NEWER, page.text) is None
    seen, pages = ids_on(page.text), 1
    while (older := link(OLDER, page.text)) is not None:
        assert "before=" in older
        page = await client.get(older)
        seen += ids_on(page.text)
        pages += 1
    back = ids_on(page.text)
    while (newer := link(NEWER, page.text)) is not None:
        assert "after=" in newer
        page = await client.get(newer)
        back = ids_on(page.text) + back
    assert back == seen
    return seen, pages


async def test_keyset_pages_walk_every_request_once_both_ways(
    ctx: AppContext,
    practice: Practice,
    wired: Wired,
    sink: tuple[Sink, int],
    client: httpx.AsyncClient,
    login_as: LoginAs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, _ = sink
    handler.rcpt_reply = lambda rcpt, _n: "550 5.1.1 no such user" if rcpt < "m" else None
    await wired.run_day(practice, ON)
    ledger = await requests(ctx)
    assert {r.state for r in ledger} == {SENT, FAILED}  # pages merge the states' ranges
    monkeypatch.setattr(outbox_page, "PAGE_SIZE", 4)
    await login_as("support")
    newest_first = sorted((r.id for r in ledger), reverse=True)
    seen, pages = await walk(client, {})
    assert seen == newest_first
    assert pages == -(-len(ledger) // 4)
    seen, _ = await walk(client, {"business": str(ENTERPRISE)})
    assert seen == newest_first
    seen, _ = await walk(client, {"state": FAILED})
    assert seen == [i for i in newest_first if i in {r.id for r in ledger if r.state == FAILED}]
    assert (await client.get("/outbox", params={"before": "x"})).status_code == 422


async def test_counts_per_state_stop_at_the_cap(
    ctx: AppContext,
    practice: Practice,
    wired: Wired,
    client: httpx.AsyncClient,
    login_as: LoginAs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await wired.run_day(practice, ON)
    assert len(await requests(ctx)) > 5
    monkeypatch.setattr(outbox_queries, "COUNT_CAP", 5)
    await login_as("viewer")
    page = await client.get("/outbox")
    assert re.search(r'href="/outbox\?state=sent"[^>]*>5\+</a>', page.text)
    assert re.search(r'href="/outbox"[^>]*>5\+</a>', page.text)  # All: at least
    assert re.search(r'href="/outbox\?state=parked"[^>]*>0</a>', page.text)


async def test_requeue_is_an_audited_operator_action_with_the_csrf_token(
    ctx: AppContext,
    practice: Practice,
    wired: Wired,
    sink: tuple[Sink, int],
    client: httpx.AsyncClient,
    login_as: LoginAs,
) -> None:
    handler, _ = sink
    handler.rcpt_reply = lambda _rcpt, n: "550 5.1.1 no such user" if n == 1 else None
    await wired.run_day(practice, ON)
    ledger = await requests(ctx)
    assert {r.state for r in ledger} == {FAILED}
    first, second = ledger[0].id, ledger[1].id

    # A viewer reads the errors but gets no Requeue button and cannot post one.
    viewer_token = await login_as("viewer")
    page = await client.get("/outbox", params={"state": FAILED})
    assert "The mail server refused the recipient" in page.text
    assert "Requeue</button>" not in page.text
    refused = await client.post(
        f"/outbox/{first}/requeue", data={"csrf_token": viewer_token}, headers=HTMX
    )
    assert refused.status_code == 403

    token = await login_as("support")
    page = await client.get("/outbox", params={"state": FAILED})
    assert page.text.count("Requeue</button>") == len(ledger)
    assert f'action="/outbox/{first}/requeue"' in page.text
    assert 'name="csrf_token"' in page.text
    without = await client.post(f"/outbox/{first}/requeue", headers=HTMX)
    assert without.status_code == 403
    assert "security token" in without.text
    assert {r.state for r in await requests(ctx)} == {FAILED}  # nothing changed

    row = await client.post(f"/outbox/{first}/requeue", data={"csrf_token": token}, headers=HTMX)
    assert row.status_code == 200, row.text
    assert row.text.lstrip().startswith(f'<tr id="request-{first}"')
    assert "Pending</span>" in row.text
    assert "Requeued: it goes out now." in row.text
    async with ctx.db.reader() as session:
        found = await session.execute(
            select(AuditEvent.actor, AuditEvent.target_id, AuditEvent.details).where(
                AuditEvent.action == "review_request.requeue"
            )
        )
        ((actor, target, details),) = found.all()
    assert (actor, target) == ("user:support-user", str(first))
    assert details["from_state"] == FAILED

    again = await client.post(f"/outbox/{first}/requeue", data={"csrf_token": token}, headers=HTMX)
    assert again.status_code == 422  # htmx swaps it: the row with why
    assert "only failed or parked requests can be requeued" in again.text
    assert "Pending</span>" in again.text
    await wired.drain()
    states = {r.id: r.state for r in await requests(ctx)}
    assert states[first] == SENT
    assert len(handler.message_ids()) == 1

    # The request's page posts a plain form: back to the page, which says so.
    done = await client.post(f"/outbox/{second}/requeue", data={"csrf_token": token})
    assert done.status_code == 303
    assert done.headers["location"] == f"/outbox/{second}?requeued=1"
    shown = await client.get(done.headers["location"])
    assert "Requeued: the request is pending again" in shown.text
    assert {r.id: r.state for r in await requests(ctx)}[second] == PENDING
    conflict = await client.post(f"/outbox/{second}/requeue", data={"csrf_token": token})
    assert conflict.status_code == 409
    assert "only failed or parked requests can be requeued" in conflict.text


async def test_the_demo_capture_shows_the_message_to_support_never_to_a_viewer(
    ctx: AppContext,
    settings: Settings,
    practice: Practice,
    client: httpx.AsyncClient,
    login_as: LoginAs,
) -> None:
    assert settings.database_url is not None
    capture = MailCapture(settings.database_url)
    await capture.astart()
    try:
        smtp = SmtpSettings(host="127.0.0.1", port=capture.port, **{"from": "reviews@fd.test"})
        email = ChannelPlugin("email", Reach.EMAIL, lambda: EmailChannel(smtp))
        async with wire(ctx, channels=[email]) as wired:
            await wired.run_day(practice, ON)
    finally:
        await capture.astop()
    first = (await requests(ctx))[0]
    await login_as("support")
    page = await client.get(f"/outbox/{first.id}")
    assert page.status_code == 200, page.text
    assert "How was your visit to" in page.text  # the subject
    assert first.message_id is not None
    assert str(escape(first.message_id)) in page.text
    assert '<pre class="message-text">' in page.text
    assert "/unsubscribe/" in page.text
    frame = f'<iframe class="message-frame" src="/outbox/{first.id}/message.html" sandbox=""'
    assert frame in page.text
    assert "Leave a review" not in page.text.split('<pre class="message-text">')[0]  # no HTML
    html = await client.get(f"/outbox/{first.id}/message.html")
    assert html.status_code == 200
    assert "Leave a review" in html.text
    assert "/unsubscribe/" in html.text  # shown, as data-href and title, but not a link:
    assert " href=" not in html.text  # its GET would opt the patient out
    policy = html.headers["content-security-policy"]
    assert "sandbox" in policy
    assert "default-src 'none'" in policy
    assert "script" not in policy
    assert html.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]  # unchanged

    await login_as("viewer")
    masked = await client.get(f"/outbox/{first.id}")
    assert masked.status_code == 200
    assert "/unsubscribe/" not in masked.text
    assert "message.html" not in masked.text
    async with ctx.db.reader() as session:
        (recipient,) = await session.scalar(
            select(CapturedMail.rcpt_tos).where(CapturedMail.message_id == first.message_id)
        )
    assert recipient in page.text  # support sees the address
    assert recipient.split("@")[0] not in masked.text
    assert PATIENT_DETAIL_MASK in masked.text
    assert "Your role does not show patient details." in masked.text
    assert (await client.get(f"/outbox/{first.id}/message.html")).status_code == 403
    listed = await client.get("/outbox")
    assert set(RECIPIENT.findall(listed.text)) == {PATIENT_DETAIL_MASK}


async def test_tenants_and_roles(
    ctx: AppContext,
    practice: Practice,
    wired: Wired,
    client: httpx.AsyncClient,
    login_as: LoginAs,
    staff_headers: dict[str, str],
) -> None:
    await wired.run_day(practice, ON)
    ledger = await requests(ctx)
    r = await client.post(
        "/api/businesses",
        json={"businessNumber": OTHER_TENANT, "name": "Elsewhere"},
        headers=staff_headers,
    )
    assert r.status_code == 201
    await login_as("nurse")
    assert (await client.get("/outbox")).status_code == 403
    assert (await client.get(f"/outbox/{ledger[0].id}")).status_code == 403

    token = await login_as("support", business=OTHER_TENANT, username="elsewhere")
    page = await client.get("/outbox")
    assert page.status_code == 200
    assert ids_on(page.text) == []
    assert (await client.get(f"/outbox/{ledger[0].id}")).status_code == 404
    assert (await client.get("/outbox", params={"business": ENTERPRISE})).status_code == 404
    requeue = await client.post(f"/outbox/{ledger[0].id}/requeue", data={"csrf_token": token})
    assert requeue.status_code == 404

    await login_as("viewer", business=ENTERPRISE, username="practice-viewer")
    page = await client.get("/outbox")
    assert set(ids_on(page.text)) == {r.id for r in ledger}
    assert "All my locations" in page.text
    assert (await client.get("/outbox/999999")).status_code == 404


async def test_a_pending_request_shows_its_next_attempt(
    ctx: AppContext,
    practice: Practice,
    wired: Wired,
    sink: tuple[Sink, int],
    client: httpx.AsyncClient,
    login_as: LoginAs,
) -> None:
    handler, _ = sink
    handler.rcpt_reply = lambda _rcpt, _n: "451 4.3.0 try later"
    for run in await practice.run_now(ON):
        await wired.engine.attempt(run["runId"])
    await wired.queue.join()
    ledger = await requests(ctx)
    assert {r.state for r in ledger} == {PENDING}
    assert all(r.attempts == 1 for r in ledger)
    await login_as("admin")
    page = await client.get(f"/outbox/{ledger[0].id}")
    assert "Waiting to be sent" in page.text
    assert "Next attempt" in page.text
    assert "A temporary delivery problem" in page.text
    assert ctx.clock.now() < ledger[0].next_attempt_at <= ctx.clock.now() + timedelta(hours=1)
    listed = await client.get("/outbox", params={"state": PENDING})
    assert "next " in listed.text
    assert "Requeue</button>" not in listed.text
