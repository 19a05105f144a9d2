"""A source and a channel that exist only in this test plug into a process through the
contracts — spec + check/discover/read, and how the channel reaches a patient — and are
configured through the integration API and synced to sent requests without any change to
a core module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from frontdesk.access.principal import Principal
from frontdesk.clock import Clock
from frontdesk.composition import Process, Role, build_process, builtin_sources
from frontdesk.connectors.base import (
    Appointment,
    CheckResult,
    CheckStatus,
    Discovery,
    Guardian,
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
    allow_list,
    text,
)
from frontdesk.context import AppContext
from frontdesk.delivery.channel import ChannelPlugin, OutgoingMessage, SendResult
from frontdesk.delivery.reach import Reach
from frontdesk.delivery.registry import builtin_channels
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.ledger import requests_of_runs
from frontdesk.engagement.ledger_models import ReviewRequest
from frontdesk.plugins import Plugins
from frontdesk.server.app import create_app
from frontdesk.settings import Settings
from frontdesk.sync.foreground import run_all
from frontdesk.sync.service import request_run

TOY_ID, TOY_TRIGGER = 90, 901
ENTERPRISE, NORTH, SOUTH = 100000000000001, 100000000000002, 100000000000003
DAY = date(2026, 3, 2)
"""The day of the toy schedule (a run reads the day before its own: the fetch delay)."""


# -- the toy source: everything it is, in this file ----------------------------------------

SPEC = SourceSpec(
    catalog=CatalogEntry(
        source_id=TOY_ID,
        name="TOYEHR",
        display_name="Toy EHR",
        triggers=(TriggerSpec(TOY_TRIGGER, "toyAppointmentTrigger", "Toy Appointment Trigger"),),
    ),
    properties=(
        PropertySpec("toy.token", "text", text, "group", secure=True, required=True),
        PropertySpec("toy.clinic", "text", text, "location", match_key=True),
        PropertySpec("toy.status", "allow-list", allow_list, "both"),
    ),
    match_key="toy.clinic",
    status_key="toy.status",
    credential_keys=("toy.token",),
)


def visit(number: int, clinic: str, status: str, phone: str) -> Appointment:
    start = datetime(DAY.year, DAY.month, DAY.day, 9, tzinfo=UTC) + timedelta(minutes=number)
    patient = Patient(f"P{number}", first_name="Ann", birth_date=date(1970, 1, 1), cell_phone=phone)
    return Appointment(f"A{number}", f"P{number}", start, status, "VISIT", clinic, patient=patient)


SCHEDULE = [
    visit(1, "North Clinic", "DONE", "(703) 555-0101"),
    visit(2, "North Clinic", "DONE", "not a number"),  # no usable mobile
    visit(3, "South Clinic", "DONE", "+1 571 555 0103"),
    visit(4, "South Clinic", "NOSHOW", "+15715550104"),  # status not allowed
    visit(5, "West Clinic", "DONE", "+15715550105"),  # no mapping
    # a child: the request goes to the guardian's mobile, greeting the guardian
    replace(
        visit(6, "South Clinic", "DONE", ""),
        patient=Patient(
            "P6",
            first_name="Tim",
            birth_date=date(2020, 5, 1),
            guardian=Guardian(first_name="Rosa", cell_phone="(571) 555-0106", email="r@x.org"),
        ),
    ),
    # a child whose guardian has no mobile number: restricted minor (their own number unused)
    replace(
        visit(7, "South Clinic", "DONE", ""),
        patient=Patient(
            "P7",
            first_name="Ida",
            birth_date=date(2012, 5, 1),
            cell_phone="+15715550177",
            guardian=Guardian(first_name="Ben", email="ben@x.org"),
        ),
    ),
]


READ_HOOKS: list[Callable[[], Awaitable[None]]] = []
"""Awaited once by the next toy read before its first row (a test changes config mid-run)."""


@dataclass
class ToyStream:
    rows: list[Appointment]
    cursor: str | None = None

    def __aiter__(self) -> AsyncIterator[Appointment]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Appointment]:
        while READ_HOOKS:
            await READ_HOOKS.pop()()
        for row in self.rows:
            yield row
        self.cursor = "end"

    async def __anext__(self) -> Appointment:  # the protocol's; iteration uses __aiter__
        raise StopAsyncIteration

    async def aclose(self) -> None:
        return None


@dataclass
class ToyConnector:
    token: str
    reads: list[Window] = field(default_factory=list)

    async def check(self) -> CheckResult:
        if self.token != "s3cret":
            return CheckResult(CheckStatus.UNAUTHORIZED, "the token is refused")
        return CheckResult(CheckStatus.OK, "connected")

    async def discover(self, today: date) -> Discovery:
        return Discovery()

    def read(self, window: Window, cursor: str | None = None) -> ToyStream:
        self.reads.append(window)
        return ToyStream([a for a in SCHEDULE if window.first <= a.start.date() <= window.last])

    def status_matches(self, allowed: Iterable[str], status: str) -> bool:
        return status in set(allowed)

    async def aclose(self) -> None:
        return None


def toy_connector(
    properties: Mapping[str, str], settings: Settings, limits: ConcurrencyLimits, clock: Clock
) -> ToyConnector:
    return ToyConnector(token=properties["toy.token"])


TOY_SOURCE = PluggedSource(spec=SPEC, factory=toy_connector)


# -- the toy channel -------------------------------------------------------------------------


@dataclass
class Pigeon:
    name: str = "pigeon"
    reaches: Reach = Reach.MOBILE
    carried: list[OutgoingMessage] = field(default_factory=list)

    def message_id(self, ledger_key: str) -> str | None:
        return f"pigeon-{abs(hash(ledger_key)) % 10**8}"

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.carried.append(message)
        message_id = self.message_id(message.ledger_key) or ""
        return SendResult(self.name, message.ledger_key, message_id)

    async def reconcile(self, ledger_key: str, message_id: str | None) -> bool | None:
        return any(m.ledger_key == ledger_key for m in self.carried)


# -- the test --------------------------------------------------------------------------------


@pytest.fixture
async def toy(ctx: AppContext) -> AsyncIterator[tuple[Process, Pigeon]]:
    pigeon = Pigeon()
    channels = [
        *builtin_channels(ctx.settings, clock=ctx.clock),
        ChannelPlugin("pigeon", Reach.MOBILE, lambda: pigeon),
    ]
    plugins = Plugins.of([*builtin_sources(), TOY_SOURCE], channels)
    process = build_process(ctx, Role.CLI, plugins=plugins)
    await process.start()  # the catalog learns the toy source from its spec
    try:
        yield process, pigeon
    finally:
        await process.stop()


async def test_a_toy_source_and_channel_plug_in_through_the_contracts(
    toy: tuple[Process, Pigeon], staff_headers: dict[str, str]
) -> None:
    process, pigeon = toy
    app = create_app(process.settings, process=process)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=staff_headers
    ) as api:
        triggers = (
            await api.get(f"/integration/trigger/integrationtriggers/sourceid/{TOY_ID}")
        ).json()
        assert [(t["id"], t["triggerService"]) for t in triggers] == [
            (TOY_TRIGGER, "toyAppointmentTrigger")
        ]
        await _businesses(api)
        group = await _group(api)
        for number, clinic in ((NORTH, "North Clinic"), (SOUTH, "South Clinic")):
            r = await api.put(
                "/integration/add/businessintegrationmapping",
                json={
                    "businessNumber": number,
                    "integrationGroupId": group,
                    "integrationProperties": [_prop("toy.clinic", clinic)],
                },
            )
            assert r.status_code == 200, r.text
        # the spec decides: its match key is mandatory on a multi-location group's mapping
        r = await api.put(
            "/integration/add/businessintegrationmapping",
            json={
                "businessNumber": NORTH,
                "integrationGroupId": group,
                "integrationProperties": [],
            },
        )
        assert r.status_code in (409, 422)

    ctx = process.ctx
    async with ctx.db.transaction() as session:
        runs = await request_run(
            session,
            principal=Principal.system("test"),
            clock=ctx.clock,
            group_id=group,
            on=DAY + timedelta(days=1),
        )
    run_ids = [r.id for r in runs]
    finished = await run_all(ctx, process.engine, run_ids)
    assert [r.status for r in finished] == ["succeeded"]
    async with ctx.db.reader() as session:
        decided = {
            c.appointment_id: (c.decision, c.restriction_reason)
            for c in (await session.execute(select(CheckIn))).scalars()
        }
        requests = await requests_of_runs(session, run_ids=run_ids)
    assert decided == {
        "A1": ("eligible", None),
        "A2": ("restricted", "no_usable_contact"),
        "A3": ("eligible", None),
        "A4": ("restricted", "status_not_allowed"),
        "A5": ("restricted", "location_not_allowed"),
        "A6": ("eligible", None),
        "A7": ("restricted", "minor"),
    }
    assert len(requests) == 3

    outcomes = await process.sender.send_requests(requests)
    assert sorted(outcomes.values()) == ["sent", "sent", "sent"]
    carried = sorted((m.recipient, m.patient_first_name) for m in pigeon.carried)
    assert carried == [("+15715550103", "Ann"), ("+15715550106", "Rosa"), ("+17035550101", "Ann")]
    async with ctx.db.reader() as session:
        rows = (
            await session.execute(select(ReviewRequest.channel, ReviewRequest.message_id))
        ).all()
    assert {channel for channel, _ in rows} == {"pigeon"}
    assert all(message_id and message_id.startswith("pigeon-") for _, message_id in rows)

    # the same day again: decided once, requested once, nothing sent twice
    async with ctx.db.transaction() as session:
        again = await request_run(
            session,
            principal=Principal.system("test"),
            clock=ctx.clock,
            group_id=group,
            on=DAY + timedelta(days=1),
        )
    await run_all(ctx, process.engine, [r.id for r in again])
    async with ctx.db.reader() as session:
        assert await requests_of_runs(session, run_ids=[r.id for r in again]) == []
    assert len(pigeon.carried) == 3


async def test_the_spec_and_the_registered_channels_validate_the_configuration(
    toy: tuple[Process, Pigeon], staff_headers: dict[str, str]
) -> None:
    process, _ = toy
    app = create_app(process.settings, process=process)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=staff_headers
    ) as api:
        await _businesses(api)
        body = _group_body([_prop("review.channel", "pigeon")])  # toy.token missing
        r = await api.put("/integration/add/businessintegrationgroup", json=body)
        assert r.status_code == 422
        assert "toy.token" in r.json()["error"]["message"]
        unknown = [_prop("toy.token", "s3cret", secure=True), _prop("review.channel", "owl")]
        r = await api.put("/integration/add/businessintegrationgroup", json=_group_body(unknown))
        assert r.status_code == 422
        assert "registered channel" in r.json()["error"]["message"]
        # a choice is offered only while its channels are registered (no sms here)
        choice = [
            _prop("toy.token", "s3cret", secure=True),
            _prop("review.channel", "sms_then_email"),
        ]
        r = await api.put("/integration/add/businessintegrationgroup", json=_group_body(choice))
        assert r.status_code == 422
        assert "registered channel" in r.json()["error"]["message"]
        group = await _group(api)
        shown = (await api.get(f"/integration/businessintegrationgroup/id/{group}")).json()
        token = next(
            p for p in shown["integrationGroupProperties"] if p["propertyKey"] == "toy.token"
        )
        assert token["propertyValue"] == "********"  # the spec says secure, whatever was sent
        assert shown["unknownPropertyKeys"] == []


def _prop(key: str, value: str, *, secure: bool = False) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": secure}


def _group_body(properties: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "parentBusinessNumber": ENTERPRISE,
        "integrationSourceId": TOY_ID,
        "integrationGroupTriggers": [{"triggerId": TOY_TRIGGER, "triggerTypeId": 1}],
        "integrationGroupProperties": properties,
    }


async def _businesses(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/businesses", json={"businessNumber": ENTERPRISE, "name": "Toy Care"})
    assert r.status_code == 201, r.text
    for number, name in ((NORTH, "Toy North"), (SOUTH, "Toy South")):
        r = await api.post(
            "/api/businesses",
            json={"businessNumber": number, "name": name, "enterpriseNumber": ENTERPRISE},
        )
        assert r.status_code == 201, r.text


async def _group(api: httpx.AsyncClient) -> int:
    properties = [
        _prop("toy.token", "s3cret"),  # isSecure false: the spec makes it secure
        _prop("toy.status", "DONE"),
        _prop("review.channel", "pigeon"),
        _prop("review.url", "https://reviews.example/toy"),
    ]
    r = await api.put("/integration/add/businessintegrationgroup", json=_group_body(properties))
    assert r.status_code == 200, r.text
    group: int = r.json()["groupId"]
    return group


async def test_requests_go_by_the_channel_the_run_decided_for(
    toy: tuple[Process, Pigeon], staff_headers: dict[str, str]
) -> None:
    """The run checked contacts, opt-outs and the cap for its rules snapshot's channel: a
    change of ``review.channel`` while it reads applies to the next run, not to this one's
    requests."""
    process, _ = toy
    app = create_app(process.settings, process=process)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=staff_headers
    ) as api:
        await _businesses(api)
        group = await _group(api)
        r = await api.put(
            "/integration/add/businessintegrationmapping",
            json={
                "businessNumber": NORTH,
                "integrationGroupId": group,
                "integrationProperties": [_prop("toy.clinic", "North Clinic")],
            },
        )
        assert r.status_code == 200, r.text

        async def switch_to_email() -> None:
            url = f"/integration/businessintegrationgroup/id/{group}/properties/review.channel"
            switched = await api.put(url, json={"propertyValue": "email"})
            assert switched.status_code == 200, switched.text

        READ_HOOKS.append(switch_to_email)
        ctx = process.ctx
        async with ctx.db.transaction() as session:
            runs = await request_run(
                session,
                principal=Principal.system("test"),
                clock=ctx.clock,
                group_id=group,
                on=DAY + timedelta(days=1),
            )
        await run_all(ctx, process.engine, [r.id for r in runs])
    assert READ_HOOKS == []  # the switch happened during the read
    async with ctx.db.reader() as session:
        channels = (await session.execute(select(ReviewRequest.channel))).scalars().all()
    assert channels == ["pigeon"]  # A1 (A2 has no usable mobile): as decided
