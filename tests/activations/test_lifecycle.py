"""The activation lifecycle through the API and the CLI, with its mails captured by a real
SMTP sink: raise → approve → (refused change) → active → revoked, history, audit, tenants."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from frontdesk.audit.models import AuditEvent
from frontdesk.cli.main import app
from frontdesk.context import AppContext
from frontdesk.settings import Settings

from .conftest import ENTERPRISE, NOTIFY, OTHER_TENANT, Loopback, Mailbox, Practice, request_body

SERVICE_USER = request_body()["serviceUser"]


async def test_lifecycle_through_the_api(
    ctx: AppContext, practice: Practice, mailbox: tuple[Mailbox, int], api_key: Any
) -> None:
    client, headers = practice.client, practice.headers
    r = await client.post("/api/activations", json=request_body(), headers=headers)
    assert r.status_code == 201, r.text
    created = r.json()
    activation_id = created["id"]
    assert created["status"] == "requested"
    assert created["source"] == "ALLSCRIPTS"
    assert created["integrationSourceId"] == 32
    assert created["serviceUser"] == "•••" + SERVICE_USER[-4:]
    assert SERVICE_USER not in r.text
    assert created["history"][0]["notification"] == "sent"

    # One request per business and source.
    again = await client.post("/api/activations", json=request_body(), headers=headers)
    assert again.status_code == 409, again.text

    r = await client.post(
        f"/api/activations/{activation_id}/status",
        json={"status": "approved", "note": "vendor ticket 4711"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"

    refused = await client.post(
        f"/api/activations/{activation_id}/status", json={"status": "draft"}, headers=headers
    )
    assert refused.status_code == 422
    assert "cannot go from approved to draft" in refused.text
    assert "active, declined" in refused.text
    unknown = await client.post(
        f"/api/activations/{activation_id}/status", json={"status": "done"}, headers=headers
    )
    assert unknown.status_code == 422
    assert "status must be one of" in unknown.text

    for status in ("active", "revoked"):
        r = await client.post(
            f"/api/activations/{activation_id}/status", json={"status": status}, headers=headers
        )
        assert r.status_code == 200, r.text

    shown = (await client.get(f"/api/activations/{activation_id}", headers=headers)).json()
    assert [(e["fromStatus"], e["toStatus"]) for e in shown["history"]] == [
        (None, "requested"),
        ("requested", "approved"),
        ("approved", "active"),
        ("active", "revoked"),
    ]
    assert shown["history"][1]["note"] == "vendor ticket 4711"
    assert {e["actor"] for e in shown["history"]} == {"api_key:staff"}
    listed = (await client.get("/api/activations?status=revoked", headers=headers)).json()
    assert [a["id"] for a in listed] == [activation_id]
    assert (await client.get("/api/activations?status=active", headers=headers)).json() == []

    # One mail per change, to the support group, naming the change; never the service user.
    mails = mailbox[0].parsed()
    assert len(mails) == 4
    assert {m["To"] for m in mails} == {NOTIFY}
    assert [str(m["Subject"]).rsplit(": ", 1)[1] for m in mails] == [
        "raised as requested",
        "requested → approved",
        "approved → active",
        "active → revoked",
    ]
    assert "Loudoun Valley Medical Group" in mails[0].get_content()
    assert all(SERVICE_USER not in m.as_string() for m in mails)

    async with ctx.db.reader() as session:
        actions = (
            await session.execute(
                select(AuditEvent.action).where(AuditEvent.target_type == "activation")
            )
        ).scalars()
        assert sorted(actions) == ["activation.request"] + ["activation.status"] * 3

    # Another tenant sees nothing of it and may not record the vendor's answers.
    other = await client.post(
        "/api/businesses",
        json={"businessNumber": OTHER_TENANT, "name": "Elsewhere"},
        headers=headers,
    )
    assert other.status_code == 201
    tenant = await api_key(name="tenant", business=OTHER_TENANT)
    assert (await client.get("/api/activations", headers=tenant)).json() == []
    assert (
        await client.get(f"/api/activations/{activation_id}", headers=tenant)
    ).status_code == 404
    theirs = await client.post(
        "/api/activations", json=request_body(businessNumber=OTHER_TENANT), headers=tenant
    )
    assert theirs.status_code == 201, theirs.text
    approve = await client.post(
        f"/api/activations/{theirs.json()['id']}/status",
        json={"status": "approved"},
        headers=tenant,
    )
    assert approve.status_code == 403
    assert (await client.get("/api/activations")).status_code == 401


@pytest.fixture
def cli_env(
    settings: Settings, unity: Loopback, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.secret_keys is not None
    for name, value in {
        "FRONTDESK_DATA_DIR": str(tmp_path / "cli"),
        "FRONTDESK_DATABASE_URL": settings.database_url or "",
        "FRONTDESK_SECRET_KEYS": settings.secret_keys.get_secret_value(),
        "FRONTDESK_SMTP__HOST": settings.smtp.host,
        "FRONTDESK_SMTP__PORT": str(settings.smtp.port),
        "FRONTDESK_ACTIVATIONS__NOTIFY": NOTIFY,
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)


async def invoke(*args: str) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


@pytest.mark.usefixtures("cli_env")
async def test_lifecycle_through_the_cli(practice: Practice, mailbox: tuple[Mailbox, int]) -> None:
    done = await invoke(
        "activation", "request", "--business", str(ENTERPRISE), "--source", "allscripts",
        "--practice", "Loudoun Valley", "--contact", "Dana", "--client-id", "FDG0001",
        "--service-user", SERVICE_USER, "--draft",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "draft" in done.output
    assert SERVICE_USER not in done.output
    listed = await invoke("activation", "list", "--json")
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    assert row["status"] == "draft"
    assert row["clientId"] == "FDG0001"

    refused = await invoke("activation", "set-status", str(row["id"]), "active")
    assert refused.exit_code == 1
    assert "cannot go from draft to active" in refused.output
    for status in ("requested", "approved"):
        moved = await invoke("activation", "set-status", str(row["id"]), status, "--note", "ok")
        assert moved.exit_code == 0, moved.output
    shown = await invoke("activation", "show", str(row["id"]))
    assert shown.exit_code == 0, shown.output
    assert "requested → approved" in shown.output
    assert "system:cli" in shown.output
    assert (
        json.loads((await invoke("activation", "list", "--json", "--status", "draft")).output) == []
    )
    missing = await invoke("activation", "show", "999")
    assert missing.exit_code == 1
    assert "not found" in missing.output

    subjects = [str(m["Subject"]) for m in mailbox[0].parsed()]
    assert len(subjects) == 3
    assert subjects[-1].endswith("requested → approved")
