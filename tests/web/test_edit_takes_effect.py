"""Edits made in the dashboard take effect on the next run (sync runs against the sandbox).

The group starts with one allowed status, one location whose name the EHR never sends and
one location left out. A run decides; support then edits through the forms (HTTP) — allowed
statuses, the location renamed, the other location added, dry run on it — and the next run
decides by the new settings. Removing the group keeps every decision and stops the runs.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from frontdesk.access.principal import Principal
from frontdesk.clock import ManualClock
from frontdesk.composition import Role, build_process, builtin_plugins
from frontdesk.context import AppContext
from frontdesk.engagement.checkin_models import CheckIn
from frontdesk.engagement.reasons import Reason
from frontdesk.integrations.catalog import TriggerRef
from frontdesk.integrations.groups import PropertyInput, create_group
from frontdesk.integrations.mappings import MappingChanges, create_mapping, list_mappings
from frontdesk.sandbox.unity import Sandbox
from frontdesk.sync.dispatcher import schedule_due
from frontdesk.sync.service import request_run

from .conftest import ASHBURN, ENTERPRISE, LOUDOUN, SECRET_VALUES, LoginAs
from .test_add_integration import practice  # noqa: F401  (the enterprise and its locations)
from .test_edit_integration import group_form, location_form

STATUS = "allscripts.appointment.status"
NAME = "allscripts.location.name"


@pytest.fixture
async def group_id(ctx: AppContext, clock: ManualClock, practice: None) -> int:  # noqa: F811
    system = Principal.system("test")
    plugins = builtin_plugins(ctx)
    async with ctx.db.transaction() as session:
        group = await create_group(
            session,
            principal=system,
            clock=ctx.clock,
            secrets=ctx.secrets,
            plugins=plugins,
            parent_business_number=ENTERPRISE,
            source_id=32,
            triggers=[TriggerRef(56)],
            properties=[
                PropertyInput("User_Name", SECRET_VALUES[0], True),
                PropertyInput("PM_Password", SECRET_VALUES[1], True),
                PropertyInput("pms_user_name", "frontdesk"),
                PropertyInput(STATUS, "Acknowledge"),
                PropertyInput("review.url", "https://reviews.example.org/loudoun"),
            ],
        )
        await create_mapping(
            session,
            principal=system,
            clock=ctx.clock,
            secrets=ctx.secrets,
            plugins=plugins,
            group_id=group.id,
            business_number=LOUDOUN,
            changes=MappingChanges(properties=[PropertyInput(NAME, "Loudoun Ofice")]),
        )
        return group.id


async def run(ctx: AppContext, group_id: int, day: date) -> list[Any]:
    """One run of the group acting as ``day`` (reads the day before); its check-ins."""
    engine = build_process(ctx, Role.CLI).engine
    async with ctx.db.transaction() as session:
        created = await request_run(
            session, principal=Principal.system("test"), clock=ctx.clock, group_id=group_id, on=day
        )
        ids = [r.id for r in created]
    for run_id in ids:
        outcome = await engine.attempt(run_id)
        assert outcome is not None
        assert outcome.status == "succeeded", outcome
    async with ctx.db.reader() as session:
        query = select(CheckIn.__table__).where(CheckIn.run_id.in_(ids))
        return list((await session.execute(query)).all())


async def test_edits_decide_the_next_run_and_removal_keeps_history(
    client: httpx.AsyncClient,
    ctx: AppContext,
    clock: ManualClock,
    login_as: LoginAs,
    unity_sandbox: Sandbox,
    group_id: int,
) -> None:
    first = await run(ctx, group_id, date(2026, 1, 6))
    assert first
    assert all(c.mapping_id is None for c in first)  # "Loudoun Ofice": nothing routes to it
    assert {c.restriction_reason for c in first} == {Reason.LOCATION_NOT_ALLOWED}

    token = await login_as("support")
    async with ctx.db.reader() as session:
        (mapping,) = await list_mappings(session, group_id=group_id)
        loudoun = mapping.id
    edits = [
        (
            f"/integrations/groups/{group_id}/properties",
            group_form(token, **{f"g:{STATUS}": "Acknowledge,Confirmed"})
            | {"g:review.url": "https://reviews.example.org/loudoun"},
        ),
        (
            f"/integrations/mappings/{loudoun}",
            location_form(token, f"m:{loudoun}:", name="Loudoun Office"),
        ),
        (
            f"/integrations/groups/{group_id}/mappings",
            location_form(token, "new:", name="Ashburn Office", dry_run="on")
            | {"new:business": str(ASHBURN)},
        ),
    ]
    for url, data in edits:
        response = await client.post(url, data=data)
        assert response.status_code == 303, (url, response.text)

    second = await run(ctx, group_id, date(2026, 1, 7))
    async with ctx.db.reader() as session:
        mappings = {
            m.business.number: m.id for m in await list_mappings(session, group_id=group_id)
        }
    by_location = {n: [c for c in second if c.mapping_id == m] for n, m in mappings.items()}
    assert by_location[LOUDOUN], "the renamed location gets its rows"
    assert by_location[ASHBURN], "the added location gets its rows"
    for checkin in by_location[LOUDOUN]:
        allowed = checkin.pms_appointment_status in ("Acknowledge", "Confirmed")
        restricted_by_status = checkin.restriction_reason == Reason.STATUS_NOT_ALLOWED
        assert allowed != restricted_by_status, checkin.pms_appointment_status
    assert any(c.pms_appointment_status == "Confirmed" for c in by_location[LOUDOUN])
    assert any(c.restriction_reason == Reason.DRY_RUN for c in by_location[ASHBURN])
    assert all(c.decision == "restricted" for c in by_location[ASHBURN])  # dry run sends nothing

    # Remove the group: its decisions stay, nothing is scheduled for it again.
    async with ctx.db.reader() as session:
        kept = await session.scalar(select(func.count()).select_from(CheckIn))
    removed = await client.post(
        f"/integrations/groups/{group_id}/remove", data={"csrf_token": token, "confirm": "remove"}
    )
    assert removed.status_code == 303
    clock.advance(timedelta(days=3))
    async with ctx.db.transaction() as session:
        assert await schedule_due(session, now=clock.now()) == []
    async with ctx.db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == kept
