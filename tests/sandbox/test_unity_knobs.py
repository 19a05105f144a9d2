"""Fault and timing knobs, in-process (``sandbox.update_knobs``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from frontdesk.sandbox.unity import (
    Knobs,
    Latency,
    ManualClock,
    Sandbox,
    create_unity_app,
    multi_group_config,
)
from frontdesk.sandbox.unity.faults import FaultDice

if TYPE_CHECKING:
    from conftest import UnityWire, WireOpener


async def test_fixed_latency_delays_without_blocking_the_loop(
    session: UnityWire, sandbox: Sandbox
) -> None:
    sandbox.update_knobs(latency=Latency(ms=300))
    started = time.perf_counter()
    replies = await asyncio.gather(*(session.magic("GetServerInfo") for _ in range(5)))
    elapsed = time.perf_counter() - started
    assert all(reply.status_code == 200 for reply in replies)
    assert 0.3 <= elapsed < 1.2  # five sleeps overlapped: the loop was never blocked


@pytest.mark.parametrize(
    ("latency", "low", "high"),
    [
        (Latency(distribution="fixed", ms=40), 0.040, 0.040),
        (Latency(distribution="uniform", ms=100, spread_ms=50), 0.050, 0.150),
        (Latency(distribution="normal", ms=100, spread_ms=30, max_ms=180), 0.0, 0.180),
        (Latency(distribution="exponential", ms=100, max_ms=400), 0.0, 0.400),
    ],
    ids=["fixed", "uniform", "normal-capped", "exponential-capped"],
)
def test_latency_distributions_stay_in_bounds(latency: Latency, low: float, high: float) -> None:
    dice = FaultDice(seed=3)
    draws = [dice.plan(Knobs(latency=latency)).delay_seconds for _ in range(500)]
    assert min(draws) >= low
    assert max(draws) <= high
    if latency.distribution != "fixed":
        assert len(set(draws)) > 100


async def test_error_rate_one_answers_the_5xx_page(session: UnityWire, sandbox: Sandbox) -> None:
    sandbox.update_knobs(error_rate=1.0, error_statuses=(503,))
    response = await session.magic("GetServerInfo")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "503" in response.text


async def test_error_rate_is_a_share_of_requests(session: UnityWire, sandbox: Sandbox) -> None:
    sandbox.update_knobs(error_rate=0.3, error_statuses=(500, 502), fault_seed=11)
    statuses = [(await session.magic("Echo")).status_code for _ in range(300)]
    failures = [s for s in statuses if s != 200]
    assert 50 < len(failures) < 130
    assert set(failures) == {500, 502}


async def test_timeout_hangs_then_answers_504(session: UnityWire, sandbox: Sandbox) -> None:
    sandbox.update_knobs(timeout_rate=1.0, timeout_seconds=0.2)
    started = time.perf_counter()
    response = await session.magic("GetServerInfo")
    assert response.status_code == 504
    assert time.perf_counter() - started >= 0.2


async def test_a_hanging_request_trips_the_client_timeout(
    session: UnityWire, sandbox: Sandbox
) -> None:
    sandbox.update_knobs(timeout_rate=1.0, timeout_seconds=60)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(session.magic("GetServerInfo"), timeout=0.2)


@pytest.mark.parametrize(
    ("kind", "content_type", "check"),
    [
        ("truncated", "application/json", lambda body: body.startswith(b'[{"getserverinfoinfo"')),
        ("html", "text/html", lambda body: body.startswith(b"<html>")),
        ("empty", "application/json", lambda body: body == b""),
        ("xml", "application/json", lambda body: body.startswith(b"<?xml")),
    ],
    ids=["truncated", "html", "empty", "xml"],
)
async def test_malformed_bodies(
    session: UnityWire,
    sandbox: Sandbox,
    kind: str,
    content_type: str,
    check: Callable[[bytes], bool],
) -> None:
    sandbox.update_knobs(malformed_rate=1.0, malformed_kind=kind)
    response = await session.magic("GetServerInfo")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)
    assert check(response.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


async def test_malformed_get_token_is_not_a_guid(unity: UnityWire, sandbox: Sandbox) -> None:
    sandbox.update_knobs(malformed_rate=1.0, malformed_kind="truncated")
    response = await unity.get_token()
    assert response.status_code == 200
    assert len(response.text) == 18


async def test_token_expiry_rate_logs_the_token_out(session: UnityWire, sandbox: Sandbox) -> None:
    sandbox.update_knobs(token_expiry_rate=1.0)
    assert "logged out due to inactivity" in await session.error("GetServerInfo")
    sandbox.reset_knobs()
    assert "logged out due to inactivity" in await session.error("GetServerInfo")


async def test_rate_limit_answers_429_and_refills_on_the_clock(
    session: UnityWire, sandbox: Sandbox, clock: ManualClock
) -> None:
    sandbox.update_knobs(rate_limit_per_second=2, rate_limit_burst=2)
    assert [(await session.magic("Echo")).status_code for _ in range(2)] == [200, 200]
    limited = await session.magic("Echo")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    clock.advance(0.5)
    assert (await session.magic("Echo")).status_code == 200
    assert (await session.magic("Echo")).status_code == 429


async def test_rate_limit_is_per_credential(clock: ManualClock, open_wire: WireOpener) -> None:
    config = multi_group_config(groups=2, locations=2, appointments_per_location=5)
    app = create_unity_app(config, clock=clock)
    app.state.sandbox.update_knobs(rate_limit_per_second=1, rate_limit_burst=1)
    first, second = config.credentials
    async with open_wire(app) as one, open_wire(app) as two:
        assert (await one.get_token(first.service_user, first.service_password)).status_code == 200
        assert (await one.magic("Echo")).status_code == 429
        assert (
            await two.get_token(second.service_user, second.service_password)
        ).status_code == 200


async def test_knobs_can_target_endpoints(unity: UnityWire, sandbox: Sandbox) -> None:
    sandbox.update_knobs(error_rate=1.0, endpoints=("MagicJson",))
    assert (await unity.get_token()).status_code == 200
    assert (await unity.magic("Echo")).status_code == 500


async def test_knobs_can_target_actions(session: UnityWire, sandbox: Sandbox) -> None:
    sandbox.update_knobs(error_rate=1.0, actions=("GetSchedule",))
    assert (await session.magic("GetServerInfo")).status_code == 200
    assert (await session.magic("getschedule", Parameter4="All")).status_code == 500


async def test_injected_faults_appear_in_last_logs(session: UnityWire, sandbox: Sandbox) -> None:
    sandbox.update_knobs(error_rate=1.0)
    await session.magic("GetServerInfo")
    sandbox.reset_knobs()
    rows = await session.rows("LastLogs", Parameter1="Y")
    assert rows[0]["Message"].startswith("HTTP 500")


def test_invalid_knobs_are_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="error_rate"):
        sandbox.update_knobs(error_rate=1.5)
    with pytest.raises(ValueError, match="5xx"):
        sandbox.update_knobs(error_statuses=(404,))
    with pytest.raises(ValueError, match="endpoints"):
        sandbox.update_knobs(endpoints=("GetPatient",))
    assert sandbox.knobs == Knobs()
