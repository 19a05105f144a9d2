"""The sandbox's not-activated client over loopback HTTP: a run without an activation record
fails as ``activation_pending`` (no incident, the group stays active); with a request raised
the group is held (runs end with the reason, no vendor call, no mail per run); the admin call
activates the client; the next check marks the request active (actor ``system:check``,
mailed); the run succeeds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.connectors.base import CheckStatus
from frontdesk.context import AppContext
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.sandbox.unity import SandboxConfig, default_config

from .conftest import (
    DAY,
    Loopback,
    Mailbox,
    Practice,
    credential_incidents,
    request_body,
    run_all_to_end,
    sandbox_admin,
)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    config = default_config()
    credential = config.credentials[0].model_copy(update={"activated": False})
    return config.model_copy(update={"credentials": (credential,)})


async def group_status(ctx: AppContext, group_id: int) -> str:
    async with ctx.db.reader() as session:
        group = await session.get(IntegrationGroup, group_id)
        assert group is not None
        return group.status


async def test_held_until_the_vendor_activates_and_a_check_passes(
    ctx: AppContext, practice: Practice, unity: Loopback, mailbox: tuple[Mailbox, int]
) -> None:
    client, headers = practice.client, practice.headers
    reauthorize = f"/integration/businessintegrationgroup/id/{practice.group_id}/reauthorize"

    # No activation record: the group runs as before and meets the vendor's reply, a
    # configuration error of its own (not a credentials incident).
    (run,) = await run_all_to_end(ctx, await practice.run_now(DAY + timedelta(days=1)))
    assert (run.status, run.error_code) == ("failed", "activation_pending")
    assert "not activated for this client" in (run.error_message or "")
    assert await group_status(ctx, practice.group_id) == "active"
    assert await credential_incidents(ctx, practice.group_id) == []
    assert mailbox[0].parsed() == []
    r = await client.post(reauthorize, json={"backfill": False}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["check"]["status"] == CheckStatus.ACTIVATION_PENDING.value
    assert r.json()["check"]["reason"] == "activation_pending"

    # Support raises the request: from now on the group is held without calling Unity.
    r = await client.post("/api/activations", json=request_body(), headers=headers)
    assert r.status_code == 201, r.text
    activation_id = r.json()["id"]
    service_user = unity.sandbox.config.default_credential.service_user

    def unity_calls() -> int:
        return len(unity.sandbox.server_log.latest(service_user, limit=10_000))

    calls_before = unity_calls()
    runs = [
        (await run_all_to_end(ctx, await practice.run_now(DAY + timedelta(days=d))))[0]
        for d in (1, 2)
    ]
    for held in runs:
        assert (held.status, held.error_code) == ("cancelled", "activation_pending")
        assert f"client activation #{activation_id}" in (held.error_message or "")
        assert "requested, not active" in (held.error_message or "")
    assert unity_calls() == calls_before
    assert len(mailbox[0].parsed()) == 1  # the raise only: no mail per held run

    # A check while the vendor still refuses changes nothing.
    r = await client.post(reauthorize, json={"backfill": False}, headers=headers)
    assert r.json()["check"]["status"] == "activation_pending"
    shown = (await client.get(f"/api/activations/{activation_id}", headers=headers)).json()
    assert shown["status"] == "requested"

    # The vendor activates the client; the next check marks the request active by itself.
    await sandbox_admin(unity, "/clients/activate")
    r = await client.post(reauthorize, json={"backfill": False}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["check"]["ok"] is True
    shown = (await client.get(f"/api/activations/{activation_id}", headers=headers)).json()
    assert shown["status"] == "active"
    last = shown["history"][-1]
    assert (last["fromStatus"], last["toStatus"], last["actor"]) == (
        "requested",
        "active",
        "system:check",
    )
    assert last["notification"] == "sent"
    mails = mailbox[0].parsed()
    assert len(mails) == 2
    assert str(mails[-1]["Subject"]).endswith("requested → active")

    (run,) = await run_all_to_end(ctx, await practice.run_now(DAY + timedelta(days=1)))
    assert run.status == "succeeded", (run.error_code, run.error_message)
    assert (run.counts or {}).get("fetched", 0) > 0
    assert await credential_incidents(ctx, practice.group_id) == []
