"""Fixtures of the integration API tests: businesses, the guide's payloads, group helpers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.integrations.http_lenient_json import relax_json_whitespace
from frontdesk.integrations.models import IntegrationSource, IntegrationTrigger

FIXTURES = Path(__file__).parent / "fixtures"

ENTERPRISE = 149547879572938  # the guide's parentBusinessNumber
LOUDOUN = 149547899859217  # the guide's businessNumber
FAIRFAX = 149547899859218
LAKESIDE = 149547800000001  # another tenant: an SMB
HILLTOP = 149547800000002  # another tenant: an enterprise with a location
HILLTOP_NORTH = 149547800000003
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # 07:00 in New York, 06:00 in Chicago

SECRETS = ("10220c34e:0010220^1^", "F5trgFre5")

Headers = dict[str, str]


class Guide:
    """The support guide's payloads and samples (``fixtures/``), and what tests do with them."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def raw(self, name: str) -> bytes:
        """A guide payload exactly as written (no-break spaces and all)."""
        return (FIXTURES / name).read_bytes()

    def json(self, name: str) -> Any:
        return json.loads(relax_json_whitespace(self.raw(name)))

    def group_body(self, parent: int = ENTERPRISE, **changes: Any) -> dict[str, Any]:
        """The guide's create-group payload, parsed, for ``parent``, with ``changes``."""
        body: dict[str, Any] = self.json("create_group.request.json")
        body["parentBusinessNumber"] = parent
        body.update(changes)
        return body

    async def set_next_group_id(self, next_id: int) -> None:
        """Make the next integration group get ``next_id`` (the guide's samples use 1314)."""
        async with self.ctx.db.transaction() as session:
            if self.ctx.db.is_sqlite:
                await session.execute(
                    text("DELETE FROM sqlite_sequence WHERE name = 'integration_groups'")
                )
                await session.execute(
                    text(
                        "INSERT INTO sqlite_sequence (name, seq) VALUES ('integration_groups', :s)"
                    ),
                    {"s": next_id - 1},
                )
            else:
                await session.execute(
                    text("SELECT setval(pg_get_serial_sequence('integration_groups', 'id'), :s)"),
                    {"s": next_id - 1},
                )


@pytest.fixture
def guide(ctx: AppContext) -> Guide:
    return Guide(ctx)


@pytest.fixture
def clock(ctx: AppContext) -> ManualClock:
    manual = ManualClock(NOW)
    ctx.clock = manual
    return manual


@pytest.fixture
async def tenants(client: httpx.AsyncClient, staff_headers: Headers, clock: ManualClock) -> None:
    """Riverside (enterprise, Loudoun in Chicago, Fairfax), Lakeside (SMB), Hilltop."""
    for body in (
        {"businessNumber": ENTERPRISE, "name": "Riverside"},
        {
            "businessNumber": LOUDOUN,
            "name": "Loudoun Office",
            "enterpriseNumber": ENTERPRISE,
            "timezone": "America/Chicago",
        },
        {"businessNumber": FAIRFAX, "name": "Fairfax Office", "enterpriseNumber": ENTERPRISE},
        {"businessNumber": LAKESIDE, "name": "Lakeside"},
        {"businessNumber": HILLTOP, "name": "Hilltop"},
        {"businessNumber": HILLTOP_NORTH, "name": "North", "enterpriseNumber": HILLTOP},
    ):
        r = await client.post("/api/businesses", json=body, headers=staff_headers)
        assert r.status_code == 201, r.text


@pytest.fixture
async def extra_catalog(ctx: AppContext) -> None:
    """More catalog rows, added as data: a second Allscripts trigger and a beta source."""
    async with ctx.db.transaction() as session:
        session.add(
            IntegrationSource(
                id=99,
                name="TESTPMS",
                source_category="Healthcare",
                integration_type="Birdeye API",
                oauth_enabled=False,
                lifecycle="beta",
            )
        )
        await session.flush()
        for trigger_id, source_id, service in (
            (57, 32, "allscriptsRecallTriggerService"),
            (90, 99, "testPmsAppointmentTriggerService"),
        ):
            session.add(
                IntegrationTrigger(
                    id=trigger_id,
                    source_id=source_id,
                    trigger_service=service,
                    display_name=service,
                    description="test trigger",
                    active=True,
                    trigger_type_id=1,
                    action_group_id=2,
                )
            )


CreateGroup = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def create_group(client: httpx.AsyncClient, staff_headers: Headers, guide: Guide) -> CreateGroup:
    """PUT the guide's group payload (for ``parent``, with changes); returns the group."""

    async def create(
        parent: int = ENTERPRISE, headers: Headers | None = None, **changes: Any
    ) -> dict[str, Any]:
        r = await client.put(
            "/integration/add/businessintegrationgroup",
            json=guide.group_body(parent, **changes),
            headers=headers or staff_headers,
        )
        assert r.status_code == 200, r.text
        group: dict[str, Any] = r.json()
        return group

    return create


CreateMapping = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def map_location(client: httpx.AsyncClient, staff_headers: Headers) -> CreateMapping:
    """PUT a mapping; ``location_name`` adds ``allscripts.location.name``."""

    async def create(
        group_id: int,
        business: int,
        location_name: str | None = None,
        headers: Headers | None = None,
        **fields: Any,
    ) -> httpx.Response:
        body: dict[str, Any] = {"businessNumber": business, "integrationGroupId": group_id}
        body.update(fields)
        if location_name is not None:
            body.setdefault("integrationProperties", []).append(
                {"propertyKey": "allscripts.location.name", "propertyValue": location_name}
            )
        return await client.put(
            "/integration/add/businessintegrationmapping",
            json=body,
            headers=headers or staff_headers,
        )

    return create
