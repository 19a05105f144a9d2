"""Fixtures for the connector tests: the Unity sandbox in-process (ASGI) or on loopback
(uvicorn on an ephemeral port), settings for our registered app, and connector builders.

Backoff sleeps are injected: they advance the sandbox's manual clock and return at once,
so retries are fast and the sandbox's rate limiter and token idle time see them.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from tests.connectors.http_peer import serve  # noqa: F401  (fixture: the transport tests' server)
from tests.connectors.proxy_peer import start_proxy  # noqa: F401  (fixture: a forward proxy)

from frontdesk.clock import Clock
from frontdesk.connectors.allscripts.connector import UnityConnector
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.retry import RetryPolicy
from frontdesk.sandbox.unity import (
    DEFAULT_APPNAME,
    DEFAULT_PM_PASSWORD,
    DEFAULT_PM_USER,
    DEFAULT_SERVICE_PASSWORD,
    ManualClock,
    Sandbox,
    SandboxConfig,
    create_unity_app,
    default_config,
)
from frontdesk.settings import Settings, UnitySettings

PAYLOADS = Path(__file__).parent / "payloads"
PM_PATH = "/UnityPM/UnityService.svc/json"
UBIQUITY_PATH = "/UnityService.svc/json"
SERVICE_USERNAME = "Front-4d2e-FrontDesk-test"
SERVICE_USER = "VHCP001PM:PMGA02^8^"
"""The default sandbox credential's ServiceUser (the group property ``User_Name``)."""
FAST_RETRY = RetryPolicy(max_attempts=4, base_s=0.5, max_s=4.0)


def payload(name: str) -> Any:
    """A recorded payload from ``payloads/``."""
    return json.loads((PAYLOADS / name).read_text())


def payload_bytes(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def unity_settings(base_url: str = "http://unity.test", **unity: Any) -> Settings:
    """Settings for our registered application on the sandbox (Ubiquity layout)."""
    values: dict[str, Any] = {
        "url": base_url + UBIQUITY_PATH,
        "appname": DEFAULT_APPNAME,
        "service_username": SERVICE_USERNAME,
        "service_password": SecretStr(DEFAULT_SERVICE_PASSWORD),
        "timeout_s": 5.0,
    }
    values.update(unity)
    return Settings(unity=UnitySettings(**values))


def group_properties(**changes: str) -> dict[str, str]:
    """The default sandbox group's effective properties."""
    properties = {
        "User_Name": SERVICE_USER,
        "pms_user_name": DEFAULT_PM_USER,
        "PM_Password": DEFAULT_PM_PASSWORD,
    }
    properties.update(changes)
    return properties


@pytest.fixture
def clock() -> ManualClock:
    """The sandbox clock: 2025-03-03 09:00 Eastern, a Monday."""
    return ManualClock()


@pytest.fixture
def config() -> SandboxConfig:
    return default_config()


@pytest.fixture
def app(config: SandboxConfig, clock: ManualClock) -> Any:
    return create_unity_app(config, clock=clock)


@pytest.fixture
def sandbox(app: Any) -> Sandbox:
    state: Sandbox = app.state.sandbox
    return state


@pytest.fixture
def clock_sleep(clock: ManualClock) -> Callable[[float], Awaitable[None]]:
    """A backoff sleep that advances the sandbox clock instead of waiting."""

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    return sleep


ConnectorFactory = Callable[..., UnityConnector]


@pytest.fixture
async def make_connector(
    app: Any, clock_sleep: Callable[[float], Awaitable[None]]
) -> AsyncIterator[ConnectorFactory]:
    """Build connectors on the in-process sandbox; all closed at teardown."""
    built: list[UnityConnector] = []

    def factory(
        properties: dict[str, str] | None = None,
        *,
        settings: Settings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: ConcurrencyLimits | None = None,
        retry: RetryPolicy = FAST_RETRY,
        clock: Clock | None = None,
    ) -> UnityConnector:
        connector = UnityConnector.from_properties(
            properties or group_properties(),
            settings or unity_settings(),
            transport=transport or httpx.ASGITransport(app=app),
            limits=limits or ConcurrencyLimits(total=32, per_group=4),
            retry=retry,
            rng=random.Random(7),
            sleep=clock_sleep,
            clock=clock,
        )
        built.append(connector)
        return connector

    yield factory
    for connector in built:
        await connector.aclose()


@pytest.fixture
def connector(make_connector: ConnectorFactory) -> UnityConnector:
    """The default group's connector on the in-process sandbox."""
    return make_connector()


@asynccontextmanager
async def serve_on_loopback(app: Any, *, certfile: Path | None = None) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1:<ephemeral>; yields the base URL.

    ``certfile`` (a PEM holding the key and the certificate chain): served over https.
    """
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            ws="none",
            ssl_certfile=certfile,
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"{'https' if certfile else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class RequestHook:
    """An ASGI wrapper around the sandbox that runs callbacks before chosen requests.

    ``hook.before(n, fn)`` calls ``fn()`` just before the n-th HTTP request (1-based) reaches
    the sandbox: e.g. expire every token in the middle of a read, or start a 5xx burst.
    It also tracks how many requests are in flight at once.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.paths: list[str] = []
        self._callbacks: dict[int, list[Callable[[], object]]] = {}

    def before(self, number: int, callback: Callable[[], object]) -> None:
        self._callbacks.setdefault(number, []).append(callback)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.count += 1
        self.paths.append(scope["path"].rsplit("/", 1)[-1])
        for callback in self._callbacks.pop(self.count, []):
            callback()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class Payloads:
    """Recorded payloads in ``payloads/``."""

    def json(self, name: str) -> Any:
        return payload(name)

    def bytes(self, name: str) -> bytes:
        return payload_bytes(name)


@pytest.fixture
def payloads() -> Payloads:
    return Payloads()


@pytest.fixture
def make_settings() -> Callable[..., Settings]:
    """``make_settings(base_url="http://unity.test", **unity)``: settings for the sandbox."""
    return unity_settings


@pytest.fixture
def make_properties() -> Callable[..., dict[str, str]]:
    """``make_properties(**changes)``: the default sandbox group's properties."""
    return group_properties


@pytest.fixture
def serve_loopback() -> Callable[[Any], Any]:
    """``async with serve_loopback(app) as base_url``: uvicorn on 127.0.0.1:<ephemeral>."""
    return serve_on_loopback


@pytest.fixture
def request_hook(config: SandboxConfig, clock: ManualClock) -> RequestHook:
    """The sandbox app wrapped in a :class:`RequestHook` (``hook.app.state.sandbox``)."""
    return RequestHook(create_unity_app(config, clock=clock))
