"""Fixtures of the sync tests: the Unity sandbox on loopback (uvicorn, ephemeral port),
settings pointing at it, a practice configured through the integration API, and a fast
connector builder (short backoffs) for the engine.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from frontdesk.clock import ManualClock
from frontdesk.composition import Role, build_process
from frontdesk.connectors.allscripts.connector import UnityConnector
from frontdesk.connectors.base import Connector
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.context import AppContext
from frontdesk.retry import RetryPolicy
from frontdesk.sandbox.unity import (
    DEFAULT_APPNAME,
    DEFAULT_PM_PASSWORD,
    DEFAULT_PM_USER,
    DEFAULT_SERVICE_PASSWORD,
    Sandbox,
    SandboxConfig,
    create_unity_app,
    default_config,
)
from frontdesk.sandbox.unity import ManualClock as SandboxClock
from frontdesk.settings import Settings, SyncSettings, UnitySettings
from frontdesk.sync.engine import SyncEngine

SERVICE_USER = "VHCP001PM:PMGA02^8^"
SERVICE_USERNAME = "Front-4d2e-FrontDesk-test"
ENTERPRISE = 149547879572938
LOCATIONS = {  # sandbox LocationName → business number
    "Loudoun Office": 149547899859201,
    "Ashburn Office": 149547899859202,
    "Leesburg Family Medicine": 149547899859203,
    "Sterling Pediatrics": 149547899859204,
    "Reston Office": 149547899859205,
    "Purcellville Clinic": 149547899859206,
}
OTHER_TENANT = 149547800000009
DAY = date(2025, 3, 3)  # a Monday: 25 appointments at each of the 6 locations
NOW = datetime(2025, 3, 4, 13, 0, tzinfo=UTC)  # 08:00 in New York on the 4th
FAST = RetryPolicy(max_attempts=4, base_s=0.01, max_s=0.05, budget_tokens=1000)
H = dict[str, str]


class ScheduleEditor:
    """ASGI wrapper around the sandbox: can add a "rescheduled" copy of a row seen on one day
    to the GetSchedule reply of another day (``moves[appointment_id] = day``), or a second
    booking of its patient under a new id (``bookings[new_id] = (appointment_id, day)``)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.rows: dict[str, dict[str, str]] = {}
        self.moves: dict[str, date] = {}
        self.bookings: dict[str, tuple[str, date]] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].lower().endswith("/magicjson"):
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        request = json.loads(body or b"{}")
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, replay, capture)
        payload = b"".join(chunks)
        if str(request.get("Action", "")).lower() == "getschedule" and started["status"] == 200:
            payload = self._edit(request, payload)
        headers = [(k, v) for k, v in started["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": started["status"], "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _edit(self, request: dict[str, Any], payload: bytes) -> bytes:
        try:
            document = json.loads(payload)
            rows = document[0]["getscheduleinfo"]
        except (ValueError, KeyError, IndexError, TypeError):
            return payload
        for row in rows:
            self.rows.setdefault(row["AppointmentID"].strip(), row)
        asked = datetime.strptime(request["Parameter1"].split("|")[0], "%m/%d/%Y").date()
        copies = [(a, a, day) for a, day in self.moves.items()]
        copies += [(a, new_id, day) for new_id, (a, day) in self.bookings.items()]
        for appointment_id, new_id, day in copies:
            if day == asked and appointment_id in self.rows:
                moved = dict(self.rows[appointment_id])
                _, clock, half = moved["ApptTime2"].split(" ")
                moved["ApptTime2"] = f"{day.month}/{day.day}/{day.year} {clock} {half}"
                moved["AppointmentID"] = new_id
                rows.append(moved)
        return json.dumps(document).encode()


@dataclass
class Loopback:
    """The sandbox served on 127.0.0.1."""

    url: str
    sandbox: Sandbox
    editor: ScheduleEditor
    server: uvicorn.Server = field(repr=False)


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """The sandbox's configuration (a test module may override this fixture)."""
    return default_config()


@pytest.fixture
async def unity(sandbox_config: SandboxConfig) -> AsyncIterator[Loopback]:
    clock = SandboxClock()
    app = create_unity_app(sandbox_config, clock=clock)
    editor = ScheduleEditor(app)
    server = uvicorn.Server(
        uvicorn.Config(
            editor, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Loopback(f"http://127.0.0.1:{port}", app.state.sandbox, editor, server)
    finally:
        server.should_exit = True
        await task


def unity_settings(base_url: str, **changes: Any) -> UnitySettings:
    values: dict[str, Any] = {
        "url": base_url + "/UnityService.svc/json",
        "appname": DEFAULT_APPNAME,
        "service_username": SERVICE_USERNAME,
        "service_password": SecretStr(DEFAULT_SERVICE_PASSWORD),
        "timeout_s": 2.0,
    }
    values.update(changes)
    return UnitySettings(**values)


@pytest.fixture
def settings(settings: Settings, unity: Loopback) -> Settings:
    """The shared test settings, with Unity on the loopback sandbox and short sync timings."""
    return settings.model_copy(
        update={
            "unity": unity_settings(unity.url),
            "sync": SyncSettings(lease_s=30.0, tick_s=0.05, retry_base_s=0.01, retry_max_s=0.05),
        }
    )


@pytest.fixture
def clock(ctx: AppContext) -> ManualClock:
    manual = ManualClock(NOW)
    ctx.clock = manual
    return manual


def fast_connectors(settings_override: Settings | None = None) -> Callable[..., Connector]:
    """Connector builder with short backoffs and one shared set of limits."""
    limits = ConcurrencyLimits(total=32, per_group=4)

    def build(source: str, properties: Mapping[str, str], settings: Settings) -> Connector:
        return UnityConnector.from_properties(
            properties,
            settings_override or settings,
            limits=limits,
            retry=FAST,
            rng=random.Random(7),
        )

    return build


def foreground(ctx: AppContext, settings_override: Settings | None = None) -> SyncEngine:
    """The sync engine of a CLI process (decides in the foreground; its decision hook is the
    review sender's, which writes ledger rows and queues nothing) with fast connectors."""
    return build_process(ctx, Role.CLI, connectors=fast_connectors(settings_override)).engine


@pytest.fixture
def engine(ctx: AppContext, clock: ManualClock) -> SyncEngine:
    return foreground(ctx)


def prop(key: str, value: str, secure: bool = False) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": secure}


STATUSES = "Acknowledge,Confirmed"
TYPES = "FOLLOWUP,SICK,PHYSICAL,NEWPT,TELEHLTH,MEDWELL,PROC,BEHAVHLT,WELLBAB1,WELLCHLD"


@dataclass
class Practice:
    """The sandbox enterprise as configured through the integration API."""

    client: httpx.AsyncClient
    headers: H
    group_id: int = 0
    mappings: dict[str, int] = field(default_factory=dict)

    async def patch_mapping(self, location: str, **fields: Any) -> None:
        r = await self.client.patch(
            f"/integration/businessintegrationmapping/{self.mappings[location]}",
            json=fields,
            headers=self.headers,
        )
        assert r.status_code == 200, r.text

    async def run_now(self, on: date, **body: Any) -> list[dict[str, Any]]:
        r = await self.client.post(
            f"/integration/businessintegrationgroup/id/{self.group_id}/run",
            json={"on": on.isoformat(), **body},
            headers=self.headers,
        )
        assert r.status_code == 202, r.text
        runs: list[dict[str, Any]] = r.json()
        return runs


REVIEW = "https://reviews.example.org/"


@pytest.fixture
async def practice(client: httpx.AsyncClient, staff_headers: H, clock: ManualClock) -> Practice:
    """Enterprise + six locations; the group; Loudoun, Ashburn (dry run), Leesburg (no
    review.url), Sterling mapped and active; Purcellville mapped but inactive; Reston not
    mapped."""
    found = Practice(client, staff_headers)
    r = await client.post(
        "/api/businesses",
        json={"businessNumber": ENTERPRISE, "name": "Loudoun Valley"},
        headers=staff_headers,
    )
    assert r.status_code == 201, r.text
    for name, number in LOCATIONS.items():
        r = await client.post(
            "/api/businesses",
            json={"businessNumber": number, "name": name, "enterpriseNumber": ENTERPRISE},
            headers=staff_headers,
        )
        assert r.status_code == 201, r.text
    r = await client.put(
        "/integration/add/businessintegrationgroup",
        json={
            "parentBusinessNumber": ENTERPRISE,
            "integrationSourceId": 32,
            "integrationGroupTriggers": [{"triggerId": 56, "triggerTypeId": 1}],
            "integrationGroupProperties": [
                prop("User_Name", SERVICE_USER, True),
                prop("PM_Password", DEFAULT_PM_PASSWORD, True),
                prop("pms_user_name", DEFAULT_PM_USER),
                prop("allscripts.appointment.status", STATUSES),
                prop("allscripts.appointment.type", TYPES),
            ],
        },
        headers=staff_headers,
    )
    assert r.status_code == 200, r.text
    found.group_id = r.json()["groupId"]
    plan: dict[str, dict[str, Any]] = {
        "Loudoun Office": {},
        "Ashburn Office": {"dryRun": True},
        "Leesburg Family Medicine": {},
        "Sterling Pediatrics": {},
        "Purcellville Clinic": {"active": False},
    }
    for name, extra in plan.items():
        props = [prop("allscripts.location.name", name)]
        if name != "Leesburg Family Medicine":
            props.append(prop("review.url", REVIEW + str(LOCATIONS[name])))
        r = await client.put(
            "/integration/add/businessintegrationmapping",
            json={
                "businessNumber": LOCATIONS[name],
                "integrationGroupId": found.group_id,
                "integrationProperties": props,
                **extra,
            },
            headers=staff_headers,
        )
        assert r.status_code == 200, r.text
        found.mappings[name] = r.json()["mappingId"]
    return found
