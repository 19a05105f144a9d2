"""Review requests by text through the sync engine, against the Twilio simulator over HTTP:
sent once each, delivery status from signed callbacks, STOP / START per sender number,
a bad signature refused without change, 21610 recorded as an opt-out, reconcile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from tests.messaging.conftest import ACCOUNT, CLINIC, DAY, PUBLIC_URL, SENDER, TOKEN, Texting

from frontdesk.delivery.sms.models import SmsConsent, SmsConsentEvent
from frontdesk.delivery.sms.signatures import SIGNATURE_HEADER, sign
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.ledger_models import ReviewRequest
from frontdesk.engagement.optout_models import OptOut

ANN, BOB, CAROL = "(703) 555-0101", "+1 571 555 0103", "+15715550199"


async def _decisions(t: Texting) -> dict[str, tuple[str, str | None]]:
    async with t.ctx.db.reader() as session:
        rows = (await session.execute(select(CheckIn))).scalars()
        return {c.appointment_id: (c.decision, c.restriction_reason) for c in rows}


async def _inbound(t: Texting, number: str, body: str) -> int:
    r = await t.sim.client.post(
        "/sandbox/inbound", json={"from": number, "to": SENDER, "body": body}
    )
    assert r.status_code == 200, r.text
    return int(r.json()["callbackStatus"])


async def test_texts_are_sent_once_with_their_delivery_status(texting: Texting) -> None:
    t = texting
    t.book.visit(1, DAY, ANN)
    t.book.visit(2, DAY, BOB)
    t.book.visit(3, DAY, "+44 20 7183 8750")  # a UK landline: cannot receive texts
    requests = await t.run(DAY)
    assert (await _decisions(t))["A3"] == ("restricted", "no_usable_contact")
    outcomes = await t.process.sender.send_requests(requests)
    assert sorted(outcomes.values()) == ["sent", "sent"]
    await t.process.sender.send_requests(requests)  # again: nothing is sent twice
    messages = t.sim.state.messages
    assert sorted(m.to for m in messages) == ["+15715550103", "+17035550101"]
    assert all(m.from_ == SENDER for m in messages)
    assert all(f"{PUBLIC_URL}/r/" in m.body for m in messages)  # the tracked link
    assert all("reviews.example" not in m.body for m in messages)
    assert all(m.status_callback == f"{PUBLIC_URL}/webhooks/twilio/status" for m in messages)
    await t.sim.settled()
    assert {c["status"] for c in t.sim.state.callbacks} == {"204"}
    page = (await t.api.get("/api/outbox", params={"limit": 1000})).json()
    items = page["items"]
    assert {i["messageId"] for i in items} == {m.sid for m in messages}
    assert all(i["messageId"].startswith("SM") for i in items)
    assert {i["deliveryStatus"] for i in items} == {"delivered"}
    assert sorted(i["recipient"] for i in items) == ["***01", "***03"]  # the number, masked
    # a click is recorded and redirects to the location's review page
    link = next(w for w in messages[0].body.split() if w.startswith(f"{PUBLIC_URL}/r/"))
    r = await t.api.get(link.removeprefix(PUBLIC_URL))
    assert (r.status_code, r.headers["location"]) == (303, "https://reviews.example/care")
    assert (await t.api.get("/r/unknown-token")).status_code == 404
    items = (await t.api.get("/api/outbox")).json()["items"]
    assert {i["messageId"]: i["clicks"] for i in items} == {
        m.sid: int(link in m.body) for m in messages
    }
    # the same day again: decided once, nothing new
    assert await t.run(DAY) == []


async def test_stop_applies_to_the_sender_number_and_start_lifts_it(texting: Texting) -> None:
    t = texting
    # Carol was never texted: her STOP to our number still counts
    assert await _inbound(t, CAROL, "STOP") == 200
    t.book.visit(1, DAY, CAROL)
    assert await t.run(DAY) == []
    assert (await _decisions(t))["A1"] == ("restricted", "opted_out")
    async with t.ctx.db.reader() as session:
        consent = (await session.execute(select(SmsConsent))).scalar_one()
        assert (consent.sender, consent.opted_out, consent.keyword) == (SENDER, True, "STOP")
        assert (await session.execute(select(OptOut.source))).scalars().all() == ["sms_keyword"]

    assert await _inbound(t, CAROL, "start") == 200
    day2 = DAY + timedelta(days=1)
    t.book.visit(2, day2, CAROL)
    requests = await t.run(day2)
    assert (await _decisions(t))["A2"] == ("eligible", None)
    assert list((await t.process.sender.send_requests(requests)).values()) == ["sent"]
    async with t.ctx.db.reader() as session:
        assert (await session.execute(select(OptOut))).scalars().all() == []
        events = (await session.execute(select(SmsConsentEvent))).scalars().all()
        assert [(e.action, e.keyword, e.source) for e in events] == [
            ("opt_out", "STOP", "keyword"),
            ("opt_in", "START", "keyword"),
        ]


async def test_a_stop_after_the_decision_stops_the_queued_text(texting: Texting) -> None:
    t = texting
    t.book.visit(1, DAY, ANN)
    requests = await t.run(DAY)
    assert await _inbound(t, "+17035550101", "Please stop texting me") == 200
    outcomes = await t.process.sender.send_requests(requests)
    assert list(outcomes.values()) == ["failed"]
    assert t.sim.state.messages == []
    async with t.ctx.db.reader() as session:
        row = (await session.execute(select(ReviewRequest))).scalar_one()
        assert row.last_error_code == "opted_out"
        event = (await session.execute(select(SmsConsentEvent))).scalar_one()
        assert (event.action, event.keyword, event.source) == ("opt_out", None, "plain_language")


async def test_help_answers_the_help_text(texting: Texting) -> None:
    params = {"From": "+17035550101", "To": SENDER, "Body": "HELP", "MessageSid": "SM1"}
    url = f"{PUBLIC_URL}/webhooks/twilio/inbound"
    r = await texting.api.post(
        "/webhooks/twilio/inbound",
        data=params,
        headers={SIGNATURE_HEADER: sign(TOKEN, url, params)},
    )
    assert r.status_code == 200
    assert "<Message>" in r.text
    assert "STOP" in r.text


@pytest.mark.parametrize(
    "path", ["/webhooks/twilio/inbound", "/webhooks/twilio/status"], ids=["inbound", "status"]
)
async def test_a_callback_with_a_bad_signature_is_refused_and_changes_nothing(
    texting: Texting, path: str
) -> None:
    t = texting
    params = {
        "From": "+17035550101",
        "To": SENDER,
        "Body": "STOP",
        "MessageSid": "SM" + "b" * 32,
        "MessageStatus": "delivered",
        "AccountSid": ACCOUNT,
    }
    url = f"{PUBLIC_URL}{path}"
    for headers in (
        {SIGNATURE_HEADER: sign("not-the-token", url, params)},
        {SIGNATURE_HEADER: sign(TOKEN, "https://elsewhere.example" + path, params)},
        {},
    ):
        r = await t.api.post(path, data=params, headers=headers)
        assert r.status_code == 403
    async with t.ctx.db.reader() as session:
        for table in (SmsConsent, SmsConsentEvent, OptOut):
            assert (await session.execute(select(func.count()).select_from(table))).scalar() == 0


async def test_21610_records_an_opt_out(texting: Texting) -> None:
    t = texting
    t.sim.state.knobs.unsubscribed_numbers = ["+17035550101"]
    t.book.visit(1, DAY, ANN)
    outcomes = await t.process.sender.send_requests(await t.run(DAY))
    assert list(outcomes.values()) == ["failed"]
    async with t.ctx.db.reader() as session:
        consent = (await session.execute(select(SmsConsent))).scalar_one()
        assert (consent.sender, consent.opted_out, consent.source) == (SENDER, True, "provider")
        row = (await session.execute(select(ReviewRequest))).scalar_one()
        assert row.last_error_code == "opted_out"
    # the next check-in of that number is restricted at the decision
    day2 = DAY + timedelta(days=1)
    t.book.visit(2, day2, ANN)
    assert await t.run(day2) == []
    assert (await _decisions(t))["A2"] == ("restricted", "opted_out")


@pytest.mark.parametrize(
    ("fault", "state"),
    [(429, "pending"), (503, "pending"), (21211, "failed")],
    ids=["rate-limited", "unavailable", "invalid-number"],
)
async def test_provider_errors_are_classified(texting: Texting, fault: int, state: str) -> None:
    t = texting
    if fault == 21211:
        t.sim.state.knobs.invalid_numbers = ["+17035550101"]
    else:
        t.sim.state.knobs.fail_next = [fault]
    t.book.visit(1, DAY, ANN)
    outcomes = await t.process.sender.send_requests(await t.run(DAY))
    assert list(outcomes.values()) == [state]
    async with t.ctx.db.reader() as session:
        code, error = (
            await session.execute(select(ReviewRequest.last_error_code, ReviewRequest.last_error))
        ).one()
    assert code == {"failed": "no_usable_contact", "pending": "delivery_transient"}[state]
    assert "7035550101" not in (error or "")


async def test_reconcile_looks_the_message_up_at_the_provider(texting: Texting) -> None:
    t = texting
    t.book.visit(1, DAY, ANN)
    t.book.visit(2, DAY, BOB)
    requests = await t.run(DAY)
    await t.process.sender.send_requests(requests[:1])
    channel = t.process.plugins.channels.get("sms")
    async with t.ctx.db.transaction() as session:
        # a crash after the send (first) and before it (second): both claimed, no sid stored
        await session.execute(
            ReviewRequest.__table__.update().values(
                state="sending", message_id=None, claimed_at=t.ctx.clock.now() - timedelta(hours=1)
            )
        )
    async with t.ctx.db.reader() as session:
        rows = (await session.execute(select(ReviewRequest).order_by(ReviewRequest.id))).scalars()
        keys = [r.ledger_key for r in rows]
    assert await channel.reconcile(keys[0], None) is True
    assert await channel.reconcile(keys[1], None) is False
    sid = t.sim.state.messages[0].sid
    assert await channel.reconcile(keys[0], sid) is True  # looked up by its sid


async def test_a_failed_callback_with_21610_records_the_opt_out(texting: Texting) -> None:
    t = texting
    t.sim.state.knobs.lifecycle = "manual"
    t.book.visit(1, DAY, ANN)
    await t.process.sender.send_requests(await t.run(DAY))
    (message,) = t.sim.state.messages
    r = await t.sim.client.post(
        f"/sandbox/messages/{message.sid}/status", json={"status": "failed", "errorCode": 21610}
    )
    assert r.status_code == 200
    async with t.ctx.db.reader() as session:
        consent = (await session.execute(select(SmsConsent))).scalar_one()
        assert (consent.opted_out, consent.source) == (True, "provider")
    (item,) = (await t.api.get("/api/outbox")).json()["items"]
    assert item["deliveryStatus"] == "failed"


async def test_no_phone_number_or_body_in_any_log_line(
    texting: Texting, caplog: pytest.LogCaptureFixture
) -> None:
    t = texting
    caplog.set_level("DEBUG")
    t.book.visit(1, DAY, ANN)
    t.book.visit(2, DAY, BOB)
    await t.process.sender.send_requests(await t.run(DAY))
    await t.sim.settled()
    await _inbound(t, "+17035550101", "HELP")
    await _inbound(t, "+15715550103", "stop texting me")
    assert "sms" in caplog.text
    for secret in ("7035550101", "5715550103", "703) 555", "reviews.example", "stop texting"):
        assert secret not in caplog.text


async def test_the_template_preview_counts_segments(texting: Texting) -> None:
    r = await texting.api.get(f"/api/businesses/{CLINIC}/message-templates/sms/preview")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "mobile"
    assert f"{PUBLIC_URL}/r/" in body["textBody"]
    assert body["segments"]["encoding"] == "GSM-7"
    assert body["segments"]["segments"] == 1
    assert body["segments"]["characters"] == len(body["textBody"])
    email = await texting.api.get(f"/api/businesses/{CLINIC}/message-templates/email/preview")
    assert email.status_code == 200
    assert email.json()["segments"] is None
    missing = await texting.api.get(f"/api/businesses/{CLINIC}/message-templates/fax/preview")
    assert missing.status_code == 404
