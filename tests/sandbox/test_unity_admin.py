"""The admin endpoint: knobs, passwords, tokens, clock and expected data over HTTP."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx
import pytest

from frontdesk.sandbox.unity import DEFAULT_SERVICE_USER, Knobs, Sandbox

if TYPE_CHECKING:
    from conftest import UnityWire

ADMIN = "/sandbox/admin"


async def test_get_knobs_shows_the_defaults(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{ADMIN}/knobs")
    assert response.status_code == 200
    assert response.json() == Knobs().model_dump(mode="json")
    assert response.json()["idle_timeout_seconds"] == 1200


async def test_patch_changes_some_knobs_and_put_replaces_all(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    patched = await client.patch(f"{ADMIN}/knobs", json={"error_rate": 0.25, "latency": {"ms": 15}})
    assert patched.status_code == 200
    assert (sandbox.knobs.error_rate, sandbox.knobs.latency.ms) == (0.25, 15)
    await client.patch(f"{ADMIN}/knobs", json={"timeout_rate": 0.1})
    assert sandbox.knobs.error_rate == 0.25
    replaced = await client.put(f"{ADMIN}/knobs", json={"malformed_rate": 0.5})
    assert replaced.json()["error_rate"] == 0.0
    assert sandbox.knobs == Knobs(malformed_rate=0.5)
    reset = await client.post(f"{ADMIN}/knobs/reset")
    assert reset.json() == Knobs().model_dump(mode="json")


@pytest.mark.parametrize(
    "body",
    [{"error_rate": 2}, {"no_such_knob": 1}, {"latency": {"distribution": "zipf"}}, [1]],
    ids=["out-of-range", "unknown-knob", "unknown-distribution", "not-an-object"],
)
async def test_invalid_knobs_are_422_and_change_nothing(
    client: httpx.AsyncClient, sandbox: Sandbox, body: object
) -> None:
    response = await client.patch(f"{ADMIN}/knobs", json=body)
    assert response.status_code == 422
    assert sandbox.knobs == Knobs()


async def test_knobs_set_over_http_reach_the_wire(
    client: httpx.AsyncClient, session: UnityWire
) -> None:
    await client.patch(f"{ADMIN}/knobs", json={"error_rate": 1, "error_statuses": [502]})
    assert (await session.magic("Echo")).status_code == 502


async def test_expire_password_over_http(client: httpx.AsyncClient, unity: UnityWire) -> None:
    response = await client.post(f"{ADMIN}/users/frontdesk/expire-password")
    assert response.json() == {"user": "frontdesk", "accounts": 1}
    await unity.get_token()
    (row,) = await unity.rows("GetUserAuthentication", Parameter1="PmSandbox#90")
    assert row["ValidUser"] == "NO"
    assert "expired" in row["ErrorMessage"]
    renewed = await client.post(f"{ADMIN}/users/frontdesk/renew-password", json={})
    assert renewed.status_code == 200
    (row,) = await unity.rows("GetUserAuthentication", Parameter1="PmSandbox#90")
    assert row["ValidUser"] == "YES"


async def test_expire_password_is_per_credential(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    elsewhere = await client.post(
        f"{ADMIN}/users/frontdesk/expire-password", params={"service_user": "other"}
    )
    assert elsewhere.status_code == 404
    here = await client.post(
        f"{ADMIN}/users/frontdesk/expire-password",
        params={"service_user": DEFAULT_SERVICE_USER},
    )
    assert here.status_code == 200
    account = sandbox.accounts.account(DEFAULT_SERVICE_USER, "frontdesk")
    assert account is not None
    assert account.password_expired


async def test_unknown_user_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{ADMIN}/users/{quote('no body')}/expire-password")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "which",
    [{}, {"service_user": DEFAULT_SERVICE_USER}, "own-token"],
    ids=["all", "by-credential", "one-token"],
)
async def test_forced_token_expiry(
    client: httpx.AsyncClient, session: UnityWire, which: object
) -> None:
    body = {"token": session.token} if which == "own-token" else which
    response = await client.post(f"{ADMIN}/tokens/expire", json=body)
    assert response.json() == {"expired": 1}
    assert "logged out due to inactivity" in await session.error("GetServerInfo")


async def test_expiring_another_credentials_tokens_spares_ours(
    client: httpx.AsyncClient, session: UnityWire
) -> None:
    response = await client.post(f"{ADMIN}/tokens/expire", json={"service_user": "other"})
    assert response.json() == {"expired": 0}
    await session.rows("GetServerInfo")


async def test_live_token_count(client: httpx.AsyncClient, unity: UnityWire) -> None:
    await unity.get_token()
    await unity.get_token()
    response = await client.get(f"{ADMIN}/tokens")
    assert response.json() == {"live": 2, "by_service_user": {DEFAULT_SERVICE_USER: 2}}


async def test_clock_advance_expires_idle_tokens(
    client: httpx.AsyncClient, session: UnityWire
) -> None:
    response = await client.post(f"{ADMIN}/clock/advance", json={"seconds": 1201})
    assert response.json()["now"].startswith("2025-03-03T14:20:01")
    assert "logged out" in await session.error("GetServerInfo")


async def test_clock_cannot_go_backwards(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{ADMIN}/clock/advance", json={"seconds": -5})
    assert response.status_code == 422


async def test_credentials_listing_hides_passwords(client: httpx.AsyncClient) -> None:
    (listing,) = (await client.get(f"{ADMIN}/credentials")).json()
    assert listing["service_user"] == DEFAULT_SERVICE_USER
    assert listing["pm_users"] == ["frontdesk"]
    assert len(listing["locations"]) == 6
    assert "PmSandbox#90" not in str(listing)


async def test_expected_appointments_match_the_wire(
    client: httpx.AsyncClient, session: UnityWire
) -> None:
    expected = (await client.get(f"{ADMIN}/appointments", params={"date": "2025-03-03"})).json()
    rows = await session.rows("GetSchedule", Parameter1="03/03/2025", Parameter4="All")
    assert expected["count"] == len(rows) == 150
    assert [str(i) for i in expected["appointment_ids"]] == [r["AppointmentID"] for r in rows]


@pytest.mark.parametrize(
    "params",
    [{"date": "03/03/2025"}, {}, {"date": "2025-03-03", "service_user": "nobody"}],
    ids=["not-iso", "missing", "unknown-credential"],
)
async def test_expected_appointments_bad_query_is_422(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client.get(f"{ADMIN}/appointments", params=params)
    assert response.status_code == 422


async def test_clients_start_activated_and_the_admin_call_toggles_it(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    listed = await client.get(f"{ADMIN}/clients")
    assert listed.json() == [{"service_user": DEFAULT_SERVICE_USER, "activated": True}]
    off = await client.post(f"{ADMIN}/clients/deactivate")
    assert off.json() == {"activated": False, "changed": [DEFAULT_SERVICE_USER]}
    assert not sandbox.is_activated(DEFAULT_SERVICE_USER)
    on = await client.post(f"{ADMIN}/clients/activate?service_user={quote(DEFAULT_SERVICE_USER)}")
    assert on.json() == {"activated": True, "changed": [DEFAULT_SERVICE_USER]}
    assert sandbox.is_activated(DEFAULT_SERVICE_USER)
    unknown = await client.post(f"{ADMIN}/clients/activate?service_user=nobody")
    assert unknown.status_code == 404
