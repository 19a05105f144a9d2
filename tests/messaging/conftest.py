"""Messaging fixtures: the Twilio simulator on loopback (real HTTP), its callbacks carried
to the frontdesk app under test, a toy source whose schedule a test writes, and a process
with the ``sms`` channel registered the way the composition root registers it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from tests.conftest import TEST_SECRET_KEY

from frontdesk.access.principal import Principal
from frontdesk.clock import Clock
from frontdesk.composition import Process, Role, build_process, builtin_sources
from frontdesk.connectors.base import (
    Appointment,
    CheckResult,
    CheckStatus,
    Discovery,
    Patient,
    Window,
)
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.connectors.spec import (
    CatalogEntry,
    PluggedSource,
    PropertySpec,
    SourceSpec,
    TriggerSpec,
    text,
)
from frontdesk.context import AppContext
from frontdesk.delivery.registry import builtin_channels
from frontdesk.engagement.ledger import requests_of_runs
from frontdesk.plugins import Plugins
from frontdesk.sandbox.twilio.app import create_twilio_app
from frontdesk.sandbox.twilio.state import TwilioState
from frontdesk.server.app import create_app
from frontdesk.settings import OutboundSettings, Settings, TwilioSettings
from frontdesk.sync.foreground import run_all
from frontdesk.sync.service import request_run

SOURCE_ID, TRIGGER = 91, 911
ENTERPRISE, CLINIC = 100000000000011, 100000000000012
ACCOUNT, TOKEN = "AC" + "a" * 32, "test-auth-token"
SENDER = "+15005550006"
PUBLIC_URL = "https://frontdesk.example"
DAY = date(2026, 3, 2)

SPEC = SourceSpec(
    catalog=CatalogEntry(
        source_id=SOURCE_ID,
        name="BOOKEHR",
        display_name="Book EHR",
        triggers=(TriggerSpec(TRIGGER, "bookTrigger", "Book Trigger"),),
    ),
    properties=(PropertySpec("book.clinic", "text", text, "location", match_key=True),),
    match_key="book.clinic",
)


@dataclass
class Book:
    """The toy source's schedule: a test appends visits."""

    visits: list[Appointment] = field(default_factory=list)

    def visit(self, number: int, day: date, phone: str) -> None:
        start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC) + timedelta(minutes=number)
        patient = Patient(
            f"P{number}", first_name="Ann", birth_date=date(1970, 1, 1), cell_phone=phone
        )
        self.visits.append(
            Appointment(
                f"A{number}", f"P{number}", start, "DONE", "VISIT", "Clinic", patient=patient
            )
        )


@dataclass
class BookConnector:
    book: Book

    async def check(self) -> CheckResult:
        return CheckResult(CheckStatus.OK, "connected")

    async def discover(self, today: date) -> Discovery:
        return Discovery()

    def read(self, window: Window, cursor: str | None = None) -> Any:
        from tests.plugins.test_toy_plugins import ToyStream

        return ToyStream(
            [a for a in self.book.visits if window.first <= a.start.date() <= window.last]
        )

    def status_matches(self, allowed: Iterable[str], status: str) -> bool:
        return True

    async def aclose(self) -> None:
        return None


