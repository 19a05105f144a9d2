"""Fixtures of the dashboard tests: staff users, businesses, logged-in HTTP clients."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from frontdesk.access.principal import Principal
from frontdesk.businesses.service import add_business
from frontdesk.clock import ManualClock
from frontdesk.composition import builtin_plugins
from frontdesk.context import AppContext
from frontdesk.integrations.catalog import TriggerRef
from frontdesk.integrations.groups import PropertyInput, create_group
from frontdesk.integrations.mappings import MappingChanges, create_mapping
from frontdesk.sandbox.unity import (
    DEFAULT_APPNAME,
    DEFAULT_SERVICE_PASSWORD,
    DEFAULT_SERVICE_USER,
    Sandbox,
    create_unity_app,
    default_config,
)
from frontdesk.settings import UnitySettings
from frontdesk.staff.service import create_user

PASSWORD = "correct horse battery"
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

ENTERPRISE = 149547879572938
LOUDOUN = 149547899859217
ASHBURN = 149547899859218
OTHER_SMB = 149547800000001  # another tenant

SECRET_VALUES = ("VHCP001PM:PMGA02^8^", "PmSandbox#90")

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match[1]


UserFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def clock(ctx: AppContext) -> ManualClock:
    manual = ManualClock(NOW)
    ctx.clock = manual
    return manual


@pytest.fixture
def make_user(ctx: AppContext) -> UserFactory:
    """Create a staff user straight through the service; returns the username."""

    async def make(username: str, role: str, *, business: int | None = None) -> str:
        async with ctx.db.transaction() as session:
            await create_user(
                session,
                principal=Principal.system("test"),
                clock=ctx.clock,
                username=username,
                password=PASSWORD,
                role=role,
                business_number=business,
            )
        return username

    return make


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    """Log in through the form (its own CSRF cookie and field); returns the POST's response."""
    page = await client.get("/login")
    return await client.post(
        "/login",
        data={"csrf_token": csrf_of(page.text), "username": username, "password": password},
    )


LoginAs = Callable[..., Awaitable[str]]


@pytest.fixture
def login_as(client: httpx.AsyncClient, make_user: UserFactory) -> LoginAs:
    """Create a user with ``role`` and log the client in; returns the session's CSRF token."""

    async def go(role: str, *, business: int | None = None, username: str | None = None) -> str:
        name = await make_user(username or f"{role}-user", role, business=business)
        response = await login(client, name)
        assert response.status_code == 303, response.text
        return csrf_of((await client.get("/", follow_redirects=True)).text)

    return go


@pytest.fixture
async def tenants(ctx: AppContext) -> dict[str, int]:
    """An enterprise with two locations and its group (two mappings); an SMB of another tenant
    with its own group."""
    system = Principal.system("test")
    plugins = builtin_plugins(ctx)
    async with ctx.db.transaction() as session:
        for number, name, enterprise in (
            (ENTERPRISE, "Loudoun Valley Medical Group", None),
            (LOUDOUN, "Loudoun Office", ENTERPRISE),
            (ASHBURN, "Ashburn Office", ENTERPRISE),
            (OTHER_SMB, "Lakeside Pediatrics", None),
        ):
            await add_business(
                session,
                principal=system,
                clock=ctx.clock,
                number=number,
                name=name,
                enterprise_number=enterprise,
            )
        ids = {}
        for parent, locations in ((ENTERPRISE, (LOUDOUN, ASHBURN)), (OTHER_SMB, (OTHER_SMB,))):
            group = await create_group(
                session,
                principal=system,
                clock=ctx.clock,
                secrets=ctx.secrets,
                plugins=plugins,
                parent_business_number=parent,
                source_id=32,
                triggers=[TriggerRef(56)],
                properties=[
                    PropertyInput("User_Name", SECRET_VALUES[0], True),
                    PropertyInput("PM_Password", SECRET_VALUES[1], True),
                    PropertyInput("pms_user_name", "frontdesk"),
                ],
            )
            ids[str(parent)] = group.id
            for number in locations:
                await create_mapping(
                    session,
                    principal=system,
                    clock=ctx.clock,
                    secrets=ctx.secrets,
                    plugins=plugins,
                    group_id=group.id,
                    business_number=number,
                    changes=MappingChanges(
                        properties=[PropertyInput("allscripts.location.name", f"Location {number}")]
                        if parent == ENTERPRISE
                        else ()
                    ),
                )
    return ids


SANDBOX_SERVICE_SUFFIX = "Front-4d2e-FrontDesk-test"  # GetToken Username = User_Name + this


@pytest.fixture
async def unity_sandbox(ctx: AppContext) -> AsyncIterator[Sandbox]:
    """The default Unity sandbox on 127.0.0.1:<ephemeral>; the app's settings point at it.

    GetToken's Username is the group's ``User_Name`` glued to our service username, so the
    sandbox's default service user ``VHCP001PM:PMGA02^8^Front-4d2e-FrontDesk-test`` is the
    group property ``VHCP001PM:PMGA02^8^`` plus the setting ``Front-4d2e-FrontDesk-test``.
    """
    assert SECRET_VALUES[0] + SANDBOX_SERVICE_SUFFIX == DEFAULT_SERVICE_USER
    app = create_unity_app(default_config())
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    ctx.settings.unity = UnitySettings(
        url=f"http://127.0.0.1:{port}/UnityPM/UnityService.svc/json",
        appname=DEFAULT_APPNAME,
        service_username=SANDBOX_SERVICE_SUFFIX,
        service_password=SecretStr(DEFAULT_SERVICE_PASSWORD),
    )
    yield app.state.sandbox
    server.should_exit = True
    await task
