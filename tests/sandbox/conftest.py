"""Fixtures for the Unity sandbox tests: an in-process sandbox on a manual clock, and a thin
wire client that sends plain JSON exactly as a Unity client would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from frontdesk.sandbox.unity import (
    DEFAULT_APPNAME,
    DEFAULT_PM_PASSWORD,
    DEFAULT_PM_USER,
    DEFAULT_SERVICE_PASSWORD,
    DEFAULT_SERVICE_USER,
    ManualClock,
    Sandbox,
    SandboxConfig,
    create_unity_app,
    default_config,
)

PM_BASE = "/UnityPM/UnityService.svc/json"
UBIQUITY_BASE = "/UnityService.svc/json"


class UnityWire:
    """Plain-JSON calls to a sandbox, the way a Unity client makes them."""

    def __init__(self, client: httpx.AsyncClient, base: str = PM_BASE) -> None:
        self.client = client
        self.base = base
        self.token = ""
        self.user = DEFAULT_PM_USER
        self.appname = DEFAULT_APPNAME

    async def get_token(
        self, username: str = DEFAULT_SERVICE_USER, password: str = DEFAULT_SERVICE_PASSWORD
    ) -> httpx.Response:
        """POST GetToken; remembers the token when the reply is one."""
        response = await self.client.post(
            f"{self.base}/GetToken", json={"Username": username, "Password": password}
        )
        if not response.text.lower().startswith("error"):
            self.token = response.text
        return response

    async def magic(self, action: str, **members: Any) -> httpx.Response:
        """POST MagicJson with every member present ("" unless given)."""
        body: dict[str, Any] = {
            "Action": action,
            "AppUserID": self.user,
            "Appname": self.appname,
            "PatientID": "",
            "Token": self.token,
            **{f"Parameter{n}": "" for n in range(1, 7)},
            "Data": "",
        }
        body.update(members)
        return await self.client.post(f"{self.base}/MagicJson", json=body)

    async def rows(self, action: str, **members: Any) -> list[dict[str, str]]:
        """MagicJson rows of a successful reply (asserts the envelope)."""
        response = await self.magic(action, **members)
        assert response.status_code == 200
        document = response.json()
        assert isinstance(document, list)
        assert len(document) == 1
        assert list(document[0]) == [f"{action.lower()}info"], document[0]
        rows: list[dict[str, str]] = document[0][f"{action.lower()}info"]
        return rows

    async def error(self, action: str, **members: Any) -> str:
        """The ``Error`` text of an error reply (asserts HTTP 200 and the error shape)."""
        response = await self.magic(action, **members)
        assert response.status_code == 200
        document = response.json()
        assert isinstance(document, list)
        assert list(document[0]) == ["Error"], document
        message: str = document[0]["Error"]
        return message

    async def login(self, password: str = DEFAULT_PM_PASSWORD) -> None:
        """GetToken then GetUserAuthentication; asserts ValidUser YES."""
        token = await self.get_token()
        assert token.status_code == 200
        (row,) = await self.rows("GetUserAuthentication", Parameter1=password)
        assert row["ValidUser"] == "YES", row


@pytest.fixture
def clock() -> ManualClock:
    """The sandbox clock: 2025-03-03 09:00 Eastern (a Monday), moved only by tests."""
    return ManualClock()


@pytest.fixture
def config() -> SandboxConfig:
    """The documented default configuration (seed 1)."""
    return default_config()


@pytest.fixture
def app(config: SandboxConfig, clock: ManualClock) -> Any:
    """The sandbox ASGI app."""
    return create_unity_app(config, clock=clock)


@pytest.fixture
def sandbox(app: Any) -> Sandbox:
    """The in-process sandbox behind ``app``."""
    state: Sandbox = app.state.sandbox
    return state


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://unity.test") as http:
        yield http


@pytest.fixture
def unity(client: httpx.AsyncClient) -> UnityWire:
    """A wire client on the PM layout."""
    return UnityWire(client)


@pytest.fixture
async def session(unity: UnityWire) -> UnityWire:
    """A wire client with a token bound to the default PM user."""
    await unity.login()
    return unity


WireOpener = Callable[..., AbstractAsyncContextManager[UnityWire]]


@pytest.fixture
def open_wire() -> WireOpener:
    """Open a wire client on another sandbox app: ``async with open_wire(app, base) as wire``."""

    @asynccontextmanager
    async def opener(app: Any, base: str = PM_BASE) -> AsyncIterator[UnityWire]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://unity.test") as http:
            yield UnityWire(http, base)

    return opener
