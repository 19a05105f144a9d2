"""An HL7-configured practice: an enterprise with two locations, an HL7V2 group for facility
NORTHSIDE (locations NORTH-PC and SOUTH-PC), a started CLI process and a listener on a free
port of this test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.hl7v2.feeds import FACILITY

from frontdesk.composition import Process, Role, build_process, mllp_listener
from frontdesk.context import AppContext
from frontdesk.hl7.listener import MllpListener
from frontdesk.server.app import create_app

ENTERPRISE, NORTH, SOUTH = 200000000000001, 200000000000002, 200000000000003
HL7_SOURCE, HL7_TRIGGER = 34, 58


@dataclass
class Practice:
    process: Process
    listener: MllpListener
    api: httpx.AsyncClient
    group_id: int

    @property
    def ctx(self) -> AppContext:
        return self.process.ctx

    @property
    def port(self) -> int:
        return self.listener.port


def prop(key: str, value: str) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": False}


async def configure(api: httpx.AsyncClient, *, facility: str = FACILITY) -> int:
    """Businesses, the HL7 group and two mappings through the integration API."""
    r = await api.post("/api/businesses", json={"businessNumber": ENTERPRISE, "name": "Northside"})
    assert r.status_code == 201, r.text
    for number, name in ((NORTH, "North Primary Care"), (SOUTH, "South Primary Care")):
        r = await api.post(
            "/api/businesses",
            json={"businessNumber": number, "name": name, "enterpriseNumber": ENTERPRISE},
        )
        assert r.status_code == 201, r.text
    triggers = (
        await api.get(f"/integration/trigger/integrationtriggers/sourceid/{HL7_SOURCE}")
    ).json()
    assert [t["id"] for t in triggers] == [HL7_TRIGGER]
    assert triggers[0]["integrationTriggerType"] == [{"id": 1, "name": "JOB"}]
    type_id = triggers[0]["integrationTriggerType"][0]["id"]
    r = await api.put(
        "/integration/add/businessintegrationgroup",
        json={
            "parentBusinessNumber": ENTERPRISE,
            "integrationSourceId": HL7_SOURCE,
            "integrationGroupTriggers": [{"triggerId": HL7_TRIGGER, "triggerTypeId": type_id}],
            "integrationGroupProperties": [
                prop("hl7.sending.facility", facility),
                prop("review.channel", "email"),
                prop("review.url", "https://reviews.example/northside"),
            ],
        },
    )
    assert r.status_code == 200, r.text
    group_id = int(r.json()["groupId"])
    for number, location in ((NORTH, "NORTH-PC"), (SOUTH, "SOUTH-PC")):
        r = await api.put(
            "/integration/add/businessintegrationmapping",
            json={
                "businessNumber": number,
                "integrationGroupId": group_id,
                "integrationProperties": [prop("hl7.location.id", location)],
            },
        )
        assert r.status_code == 200, r.text
    return group_id


@pytest.fixture
async def practice(ctx: AppContext, staff_headers: dict[str, str]) -> AsyncIterator[Practice]:
    process = build_process(ctx, Role.CLI)
    await process.start()
    listener = mllp_listener(ctx, host="127.0.0.1", port=0)
    await listener.start()
    app = create_app(ctx.settings, process=process)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers=staff_headers
        ) as api:
            group_id = await configure(api)
            yield Practice(process, listener, api, group_id)
    finally:
        await listener.stop()
        await process.stop()
