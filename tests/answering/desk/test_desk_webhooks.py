"""Push webhooks against a real receiver on a loopback port: signatures, retries, parking."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from alembic import command
from sqlalchemy import Connection, select, text, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typer.testing import CliRunner

from frontdesk.answering.desk.delivery import attempt_delivery, deliver_due
from frontdesk.answering.desk.webhooks import sign, verify_signature
from frontdesk.cli.main import app as cli
from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.db.migrate import alembic_config
from frontdesk.settings import Settings, TicketWebhookSettings
from frontdesk.webhooks.models import WebhookEvent

TICKETS = "/api/answering/tickets"
DELIVERIES = "/api/answering/webhook-deliveries"


def set_webhook_options(ctx: AppContext, options: TicketWebhookSettings) -> None:
    """Deliver ticket webhooks with ``options`` from now on (``settings.answering.webhooks``)."""
    answering = ctx.settings.answering.model_copy(update={"webhooks": options})
    ctx.settings = ctx.settings.model_copy(update={"answering": answering})


@dataclass
class Receiver:
    """An answering service's endpoint, written from the docs: verify, dedupe, apply once.

    It applies an event the first time it sees a delivery id — *before* answering — so the
    planned 500s model a receiver that crashed after applying: the retries must not apply it
    again.
    """

    clock: ManualClock
    secret: str = ""
    plan: list[int] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: int = 0
    url: str = ""

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        timestamp = request.headers.get("X-Frontdesk-Timestamp", "")
        signature = request.headers.get("X-Frontdesk-Signature", "")
        delivery = request.headers.get("X-Frontdesk-Delivery", "")
        expected = (
            "sha256="
            + hmac.new(
                self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
            ).hexdigest()
        )
        fresh = timestamp.isdigit() and abs(self.clock.now().timestamp() - int(timestamp)) <= 300
        if not fresh or not hmac.compare_digest(expected, signature):
            self.rejected += 1
            return Response(status_code=401)
        self.seen.append(delivery)
        if delivery not in self.applied:
            self.applied[delivery] = json.loads(body)
        return Response(status_code=self.plan.pop(0) if self.plan else 200)


@pytest.fixture
async def receiver(clock: ManualClock) -> AsyncIterator[Receiver]:
    target = Receiver(clock)
    app = Starlette(routes=[Route("/hook", target.hook, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    port = server.servers[0].sockets[0].getsockname()[1]
    target.url = f"http://127.0.0.1:{port}/hook"
    yield target
    server.should_exit = True
    await task


async def _configure(desk: Any, receiver: Receiver, company: int = 1) -> dict[str, Any]:
    response = await desk.staff.put(
        f"/api/answering/companies/{company}/webhook", json={"url": receiver.url}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    receiver.secret = body["secret"]
    return body


async def _deliveries(desk: Any, **params: Any) -> list[dict[str, Any]]:
    response = await desk.staff.get(DELIVERIES, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_500_twice_then_200_is_one_delivery_applied_once(
    desk: Any, receiver: Receiver
) -> None:
    set_webhook_options(desk.ctx, TicketWebhookSettings(max_attempts=5, backoff_max_s=60))
    config = await _configure(desk, receiver)
    assert config["secret"].startswith("whsec_")
    assert config["url"] == receiver.url
    receiver.plan = [500, 500]
    ticket = await desk.new_ticket()
    assert (await desk.transition(ticket, "ESCALATED")).status_code == 200
    (queued,) = await _deliveries(desk)
    assert queued["state"] == "pending"
    assert queued["attempts"] == 0

    assert await deliver_due(desk.ctx) == 1
    assert await deliver_due(desk.ctx) == 0  # backing off: nothing is due yet
    (first,) = await _deliveries(desk)
    assert (first["state"], first["attempts"], first["lastStatusCode"]) == ("pending", 1, 500)
    assert first["lastError"] == "HTTP 500"
    for _ in range(2):
        desk.clock.advance(timedelta(seconds=61))
        assert await deliver_due(desk.ctx) == 1

    (done,) = await _deliveries(desk, state="delivered")
    assert (done["attempts"], done["lastStatusCode"], done["lastError"]) == (3, 200, None)
    assert done["deliveredAt"] is not None
    assert receiver.rejected == 0  # every attempt's signature verified
    assert receiver.seen == [str(done["id"])] * 3
    assert len(receiver.applied) == 1
    event = receiver.applied[str(done["id"])]
    assert event == {
        "event": "ticket.status_changed",
        "deliveryId": done["id"],
        "ticketId": ticket,
        "status": "ESCALATED",
        "previousStatus": "IN PROGRESS",
        "changedAt": event["changedAt"],
        "actorRole": "staff",
        "sequence": event["sequence"],
    }
    assert "Doe" not in json.dumps(event)
    desk.clock.advance(timedelta(hours=1))
    assert await deliver_due(desk.ctx) == 0  # delivered stays delivered


async def test_parked_after_max_attempts_then_redelivered(desk: Any, receiver: Receiver) -> None:
    set_webhook_options(desk.ctx, TicketWebhookSettings(max_attempts=3, backoff_max_s=60))
    await _configure(desk, receiver)
    receiver.plan = [503] * 3
    ticket = await desk.new_ticket()
    await desk.transition(ticket, "CANCELLED")
    for _ in range(3):
        await deliver_due(desk.ctx)
        desk.clock.advance(timedelta(seconds=61))
    assert await deliver_due(desk.ctx) == 0
    (parked,) = await _deliveries(desk, state="parked")
    assert (parked["attempts"], parked["lastStatusCode"]) == (3, 503)
    assert await _deliveries(desk, state="pending") == []
    assert (await desk.staff.get(DELIVERIES, params={"state": "lost"})).status_code == 422

    again = await desk.staff.post(f"{DELIVERIES}/{parked['id']}/redeliver")
    assert again.status_code == 200
    assert (again.json()["state"], again.json()["attempts"]) == ("pending", 0)
    conflict = await desk.staff.post(f"{DELIVERIES}/{parked['id']}/redeliver")
    assert conflict.status_code == 409
    assert await deliver_due(desk.ctx) == 1
    (done,) = await _deliveries(desk, state="delivered")
    assert done["attempts"] == 1
    assert receiver.seen == [str(parked["id"])] * 4
    assert len(receiver.applied) == 1
    assert (await desk.staff.post(f"{DELIVERIES}/999/redeliver")).status_code == 404


async def test_the_pump_delivers_after_a_status_change(desk: Any, receiver: Receiver) -> None:
    await _configure(desk, receiver)
    pump = desk.process.webhooks  # the API node's pump: the runtime's queued-webhooks hook wakes it
    assert pump is not None
    assert desk.runtime.webhooks_queued == pump.kick
    await pump.start()
    try:
        ticket = await desk.new_ticket()
        await desk.assign(ticket, "nina")  # the request kicks the pump
        for _ in range(500):
            if receiver.applied:
                break
            await asyncio.sleep(0.01)
    finally:
        await pump.stop()
    (event,) = receiver.applied.values()
    assert (event["status"], event["previousStatus"]) == ("ASSIGNED", "IN PROGRESS")


async def test_secret_is_encrypted_masked_and_kept(desk: Any, receiver: Receiver) -> None:
    config = await _configure(desk, receiver)
    secret = config["secret"]
    shown = (await desk.staff.get("/api/answering/companies/1/webhook")).json()
    assert shown["secret"] == "********"
    async with desk.ctx.db.reader() as session:
        stored = (
            await session.execute(text("SELECT secret FROM answering_company_webhooks"))
        ).scalar_one()
    assert secret not in stored
    assert desk.ctx.secrets.decrypt(stored) == secret
    moved = await desk.staff.put(
        "/api/answering/companies/1/webhook", json={"url": receiver.url + "?v=2"}
    )
    assert moved.json()["secret"] == "********"  # a URL change keeps the secret
    rotated = await desk.staff.put(
        "/api/answering/companies/1/webhook", json={"url": receiver.url, "secret": "s" * 20}
    )
    assert rotated.json()["secret"] == "********"
    receiver.secret = "s" * 20
    ticket = await desk.new_ticket()
    await desk.transition(ticket, "ESCALATED")
    await deliver_due(desk.ctx)
    assert (receiver.rejected, len(receiver.applied)) == (0, 1)


async def test_webhook_config_validation_and_rights(desk: Any, receiver: Receiver) -> None:
    path = "/api/answering/companies/1/webhook"
    assert (await desk.staff.get(path)).status_code == 404  # none yet
    bad = await desk.staff.put(path, json={"url": "ftp://x/hook"})
    assert bad.status_code == 422
    creds = await desk.staff.put(path, json={"url": "http://u:p@127.0.0.1/hook"})
    assert creds.status_code == 422
    short = await desk.staff.put(path, json={"url": receiver.url, "secret": "short"})
    assert short.status_code == 422
    missing = await desk.staff.put(
        "/api/answering/companies/999/webhook", json={"url": receiver.url}
    )
    assert missing.status_code == 404
    for user in ("nina", "vic", "sue"):
        client = desk.as_user(user)
        assert (await client.put(path, json={"url": receiver.url})).status_code == 403, user
        assert (await client.get(DELIVERIES)).status_code == 403, user
    assert (await desk.as_user("ada").put(path, json={"url": receiver.url})).status_code == 200


async def test_no_webhook_no_delivery_and_removed_webhook_parks(
    desk: Any, receiver: Receiver
) -> None:
    ticket = await desk.new_ticket()
    await desk.transition(ticket, "ESCALATED")
    assert await _deliveries(desk) == []
    await _configure(desk, receiver)
    await desk.assign(ticket, "nina")
    assert (await desk.staff.delete("/api/answering/companies/1/webhook")).status_code == 204
    await deliver_due(desk.ctx)
    (parked,) = await _deliveries(desk, state="parked")
    assert parked["lastError"] == "no active webhook for the company"
    assert receiver.seen == []


async def test_a_stale_claim_is_taken_over_and_its_late_record_ignored(
    desk: Any, receiver: Receiver
) -> None:
    """A runner that died mid-POST leaves ``sending``; after the lease another one sends."""
    set_webhook_options(desk.ctx, TicketWebhookSettings(lease_s=60))
    await _configure(desk, receiver)
    ticket = await desk.new_ticket()
    await desk.transition(ticket, "ESCALATED")
    async with desk.ctx.db.transaction() as session:
        row = (await session.execute(select(WebhookEvent))).scalar_one()
        row.state = "sending"
        row.attempts = 1
        row.next_attempt_at = desk.clock.now() + timedelta(seconds=60)
        delivery_id = row.id
    assert await attempt_delivery(desk.ctx, delivery_id) == "skipped"
    desk.clock.advance(timedelta(seconds=61))
    assert await attempt_delivery(desk.ctx, delivery_id) == "delivered"
    (done,) = await _deliveries(desk)
    assert done["attempts"] == 2


def test_signature_helpers() -> None:
    body = b'{"a":1}'
    signature = sign("whsec_x", "1700000000", body)
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature == "sha256=" + expected
    ok = {"timestamp": "1700000000", "body": body, "signature": signature}
    assert verify_signature("whsec_x", now=1700000100, **ok)
    assert not verify_signature("whsec_y", now=1700000100, **ok)
    assert not verify_signature("whsec_x", now=1700000400, **ok)  # older than 5 minutes
    assert not verify_signature("whsec_x", now=1700000000, **{**ok, "body": b'{"a":2}'})
    assert not verify_signature("whsec_x", now=1700000000, **{**ok, "timestamp": "x"})


async def _alembic(ctx: AppContext, step: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, step)(config, revision)

    async with ctx.db.write_engine.begin() as connection:
        await connection.run_sync(run)


async def test_migration_0056_carries_deliveries_over_with_their_ids(
    desk: Any, receiver: Receiver
) -> None:
    """Down to the desk's own table and up again: a pending delivery keeps its id (its
    receiver dedupes by it), is sent by the one pump, and new ones number after it."""
    await _configure(desk, receiver)
    ticket = await desk.new_ticket()
    await desk.transition(ticket, "ESCALATED")
    await desk.assign(ticket, "nina")
    first, second = sorted(d["id"] for d in await _deliveries(desk))
    assert await attempt_delivery(desk.ctx, first) == "delivered"
    await _alembic(desk.ctx, "downgrade", "0056-1")
    async with desk.ctx.db.reader() as session:
        old = (
            await session.execute(
                text("SELECT id, state FROM answering_webhook_deliveries ORDER BY id")
            )
        ).all()
    assert [tuple(r) for r in old] == [(first, "delivered"), (second, "pending")]
    await _alembic(desk.ctx, "upgrade", "heads")
    items = {d["id"]: d for d in await _deliveries(desk)}
    assert (items[first]["state"], items[second]["state"]) == ("delivered", "pending")
    assert await deliver_due(desk.ctx) == 1
    assert receiver.seen == [str(first), str(second)]
    await desk.transition(ticket, "CANCELLED")
    newest = max(d["id"] for d in await _deliveries(desk))
    assert newest > second


async def test_a_refusal_is_retried_for_answering_services(desk: Any, receiver: Receiver) -> None:
    """Ticket pushes keep their documented retries: a 404 is a failed attempt, not the end."""
    set_webhook_options(desk.ctx, TicketWebhookSettings(max_attempts=2, backoff_max_s=60))
    await _configure(desk, receiver)
    receiver.plan = [404, 404]
    ticket = await desk.new_ticket()
    await desk.transition(ticket, "ESCALATED")
    assert await deliver_due(desk.ctx) == 1
    (retrying,) = await _deliveries(desk, state="pending")
    assert (retrying["attempts"], retrying["lastError"]) == (1, "HTTP 404")
    desk.clock.advance(timedelta(seconds=61))
    assert await deliver_due(desk.ctx) == 1
    (parked,) = await _deliveries(desk, state="parked")
    assert parked["attempts"] == 2


@pytest.fixture
def cli_env(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.secret_keys is not None
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", settings.database_url or "")
    monkeypatch.setenv("FRONTDESK_SECRET_KEYS", settings.secret_keys.get_secret_value())


@pytest.mark.usefixtures("cli_env")
async def test_the_cli_replays_parked_ticket_pushes(desk: Any, receiver: Receiver) -> None:
    set_webhook_options(desk.ctx, TicketWebhookSettings(max_attempts=1))
    await _configure(desk, receiver)
    receiver.plan = [503]
    ticket = await desk.new_ticket()
    await desk.transition(ticket, "ESCALATED")
    await deliver_due(desk.ctx)
    (parked,) = await _deliveries(desk, state="parked")
    invoke = CliRunner().invoke
    listed = await asyncio.to_thread(invoke, cli, ["webhooks", "--kind", "ticket", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [(r["id"], r["state"]) for r in json.loads(listed.output)] == [(parked["id"], "parked")]
    args = ["webhooks", "replay", "--parked", "--kind", "ticket"]
    replayed = await asyncio.to_thread(invoke, cli, args)
    assert replayed.exit_code == 0, replayed.output
    (again,) = await _deliveries(desk, state="pending")
    assert (again["id"], again["attempts"]) == (parked["id"], 0)
    async with desk.ctx.db.transaction() as session:  # the CLI ran on the wall clock
        await session.execute(update(WebhookEvent).values(next_attempt_at=desk.clock.now()))
    assert await deliver_due(desk.ctx) == 1
    assert receiver.seen == [str(parked["id"])] * 2
    assert len(receiver.applied) == 1