class LateASGI(httpx.AsyncBaseTransport):
    """Carries the simulator's callbacks to an app chosen after the simulator started."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert self.app is not None, "no app to carry callbacks to yet"
        return await httpx.ASGITransport(app=self.app).handle_async_request(request)


@dataclass
class Simulator:
    url: str
    state: TwilioState
    carrier: LateASGI
    client: httpx.AsyncClient

    async def settled(self) -> None:
        """Wait until every lifecycle callback has been posted."""
        if self.state.knobs.lifecycle != "auto":
            return  # the test drove the lifecycle itself, awaiting each callback
        for _ in range(200):
            expected = sum(1 for m in self.state.messages if m.status_callback) * 2
            posted = [c for c in self.state.callbacks if c["url"].endswith("/status")]
            if len(posted) >= expected:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("callbacks did not settle")


@pytest.fixture
async def twilio_sim() -> AsyncIterator[Simulator]:
    carrier = LateASGI()
    app = create_twilio_app(
        accounts={ACCOUNT: TOKEN},
        inbound_url=f"{PUBLIC_URL}/webhooks/twilio/inbound",
        callback_transport=carrier,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", ws="none"
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1000):
        if server.started:
            break
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            yield Simulator(url, app.state.twilio, carrier, client)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def settings(tmp_path: Path, db_url: str, twilio_sim: Simulator) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_keys=TEST_SECRET_KEY,  # type: ignore[arg-type]
        log_format="json",
        log_level="DEBUG",
        public_url=PUBLIC_URL,
        # the webhook receivers of these tests are on loopback: the operator lists it
        outbound=OutboundSettings(allowed_hosts="127.0.0.1"),
        twilio=TwilioSettings(
            account_sid=ACCOUNT,
            auth_token=TOKEN,  # type: ignore[arg-type]
            from_=SENDER,
            api_url=twilio_sim.url,
        ),
    )


@dataclass
class Texting:
    process: Process
    app: FastAPI
    api: httpx.AsyncClient
    book: Book
    sim: Simulator
    group: int = 0

    @property
    def ctx(self) -> AppContext:
        return self.process.ctx

    async def run(self, day: date) -> list[int]:
        """Sync the day (a run reads the day before its own) and return the new request ids."""
        ctx = self.ctx
        async with ctx.db.transaction() as session:
            runs = await request_run(
                session,
                principal=Principal.system("test"),
                clock=ctx.clock,
                group_id=self.group,
                on=day + timedelta(days=1),
            )
        finished = await run_all(ctx, self.process.engine, [r.id for r in runs])
        assert [r.status for r in finished] == ["succeeded"]
        async with ctx.db.reader() as session:
            return await requests_of_runs(session, run_ids=[r.id for r in runs])


def _prop(key: str, value: str) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": False}


@pytest.fixture
async def texting(
    ctx: AppContext, twilio_sim: Simulator, staff_headers: dict[str, str]
) -> AsyncIterator[Texting]:
    async with practice(ctx, twilio_sim, staff_headers, channel="sms", quiet_hours="off") as t:
        yield t


@asynccontextmanager
async def practice(
    ctx: AppContext,
    twilio_sim: Simulator,
    staff_headers: dict[str, str],
    *,
    channel: str,
    quiet_hours: str = "off",
    timezone: str = "America/New_York",
) -> AsyncIterator[Texting]:
    """A process with the built-in channels, one enterprise with one clinic on ``channel``."""
    book = Book()

    def factory(
        properties: Mapping[str, str], settings: Settings, limits: ConcurrencyLimits, clock: Clock
    ) -> BookConnector:
        return BookConnector(book)

    plugins = Plugins.of(
        [*builtin_sources(), PluggedSource(spec=SPEC, factory=factory)],
        builtin_channels(ctx.settings, clock=ctx.clock, ctx=ctx),
    )
    process = build_process(ctx, Role.CLI, plugins=plugins)
    await process.start()
    app = create_app(ctx.settings, process=process)
    twilio_sim.carrier.app = app
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=staff_headers
    ) as api:
        r = await api.post("/api/businesses", json={"businessNumber": ENTERPRISE, "name": "Care"})
        assert r.status_code == 201, r.text
        r = await api.post(
            "/api/businesses",
            json={"businessNumber": CLINIC, "name": "Care North", "enterpriseNumber": ENTERPRISE},
        )
        assert r.status_code == 201, r.text
        body = {
            "parentBusinessNumber": ENTERPRISE,
            "integrationSourceId": SOURCE_ID,
            "integrationGroupTriggers": [{"triggerId": TRIGGER, "triggerTypeId": 1}],
            "integrationGroupProperties": [
                _prop("review.channel", channel),
                _prop("review.quiet.hours", quiet_hours),
                _prop("review.url", "https://reviews.example/care"),
            ],
        }
        r = await api.put("/integration/add/businessintegrationgroup", json=body)
        assert r.status_code == 200, r.text
        group = int(r.json()["groupId"])
        r = await api.put(
            "/integration/add/businessintegrationmapping",
            json={
                "businessNumber": CLINIC,
                "integrationGroupId": group,
                "timezone": timezone,
                "integrationProperties": [_prop("book.clinic", "Clinic")],
            },
        )
        assert r.status_code == 200, r.text
        try:
            yield Texting(process, app, api, book, twilio_sim, group)
        finally:
            await twilio_sim.settled()  # no callback may reach a closed database
            await process.stop()
