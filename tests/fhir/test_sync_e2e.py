"""A FHIR group configured through the integration API syncs from the FHIR sandbox: rows
route to locations by Location id, every appointment's decision is recorded with its reason,
each eligible request is sent once — with a token that dies mid-run, a 429 and, in the
second test, 1,000+ appointments over many pages."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from tests.fhir.conftest import FAST_RETRY, demo_client

from frontdesk.access.principal import Principal
from frontdesk.composition import Process, Role, build_process, builtin_sources
from frontdesk.connectors.base import Connector
from frontdesk.connectors.fhir.connector import FhirConnector
from frontdesk.connectors.limits import ConcurrencyLimits
from frontdesk.context import AppContext
from frontdesk.delivery.channel import ChannelPlugin, OutgoingMessage, SendResult
from frontdesk.delivery.reach import Reach
from frontdesk.delivery.registry import builtin_channels
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.ledger import requests_of_runs
from frontdesk.plugins import Plugins
from frontdesk.sandbox.fhir.app import FhirSandbox, create_fhir_app
from frontdesk.sandbox.fhir.config import (
    DEMO_CLIENT_ID,
    Fault,
    FhirSandboxConfig,
    PracticeShape,
    demo_private_key,
)
from frontdesk.sandbox.fhir.store import appointment, patient
from frontdesk.server.app import create_app
from frontdesk.settings import Settings
from frontdesk.sync.foreground import run_all
from frontdesk.sync.service import request_run

ENTERPRISE, NORTH, SOUTH = 200000000000001, 200000000000002, 200000000000003
DAY = date(2026, 3, 2)
ZONE = ZoneInfo("America/New_York")
FHIR_ID, FHIR_TRIGGER = 33, 57


@dataclass
class Pigeon:
    name: str = "pigeon"
    reaches: Reach = Reach.MOBILE
    carried: list[OutgoingMessage] = field(default_factory=list)

    def message_id(self, ledger_key: str) -> str | None:
        return f"pigeon-{ledger_key[-12:]}"

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.carried.append(message)
        return SendResult(self.name, message.ledger_key, self.message_id(message.ledger_key) or "")

    async def reconcile(self, ledger_key: str, message_id: str | None) -> bool | None:
        return any(m.ledger_key == ledger_key for m in self.carried)


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute), ZONE)


def small_practice(sandbox: FhirSandbox) -> None:
    """Three locations (West is not mapped) and one appointment per rule outcome."""
    for lid, name in (("L1", "North Clinic"), ("L2", "South Clinic"), ("L3", "West Clinic")):
        sandbox.store.add({"resourceType": "Location", "id": lid, "name": name})
    sandbox.store.add(patient("p1", mobile="(703) 555-0101", email="ann@example.org"))
    sandbox.store.add(patient("p2", email="ben@example.org"))  # no mobile
    sandbox.store.add(patient("p3", birth_date=date(2016, 5, 1), mobile="+15715550103"))
    sandbox.store.add(patient("p4", mobile="+1 571 555 0104"))
    sandbox.store.add(patient("p5", mobile="+15715550105"))
    rows = [
        ("a1", "fulfilled", "L1", "p1"),
        ("a2", "fulfilled", "L1", "p2"),
        ("a3", "fulfilled", "L2", "p3"),
        ("a4", "noshow", "L2", "p4"),
        ("a5", "cancelled", "L2", "p4"),
        ("a6", "arrived", "L1", "p5"),
        ("a7", "fulfilled", "L3", "p5"),
        ("a8", "fulfilled", "L2", "p4"),
        ("a9", "entered-in-error", "L1", "p1"),
        ("a10", "fulfilled", "L1", "p-unknown"),
    ]
    for number, (aid, status, lid, pid) in enumerate(rows):
        sandbox.store.add(
            appointment(
                aid, start=_at(9, number * 5), status=status, patient_id=pid, location_id=lid
            )
        )


EXPECTED = {
    "a1": ("eligible", None),
    "a2": ("restricted", "no_usable_contact"),
    "a3": ("restricted", "minor"),
    "a4": ("restricted", "status_not_allowed"),
    "a5": ("restricted", "status_not_allowed"),
    "a6": ("restricted", "status_not_allowed"),
    "a7": ("restricted", "location_not_allowed"),
    "a8": ("eligible", None),
    "a9": ("restricted", "status_not_allowed"),
    "a10": ("restricted", "no_usable_contact"),
}


def _connectors(sandbox: FhirSandbox) -> Any:
    transport = httpx.ASGITransport(app=create_fhir_app(sandbox))
    limits = ConcurrencyLimits(total=8, per_group=4)

    async def no_sleep(_: float) -> None:
        return None

    def build(source: str, properties: Mapping[str, str], settings: Settings) -> Connector:
        assert source == "FHIR_R4"
        return FhirConnector.from_properties(
            properties,
            settings,
            transport=transport,
            limits=limits,
            retry=FAST_RETRY,
            sleep=no_sleep,
        )

    return build


@pytest.fixture
def sandbox() -> FhirSandbox:
    return FhirSandbox(FhirSandboxConfig(seed=1, clients=(demo_client(),), synthetic=False))


@pytest.fixture
async def fhir_process(
    ctx: AppContext, sandbox: FhirSandbox
) -> AsyncIterator[tuple[Process, Pigeon]]:
    pigeon = Pigeon()
    channels = [
        *builtin_channels(ctx.settings, clock=ctx.clock),
        ChannelPlugin("pigeon", Reach.MOBILE, lambda: pigeon),
    ]
    plugins = Plugins.of(builtin_sources(), channels)
    process = build_process(ctx, Role.CLI, plugins=plugins, connectors=_connectors(sandbox))
    await process.start()
    try:
        yield process, pigeon
    finally:
        await process.stop()


def _prop(key: str, value: str, *, secure: bool = False) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": secure}


async def _configure(process: Process, headers: dict[str, str], locations: dict[int, str]) -> int:
    app = create_app(process.settings, process=process)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    ) as api:
        triggers = (
            await api.get(f"/integration/trigger/integrationtriggers/sourceid/{FHIR_ID}")
        ).json()
        assert [(t["id"], t["triggerService"]) for t in triggers] == [
            (FHIR_TRIGGER, "fhirAppointmentTriggerService")
        ]
        r = await api.post("/api/businesses", json={"businessNumber": ENTERPRISE, "name": "Care"})
        assert r.status_code == 201, r.text
        for number in locations:
            r = await api.post(
                "/api/businesses",
                json={
                    "businessNumber": number,
                    "name": f"Care {number % 10}",
                    "enterpriseNumber": ENTERPRISE,
                },
            )
            assert r.status_code == 201, r.text
        body = {
            "parentBusinessNumber": ENTERPRISE,
            "integrationSourceId": FHIR_ID,
            "integrationGroupTriggers": [{"triggerId": FHIR_TRIGGER, "triggerTypeId": 1}],
            "integrationGroupProperties": [
                _prop("fhir.base.url", "http://fhir.test/fhir"),
                _prop("fhir.client.id", DEMO_CLIENT_ID),
                _prop("fhir.private.key", demo_private_key(1), secure=True),
                _prop("review.channel", "pigeon"),
                _prop("review.url", "https://reviews.example/care"),
            ],
        }
        r = await api.put("/integration/add/businessintegrationgroup", json=body)
        assert r.status_code == 200, r.text
        group: int = r.json()["groupId"]
        shown = (await api.get(f"/integration/businessintegrationgroup/id/{group}")).json()
        key = next(
            p for p in shown["integrationGroupProperties"] if p["propertyKey"] == "fhir.private.key"
        )
        assert key["propertyValue"] == "********"
        for number, location_id in locations.items():
            r = await api.put(
                "/integration/add/businessintegrationmapping",
                json={
                    "businessNumber": number,
                    "integrationGroupId": group,
                    "integrationProperties": [_prop("fhir.location.id", location_id)],
                },
            )
            assert r.status_code == 200, r.text
    return group


async def _sync(process: Process, group: int) -> list[int]:
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
    assert [r.status for r in finished] == ["succeeded"], [r.error_message for r in finished]
    return run_ids


async def _decisions(ctx: AppContext) -> dict[str, tuple[str, str | None]]:
    async with ctx.db.reader() as session:
        return {
            c.appointment_id: (c.decision, c.restriction_reason)
            for c in (await session.execute(select(CheckIn))).scalars()
        }


async def test_a_fhir_group_syncs_routes_decides_and_sends_once(
    fhir_process: tuple[Process, Pigeon], sandbox: FhirSandbox, staff_headers: dict[str, str]
) -> None:
    process, pigeon = fhir_process
    small_practice(sandbox)
    sandbox.update_knobs(default_page_size=3, max_page_size=3)  # 10 rows: 4 pages
    sandbox.add_fault(Fault(status=401, target="next", after=1))  # the token dies mid-run
    sandbox.add_fault(Fault(status=429, target="next", retry_after_s=0.01))
    group = await _configure(process, staff_headers, {NORTH: "L1", SOUTH: "L2"})

    run_ids = await _sync(process, group)
    assert await _decisions(process.ctx) == EXPECTED
    assert sandbox.auth.issued == 2  # one fresh token after the 401
    assert sandbox.requests["next"] == 3 + 2  # the 401 and the 429 were retried
    async with process.ctx.db.reader() as session:
        requests = await requests_of_runs(session, run_ids=run_ids)
    assert len(requests) == 2
    outcomes = await process.sender.send_requests(requests)
    assert sorted(outcomes.values()) == ["sent", "sent"]
    assert sorted(m.recipient for m in pigeon.carried) == ["+15715550104", "+17035550101"]

    # the same day again: decided once, requested once, nothing sent twice
    again = await _sync(process, group)
    async with process.ctx.db.reader() as session:
        assert await requests_of_runs(session, run_ids=again) == []
    assert len(pigeon.carried) == 2


async def test_a_thousand_appointments_over_many_pages(
    ctx: AppContext, staff_headers: dict[str, str]
) -> None:
    shape = PracticeShape(locations_per_practice=3, appointments_per_location_day=350)
    big = FhirSandbox(FhirSandboxConfig(seed=7, clients=(demo_client(),), shape=shape))
    big.update_knobs(default_page_size=100, max_page_size=100)
    big.add_fault(Fault(status=503, target="next", after=4))
    plugins = Plugins.of(builtin_sources(), [ChannelPlugin("pigeon", Reach.MOBILE, Pigeon)])
    process = build_process(ctx, Role.CLI, plugins=plugins, connectors=_connectors(big))
    await process.start()
    try:
        group = await _configure(process, staff_headers, {NORTH: "loc-1-1", SOUTH: "loc-1-2"})
        run_ids = await _sync(process, group)
        decided = await _decisions(ctx)
        big.store.ensure_days(DAY, DAY)
        day = {
            rid: r
            for rid, r in big.store.appointments.items()
            if rid.startswith(f"appt-{DAY:%Y%m%d}")
        }
        assert len(day) == 1050
        assert set(decided) == set(day)  # every appointment recorded, none twice
        assert big.requests["Appointment"] == 1
        assert big.requests["next"] == 10 + 1
        by_reason = Counter(reason for _, reason in decided.values())
        unmapped = sum(1 for rid in day if "-loc-1-3-" in rid)
        assert by_reason["location_not_allowed"] == unmapped
        mapped_not_fulfilled = sum(
            1 for rid, r in day.items() if "-loc-1-3-" not in rid and r["status"] != "fulfilled"
        )
        assert by_reason["status_not_allowed"] == mapped_not_fulfilled
        async with ctx.db.reader() as session:
            requests = await requests_of_runs(session, run_ids=run_ids)
        eligible = sum(1 for decision, _ in decided.values() if decision == "eligible")
        assert len(requests) == eligible > 150
    finally:
        await process.stop()
