"""The webhook channel through the sync engine and the one signed-webhook delivery: a real
receiver on loopback verifies the Standard Webhooks signature and sees each event once, even
after answering 500 twice or a resend after a crash; a refused event is parked and replayed;
the secret is stored encrypted, rotatable, and found by rotate-key."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from sqlalchemy import delete, select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from tests.messaging.conftest import CLINIC, DAY, ENTERPRISE, Simulator, Texting, practice
from typer.testing import CliRunner, Result

from frontdesk.audit.models import AuditEvent
from frontdesk.cli.main import app as cli
from frontdesk.context import AppContext
from frontdesk.delivery.webhook.models import WebhookEndpoint
from frontdesk.engagement.ledger_models import ReviewRequest
from frontdesk.security.rotation import encrypted_columns
from frontdesk.settings import OutboundSettings
from frontdesk.webhooks.models import WebhookEvent
from frontdesk.webhooks.pump import WebhookPump, deliver_due
from frontdesk.webhooks.sender import Senders


@dataclass
class Receiver:
    """A business's endpoint: verifies, de-duplicates by ``webhook-id``, can fail first."""

    secret: str = ""
    fail_first: int = 0
    answer: int = 204
    hang_on: int | None = None
    """The attempt (1-based) the receiver holds unanswered until ``release`` is set."""
    release: asyncio.Event = field(default_factory=asyncio.Event)
    attempts: list[str] = field(default_factory=list)
    events: dict[str, dict[str, object]] = field(default_factory=dict)
    refused: int = 0
    url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks")
        async def hook(request: Request) -> Response:
            body = await request.body()
            try:
                event = Webhook(self.secret).verify(body, dict(request.headers))
            except WebhookVerificationError:
                self.refused += 1
                return Response(status_code=401)
            msg_id = request.headers["webhook-id"]
            self.attempts.append(msg_id)
            if len(self.attempts) == self.hang_on:
                await self.release.wait()
            if len(self.attempts) <= self.fail_first:
                return Response(status_code=500)
            if self.answer >= 300:
                return Response(status_code=self.answer)
            self.events.setdefault(msg_id, event)
            return Response(status_code=204)

        return app


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = uvicorn.Server(
        uvicorn.Config(
            found.app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    found.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/hooks"
    try:
        yield found
    finally:
        found.release.set()
        server.should_exit = True
        await task


@pytest.fixture
async def hooked(
    ctx: AppContext, twilio_sim: Simulator, staff_headers: dict[str, str], receiver: Receiver
) -> AsyncIterator[Texting]:
    async with practice(ctx, twilio_sim, staff_headers, channel="webhook") as t:
        r = await t.api.put(f"/api/webhooks/{ENTERPRISE}", json={"url": receiver.url})
        assert r.status_code == 200, r.text
        receiver.secret = r.json()["secret"]
        assert receiver.secret.startswith("whsec_")
        yield t


async def _due_now(t: Texting) -> None:
    """Every queued event and pending request is due now (the real clock of these tests)."""
    async with t.ctx.db.transaction() as session:
        await session.execute(update(ReviewRequest).values(next_attempt_at=t.ctx.clock.now()))
        await session.execute(update(WebhookEvent).values(next_attempt_at=t.ctx.clock.now()))


async def _outbox_item(t: Texting) -> dict[str, object]:
    item: dict[str, object] = (await t.api.get("/api/outbox")).json()["items"][0]
    return item


async def test_each_event_is_seen_once_after_two_500s(hooked: Texting, receiver: Receiver) -> None:
    """The ledger hands the event to the one webhook delivery (first attempt at once); the
    pump retries the 500s with the same webhook-id; the outbox follows the event."""
    t = hooked
    receiver.fail_first = 2
    t.book.visit(1, DAY, "+17035550101")
    requests = await t.run(DAY)
    assert list((await t.process.sender.send_requests(requests)).values()) == ["sent"]
    assert len(receiver.attempts) == 1
    assert (await _outbox_item(t))["deliveryStatus"] == "queued"
    for _ in range(2):
        await _due_now(t)
        assert await deliver_due(t.ctx) == 1
    assert await deliver_due(t.ctx) == 0
    assert len(receiver.attempts) == 3
    assert len(set(receiver.attempts)) == 1  # every attempt carries the same webhook-id
    (event,) = receiver.events.values()
    assert event["type"] == "review_request.created"
    data = event["data"]
    assert isinstance(data, dict)
    assert data["patientId"] == "P1"
    assert data["reviewUrl"] == "https://reviews.example/care"
    item = await _outbox_item(t)
    assert item["messageId"] == receiver.attempts[0]
    assert (item["state"], item["deliveryStatus"]) == ("sent", "delivered")


async def test_a_resend_after_a_crash_keeps_the_event_id(
    hooked: Texting, receiver: Receiver
) -> None:
    """A sender that died after queueing: reconcile finds the event (sent, nothing queued
    twice); one that died before: the request is sent again and queues the same id."""
    t = hooked
    t.book.visit(1, DAY, "+17035550101")
    requests = await t.run(DAY)
    await t.process.sender.send_requests(requests)

    async def crashed() -> None:  # as if the worker died before recording
        async with t.ctx.db.transaction() as session:
            await session.execute(
                update(ReviewRequest).values(
                    state="sending", claimed_at=t.ctx.clock.now() - timedelta(hours=1)
                )
            )

    await crashed()
    assert (await t.process.sender.sweep())["resolved_sent"] == 1
    await crashed()
    async with t.ctx.db.transaction() as session:  # ...and before it queued the event
        await session.execute(delete(WebhookEvent))
    assert (await t.process.sender.sweep())["resolved_pending"] == 1
    await t.process.sender.send_requests(requests)
    assert len(receiver.attempts) == 2
    assert len(set(receiver.attempts)) == 1
    assert len(receiver.events) == 1  # the receiver de-duplicated the resend


async def test_the_secret_is_encrypted_rotatable_and_rotated_by_rotate_key(
    hooked: Texting, receiver: Receiver
) -> None:
    t = hooked
    async with t.ctx.db.reader() as session:
        stored = (await session.execute(select(WebhookEndpoint.secret))).scalar_one()
    assert receiver.secret not in stored
    assert t.ctx.secrets.decrypt(stored) == receiver.secret
    sealed = {(tb.name, c.name) for tb, c in encrypted_columns()}
    assert {("webhook_endpoints", "secret"), ("webhook_events", "sealed")} <= sealed
    shown = (await t.api.get(f"/api/webhooks/{ENTERPRISE}")).json()
    assert "secret" not in shown or shown["secret"] is None
    old = receiver.secret
    rotated = (await t.api.post(f"/api/webhooks/{ENTERPRISE}/rotate")).json()["secret"]
    assert rotated != old
    t.book.visit(1, DAY, "+17035550101")
    await t.process.sender.send_requests(await t.run(DAY))
    assert receiver.refused == 1  # signed with the new secret: the old one no longer verifies
    receiver.secret = rotated
    # the receiver's 401 was a refusal: the event is parked, the outbox says failed
    item = await _outbox_item(t)
    assert (item["state"], item["deliveryStatus"]) == ("sent", "failed")
    parked = (await t.api.get(f"/api/webhooks/{ENTERPRISE}/events?state=parked")).json()
    (event,) = parked["items"]
    assert (event["eventId"], event["lastStatusCode"]) == (item["messageId"], 401)
    assert not {"data", "body", "sealed"} & set(event)  # never the patient's event
    # the request's own requeue is for requests that were not handed over
    assert (await t.api.post(f"/api/outbox/{item['id']}/requeue")).status_code == 409
    r = await t.api.post(f"/api/webhooks/{ENTERPRISE}/events/{event['eventId']}/replay")
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["attempts"]) == ("pending", 0)
    assert (await _outbox_item(t))["deliveryStatus"] == "queued"
    assert await deliver_due(t.ctx) == 1
    assert len(receiver.events) == 1
    assert (await _outbox_item(t))["deliveryStatus"] == "delivered"
    async with t.ctx.db.reader() as session:  # the queued event names a patient: sealed
        stored_body = (await session.execute(select(WebhookEvent.sealed))).scalar_one()
    assert stored_body is not None
    assert "reviews.example" not in stored_body
    assert "reviews.example" in t.ctx.secrets.decrypt(stored_body)
    assert (await t.api.get(f"/api/webhooks/{CLINIC}")).status_code == 404  # none of its own


async def test_a_webhook_url_follows_the_outbound_rule(
    ctx: AppContext, twilio_sim: Simulator, staff_headers: dict[str, str]
) -> None:
    """A business's endpoint must be public or listed by the operator (the hardening issue's
    rule, checked when it is set and again at connect time); the URL is never echoed."""
    async with practice(ctx, twilio_sim, staff_headers, channel="webhook") as t:
        for url in ("http://10.0.0.8/hooks", "http://169.254.169.254/latest", "http://[::1]:9/x"):
            r = await t.api.put(f"/api/webhooks/{ENTERPRISE}", json={"url": url})
            assert r.status_code == 422, r.text
            assert r.json()["error"]["field"] == "url"
            assert url not in r.text
        listed = await t.api.put(
            f"/api/webhooks/{ENTERPRISE}", json={"url": "http://127.0.0.1:9/hooks"}
        )
        assert listed.status_code == 200, listed.text


async def test_a_pump_killed_mid_post_is_taken_over_with_the_same_event_id(
    hooked: Texting, receiver: Receiver
) -> None:
    """The pump dies while its POST is in flight (no outcome recorded); after the lease the
    next pump sends the event again with its webhook-id and the receiver keeps one."""
    t = hooked
    receiver.fail_first, receiver.hang_on = 1, 2
    t.book.visit(1, DAY, "+17035550101")
    await t.process.sender.send_requests(await t.run(DAY))  # first attempt: 500
    await _due_now(t)
    first = WebhookPump(t.ctx, senders=Senders.from_settings(t.ctx.settings, connect_check=None))
    await first.start()
    for _ in range(500):
        if len(receiver.attempts) == 2:
            break
        await asyncio.sleep(0.01)
    await first.stop()  # killed mid-POST
    async with t.ctx.db.reader() as session:
        (row,) = (await session.execute(select(WebhookEvent))).scalars()
        assert (row.state, row.attempts) == ("sending", 2)
        event_id = row.event_id
    assert await deliver_due(t.ctx) == 0  # its lease still holds
    await _due_now(t)  # the lease ran out
    second = WebhookPump(t.ctx, senders=Senders.from_settings(t.ctx.settings, connect_check=None))
    await second.start()
    try:
        for _ in range(500):
            if (await _outbox_item(t))["deliveryStatus"] == "delivered":
                break
            await asyncio.sleep(0.01)
    finally:
        await second.stop()
    assert receiver.attempts == [event_id] * 3
    assert len(receiver.events) == 1
    assert (await _outbox_item(t))["deliveryStatus"] == "delivered"


async def test_a_target_the_outbound_rule_no_longer_allows_is_parked_unsent(
    hooked: Texting, receiver: Receiver
) -> None:
    t = hooked
    receiver.fail_first = 1
    t.book.visit(1, DAY, "+17035550101")
    await t.process.sender.send_requests(await t.run(DAY))
    t.ctx.settings = t.ctx.settings.model_copy(update={"outbound": OutboundSettings()})
    await _due_now(t)
    assert await deliver_due(t.ctx) == 1
    (event,) = (await t.api.get(f"/api/webhooks/{ENTERPRISE}/events?state=parked")).json()["items"]
    assert "FRONTDESK_OUTBOUND__ALLOWED_HOSTS" in event["lastError"]
    assert "127.0.0.1" not in event["lastError"]
    assert len(receiver.attempts) == 1  # nothing was sent to the refused address


@pytest.fixture
def cli_env(ctx: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ctx.settings
    assert settings.secret_keys is not None
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", settings.database_url or "")
    monkeypatch.setenv("FRONTDESK_SECRET_KEYS", settings.secret_keys.get_secret_value())


async def _cli(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args))


@pytest.mark.usefixtures("cli_env")
async def test_cli_lists_and_replays_parked_events(hooked: Texting, receiver: Receiver) -> None:
    t = hooked
    receiver.answer = 410
    t.book.visit(1, DAY, "+17035550101")
    await t.process.sender.send_requests(await t.run(DAY))
    listed = await _cli("webhooks", "--state", "parked", "--json")
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    assert (row["kind"], row["lastStatusCode"], row["attempts"]) == ("review", 410, 1)
    assert not {"Ann", "P1"} & set(listed.output.replace('"', " ").split())  # no patient data
    receiver.answer = 204
    assert (await _cli("webhooks", "replay")).exit_code == 1  # ids or --parked
    replayed = await _cli("webhooks", "replay", "--parked", "--kind", "review")
    assert replayed.exit_code == 0, replayed.output
    assert "1 event(s) queued again" in replayed.output
    assert await deliver_due(t.ctx) == 1
    assert receiver.attempts == [row["eventId"]] * 2
    assert len(receiver.events) == 1
    again = await _cli("webhooks", "replay", str(row["id"]))
    assert again.exit_code == 0, again.output  # a delivered event may be sent again
    async with t.ctx.db.reader() as session:
        actions = (await session.execute(select(AuditEvent.action))).scalars().all()
    assert actions.count("webhooks.replay") == 2
