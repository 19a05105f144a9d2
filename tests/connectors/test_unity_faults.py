"""Fault injection through the sandbox knobs: each failure gets its classification, and a
read that succeeds has lost and duplicated no appointment (compared with what the sandbox
serves for the day)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from frontdesk.connectors.allscripts.connector import UnityConnector
from frontdesk.connectors.base import Appointment, CheckStatus, CursorNotReady, Window
from frontdesk.connectors.errors import (
    ActivationPending,
    CredentialsRejected,
    EndpointNotFound,
    MissingLicense,
    ProtocolViolation,
    RemoteServerError,
    RemoteTimeout,
    Unreachable,
)
from frontdesk.errors import ConfigurationError, FatalError, TransientError, Unauthorized
from frontdesk.retry import RetryPolicy
from frontdesk.sandbox.unity import (
    DEFAULT_PM_USER,
    ClientCredential,
    PracticeShape,
    Sandbox,
    SandboxConfig,
    default_config,
)
from frontdesk.settings import Settings

MONDAY = date(2025, 3, 3)
Factory = Callable[..., UnityConnector]


async def read_day(connector: UnityConnector, day: date = MONDAY) -> list[Appointment]:
    stream = connector.read(Window.day(day))
    items = [item async for item in stream]
    assert stream.cursor is not None
    return items


def assert_exact(items: list[Appointment], sandbox: Sandbox, day: date = MONDAY) -> None:
    """No appointment lost, none duplicated, every one with its patient."""
    ids = [a.source_appointment_id for a in items]
    assert len(ids) == len(set(ids)), "duplicated appointments"
    expected = {str(a.appointment_id) for a in sandbox.practice.appointments_on(day)}
    assert set(ids) == expected, "lost or extra appointments"
    assert all(a.patient is not None for a in items)


async def expect_failure(connector: UnityConnector, error_type: type[Exception]) -> Any:
    stream = connector.read(Window.day(MONDAY))
    with pytest.raises(error_type) as caught:
        async for _ in stream:
            pass
    with pytest.raises(CursorNotReady):
        _ = stream.cursor
    return caught.value


# -- transient faults: retried, nothing lost --------------------------------------------


async def test_scattered_5xx_are_retried(connector: UnityConnector, sandbox: Sandbox) -> None:
    sandbox.update_knobs(error_rate=0.1, error_statuses=[500, 502, 503], fault_seed=11)
    assert_exact(await read_day(connector), sandbox)
    assert connector.client.stats.retries > 0


async def test_a_5xx_burst_mid_read_is_ridden_out(
    request_hook: Any, make_connector: Factory
) -> None:
    sandbox: Sandbox = request_hook.app.state.sandbox
    request_hook.before(20, lambda: sandbox.update_knobs(error_rate=1.0))
    request_hook.before(28, sandbox.reset_knobs)
    connector = make_connector(transport=httpx.ASGITransport(app=request_hook))
    assert_exact(await read_day(connector), sandbox)
    assert connector.client.stats.retries >= 8


async def test_persistent_5xx_is_transient_and_carries_the_server_log(
    connector: UnityConnector, sandbox: Sandbox
) -> None:
    sandbox.update_knobs(error_rate=1.0, actions=["GetSchedule"], endpoints=["MagicJson"])
    error = await expect_failure(connector, RemoteServerError)
    assert isinstance(error, TransientError)
    assert error.status_code == 500
    assert error.server_log is not None
    assert "HTTP 500" in error.server_log.message
    assert f"server log {error.server_log.log_id}" in str(error)
    assert connector.client.stats.actions["GetSchedule"] == 4  # max_attempts, no more


async def test_a_sick_server_exhausts_the_retry_budget(
    make_connector: Factory, sandbox: Sandbox
) -> None:
    connector = make_connector(
        retry=RetryPolicy(max_attempts=10, base_s=0.1, budget_tokens=6, budget_refill=0.1)
    )
    await connector.check()
    sandbox.update_knobs(error_rate=1.0)
    await expect_failure(connector, RemoteServerError)
    assert connector.client.stats.retries <= 3  # the budget, not max_attempts, stopped it


async def test_timeouts_are_retried(
    make_connector: Factory, make_settings: Callable[..., Settings], sandbox: Sandbox
) -> None:
    sandbox.update_knobs(timeout_rate=0.1, timeout_seconds=30, fault_seed=5)
    connector = make_connector(settings=make_settings(timeout_s=0.1))
    assert_exact(await read_day(connector), sandbox)
    assert connector.client.stats.retries > 0


async def test_a_hanging_server_is_a_remote_timeout(
    make_connector: Factory, make_settings: Callable[..., Settings], sandbox: Sandbox
) -> None:
    sandbox.update_knobs(
        timeout_rate=1.0, timeout_seconds=30, actions=["GetSchedule"], endpoints=["MagicJson"]
    )
    connector = make_connector(settings=make_settings(timeout_s=0.05))
    await expect_failure(connector, RemoteTimeout)


async def test_token_expiry_mid_read_logs_in_again_once(
    request_hook: Any, make_connector: Factory
) -> None:
    sandbox: Sandbox = request_hook.app.state.sandbox
    request_hook.before(60, sandbox.expire_tokens)
    connector = make_connector(transport=httpx.ASGITransport(app=request_hook))
    assert_exact(await read_day(connector), sandbox)
    stats = connector.client.stats
    assert stats.logins == 2
    assert stats.actions["GetToken"] == 2
    assert stats.actions["GetUserAuthentication"] == 2
    assert stats.retries == 0


async def test_random_token_expiry_loses_nothing(
    connector: UnityConnector, sandbox: Sandbox
) -> None:
    sandbox.update_knobs(token_expiry_rate=0.05, fault_seed=2)
    assert_exact(await read_day(connector), sandbox)
    assert connector.client.stats.session_expiries > 0


async def test_idle_expiry_between_calls(
    connector: UnityConnector, sandbox: Sandbox, clock: Any
) -> None:
    await connector.check()
    clock.advance(21 * 60)  # the sandbox forgets the idle token
    assert_exact(await read_day(connector), sandbox)
    assert connector.client.stats.logins == 2


async def test_rate_limit_is_respected(connector: UnityConnector, sandbox: Sandbox) -> None:
    sandbox.update_knobs(rate_limit_per_second=50, rate_limit_burst=10)
    assert_exact(await read_day(connector), sandbox)
    assert connector.client.stats.retries > 0


# -- fatal and configuration faults: classified, not retried ----------------------------


@pytest.mark.parametrize("kind", ["truncated", "html", "empty", "xml"])
async def test_malformed_schedule_is_a_protocol_violation(
    connector: UnityConnector, sandbox: Sandbox, kind: str
) -> None:
    sandbox.update_knobs(
        malformed_rate=1.0, malformed_kind=kind, actions=["GetSchedule"], endpoints=["MagicJson"]
    )
    error = await expect_failure(connector, ProtocolViolation)
    assert isinstance(error, FatalError)
    assert "GetSchedule" in str(error)
    assert connector.client.stats.actions["GetSchedule"] == 1
    assert connector.client.stats.retries == 0


@pytest.mark.parametrize("kind", ["html", "xml"])
async def test_malformed_token_reply_is_a_protocol_violation(
    connector: UnityConnector, sandbox: Sandbox, kind: str
) -> None:
    sandbox.update_knobs(malformed_rate=1.0, malformed_kind=kind, endpoints=["GetToken"])
    await expect_failure(connector, ProtocolViolation)
    result = await connector.check()
    assert result.status is CheckStatus.UNREACHABLE


async def test_wrong_service_password(
    make_connector: Factory, make_settings: Callable[..., Settings]
) -> None:
    connector = make_connector(settings=make_settings(service_password="wrong-password"))
    error = await expect_failure(connector, CredentialsRejected)
    assert isinstance(error, Unauthorized)
    assert error.reason == "wrong_service_credentials"
    result = await connector.check()
    assert result.status is CheckStatus.UNAUTHORIZED
    assert result.reason == "wrong_service_credentials"
    assert connector.client.stats.actions["GetToken"] == 1  # remembered, never retried


async def test_wrong_pm_password_is_tried_once_even_under_concurrency(
    make_connector: Factory, make_properties: Callable[..., dict[str, str]]
) -> None:
    connector = make_connector(make_properties(PM_Password="Wrong#1"))
    client = connector.client
    results = await asyncio.gather(
        *(client.patient_demographics(str(10001 + n)) for n in range(8)),
        return_exceptions=True,
    )
    assert all(isinstance(r, CredentialsRejected) for r in results)
    error = results[0]
    assert isinstance(error, CredentialsRejected)
    assert error.reason == "wrong_pm_password"
    assert client.stats.actions["GetUserAuthentication"] == 1  # no lock-out risk
    result = await connector.check()
    assert result.status is CheckStatus.UNAUTHORIZED
    assert result.reason == "wrong_pm_password"
    assert client.stats.actions["GetUserAuthentication"] == 1


async def test_expired_pm_password(connector: UnityConnector, sandbox: Sandbox) -> None:
    sandbox.expire_password(DEFAULT_PM_USER)
    result = await connector.check()
    assert result.status is CheckStatus.UNAUTHORIZED
    assert result.reason == "pm_password_expired"
    assert "expired" in result.message
    error = await expect_failure(connector, CredentialsRejected)
    assert error.reason == "pm_password_expired"


def _unlicensed_config(*missing: str) -> SandboxConfig:
    base = default_config().default_credential
    actions = tuple(a for a in base.licensed_actions if a not in missing)
    credential = ClientCredential(
        service_user=base.service_user,
        service_password=base.service_password,
        licensed_actions=actions,
        practice=PracticeShape(locations=2, appointments_per_location=10),
    )
    return SandboxConfig(credentials=(credential,))


@pytest.mark.parametrize("config", [_unlicensed_config("GetPatientDemographics", "LastLogs")])
async def test_missing_licence(connector: UnityConnector, sandbox: Sandbox) -> None:
    result = await connector.check()
    assert result.status is CheckStatus.MISSING_PERMISSIONS
    assert result.missing_actions == ("GetPatientDemographics", "LastLogs")
    assert "GetPatientDemographics" in result.message
    assert result.server_version == "10.4.2.31.000"
    error = await expect_failure(connector, MissingLicense)
    assert isinstance(error, ConfigurationError)
    assert error.action == "GetPatientDemographics"
    assert connector.client.stats.retries == 0


def _not_activated_config() -> SandboxConfig:
    config = default_config()
    credential = config.default_credential.model_copy(update={"activated": False})
    return config.model_copy(update={"credentials": (credential,)})


@pytest.mark.parametrize("config", [_not_activated_config()])
async def test_client_not_activated(
    connector: UnityConnector, make_connector: Factory, sandbox: Sandbox
) -> None:
    """The sandbox's (inferred) reply for a client our application is not activated for is
    its own configuration error: not credentials, not retried, the reply never quoted."""
    result = await connector.check()
    assert result.status is CheckStatus.ACTIVATION_PENDING
    assert result.reason == "activation_pending"
    error = await expect_failure(connector, ActivationPending)
    assert isinstance(error, ConfigurationError)
    assert not isinstance(error, Unauthorized)
    assert error.code == "activation_pending"
    assert "Appname" not in error.message
    assert connector.client.stats.retries == 0
    sandbox.set_activated(True)
    assert (await make_connector().check()).status is CheckStatus.OK


async def test_unreachable_server(
    make_connector: Factory, make_settings: Callable[..., Settings]
) -> None:
    transport = httpx.AsyncHTTPTransport()
    connector = make_connector(settings=make_settings("http://127.0.0.1:9"), transport=transport)
    result = await connector.check()
    assert result.status is CheckStatus.UNREACHABLE
    await expect_failure(connector, Unreachable)
    await transport.aclose()


async def test_wrong_path_is_a_configuration_error(
    make_connector: Factory, make_properties: Callable[..., dict[str, str]]
) -> None:
    connector = make_connector(
        make_properties(**{"allscripts.unity.url": "http://unity.test/Unity/UnityService.svc/json"})
    )
    await expect_failure(connector, EndpointNotFound)
    result = await connector.check()
    assert result.status is CheckStatus.UNREACHABLE
    assert "allscripts.unity.url" in result.message
