"""The outbox over HTTP and the CLI: states, masking and audited reveal, tenant isolation,
operator requeue, and (demo) the captured message found by its Message-ID."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.sync.conftest import ENTERPRISE, LOCATIONS, OTHER_TENANT
from typer.testing import CliRunner

from frontdesk.audit.models import AuditEvent
from frontdesk.cli import listing
from frontdesk.cli.main import app
from frontdesk.context import AppContext
from frontdesk.delivery.capture import MailCapture
from frontdesk.delivery.channel import ChannelPlugin
from frontdesk.delivery.email import EmailChannel
from frontdesk.delivery.reach import Reach
from frontdesk.engagement.ledger_models import FAILED, PENDING, SENT
from frontdesk.settings import Settings, SmtpSettings

from .conftest import ON, Practice, Sink, Wired, requests, wire

H = dict[str, str]


async def audit_actions(ctx: AppContext) -> list[str]:
    async with ctx.db.reader() as session:
        return list((await session.execute(select(AuditEvent.action))).scalars())


async def test_list_filter_mask_reveal_and_tenants(
    ctx: AppContext,
    practice: Practice,
    wired: Wired,
    client: httpx.AsyncClient,
    staff_headers: H,
    api_key: Any,
) -> None:
    await wired.run_day(practice, ON)
    ledger = await requests(ctx)
    r = await client.get("/api/outbox", params={"limit": 1000}, headers=staff_headers)
    assert r.status_code == 200, r.text
    rows = r.json()["items"]
    assert len(rows) == len(ledger)
    assert r.json()["nextCursor"] is None
    assert {row["state"] for row in rows} == {SENT}
    assert all("***@" in row["recipient"] and not row["revealed"] for row in rows)
    assert rows[0]["messageId"].startswith("<")
    assert rows[0]["attempts"] == 1
    loudoun = LOCATIONS["Loudoun Office"]
    r = await client.get(
        "/api/outbox", params={"businessNumber": loudoun, "state": "sent"}, headers=staff_headers
    )
    assert r.status_code == 200
    assert r.json()["items"]
    assert {row["businessNumber"] for row in r.json()["items"]} == {loudoun}
    r = await client.get("/api/outbox", params={"state": "bogus"}, headers=staff_headers)
    assert r.status_code == 422  # InvalidInput
    # Staff reveal is audited; a business key may not reveal.
    r = await client.get("/api/outbox", params={"reveal": "true"}, headers=staff_headers)
    assert r.status_code == 200
    assert "***" not in r.json()["items"][0]["recipient"]
    assert "review_requests.reveal" in await audit_actions(ctx)
    enterprise = await api_key(name="practice", business=ENTERPRISE)
    r = await client.get("/api/outbox", headers=enterprise)
    assert r.status_code == 200
    assert len(r.json()["items"]) == len(ledger)
    r = await client.get("/api/outbox", params={"reveal": "true"}, headers=enterprise)
    assert r.status_code == 403
    # Another tenant sees nothing and gets 404 for ours.
    r = await client.post(
        "/api/businesses",
        json={"businessNumber": OTHER_TENANT, "name": "Elsewhere"},
        headers=staff_headers,
    )
    assert r.status_code == 201
    other = await api_key(name="other", business=OTHER_TENANT)
    r = await client.get("/api/outbox", headers=other)
    assert r.status_code == 200
    assert r.json() == {"items": [], "nextCursor": None}
    r = await client.get("/api/outbox", params={"businessNumber": ENTERPRISE}, headers=other)
    assert r.status_code == 404
    r = await client.get(f"/api/outbox/{ledger[0].id}", headers=other)
    assert r.status_code == 404
    r = await client.post(f"/api/outbox/{ledger[0].id}/requeue", headers=other)
    assert r.status_code == 404


async def test_list_pages_with_cursor_and_the_deprecated_before_id(
    ctx: AppContext, practice: Practice, wired: Wired, client: httpx.AsyncClient, staff_headers: H
) -> None:
    await wired.run_day(practice, ON)
    ledger = await requests(ctx)
    size = 7
    assert len(ledger) > 2 * size  # more than two pages
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": size} | ({"cursor": cursor} if cursor else {})
        body = (await client.get("/api/outbox", params=params, headers=staff_headers)).json()
        assert len(body["items"]) <= size
        seen += [row["id"] for row in body["items"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == sorted((r.id for r in ledger), reverse=True)
    r = await client.get(
        "/api/outbox", params={"limit": size, "beforeId": seen[size - 1]}, headers=staff_headers
    )
    assert [row["id"] for row in r.json()["items"]] == seen[size : 2 * size]


async def test_requeue_a_failed_request_sends_it(
    ctx: AppContext,
    practice: Practice,
    wired: Wired,
    sink: tuple[Sink, int],
    client: httpx.AsyncClient,
    staff_headers: H,
) -> None:
    handler, _ = sink
    handler.rcpt_reply = lambda _rcpt, n: "550 5.1.1 no such user" if n == 1 else None
    await wired.run_day(practice, ON)
    ledger = await requests(ctx)
    assert {row.state for row in ledger} == {FAILED}
    r = await client.post(f"/api/outbox/{ledger[0].id}/requeue", headers=staff_headers)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == PENDING
    assert r.json()["attempts"] == 0
    assert "review_request.requeue" in await audit_actions(ctx)
    await wired.drain()
    r = await client.get(f"/api/outbox/{ledger[0].id}", headers=staff_headers)
    assert r.json()["state"] == SENT
    assert r.json()["attempts"] == 1
    assert len(handler.message_ids()) == 1
    r = await client.post(f"/api/outbox/{ledger[0].id}/requeue", headers=staff_headers)
    assert r.status_code == 409


async def test_the_demo_capture_shows_the_message(
    ctx: AppContext,
    settings: Settings,
    practice: Practice,
    client: httpx.AsyncClient,
    staff_headers: H,
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
    (first, *_) = await requests(ctx)
    r = await client.get(f"/api/outbox/{first.id}", headers=staff_headers)
    assert r.status_code == 200, r.text
    captured = r.json()["captured"]
    assert captured["messageId"] == first.message_id
    assert "review" in captured["subject"].lower() or captured["subject"]
    assert "/unsubscribe/" in captured["text"]


@pytest.fixture
def cli_env(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.secret_keys is not None
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", settings.database_url or "")
    monkeypatch.setenv("FRONTDESK_SECRET_KEYS", settings.secret_keys.get_secret_value())


async def invoke(*args: str) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


@pytest.mark.usefixtures("cli_env")
async def test_cli_lists_shows_and_requeues(
    ctx: AppContext,
    practice: Practice,
    wired: Wired,
    sink: tuple[Sink, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, _ = sink
    handler.rcpt_reply = lambda _rcpt, _n: "554 5.7.1 rejected"
    await wired.run_day(practice, ON)
    ledger = await requests(ctx)
    result = await invoke("outbox", "--business", str(ENTERPRISE), "--state", "failed", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == len(ledger)
    assert rows[0]["last_error_code"] == "recipient_refused"
    monkeypatch.setattr(listing, "JSON_BATCH", 3)  # --json streams keyset pages: same array
    paged = await invoke("outbox", "--business", str(ENTERPRISE), "--state", "failed", "--json")
    assert json.loads(paged.output) == rows
    result = await invoke("outbox", "--state", "failed")
    assert result.exit_code == 0
    assert "failed" in result.output
    assert f"{len(ledger)} review requests" in result.output
    result = await invoke("outbox", "--state", "failed", "--limit", "2")
    assert f"showing 2 of {len(ledger)} review requests" in result.output
    assert f"--limit {len(ledger)}" in result.output
    result = await invoke("outbox", "show", str(ledger[0].id))
    assert result.exit_code == 0
    assert json.loads(result.output)["state"] == FAILED
    result = await invoke("outbox", "requeue", str(ledger[0].id))
    assert result.exit_code == 0
    assert "pending" in result.output
    result = await invoke("outbox", "requeue", str(ledger[0].id))
    assert result.exit_code == 1
