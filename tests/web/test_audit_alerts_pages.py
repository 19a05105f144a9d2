"""The Audit log and Alerts pages over HTTP: filters, cursor paging, tenant scoping, and
no secret ever rendered."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from frontdesk.access.principal import Principal
from frontdesk.alerts.heartbeat import LISTENER, Heartbeat
from frontdesk.alerts.service import evaluate
from frontdesk.audit.service import record_event
from frontdesk.businesses.models import Business
from frontdesk.clock import ManualClock
from frontdesk.context import AppContext

from .conftest import ENTERPRISE, LOUDOUN, OTHER_SMB, SECRET_VALUES, LoginAs

pytestmark = pytest.mark.usefixtures("clock")
ROW = re.compile(r'<tr data-event-id="(\d+)">')


def event_ids(html: str) -> list[int]:
    return [int(m) for m in ROW.findall(html)]


async def business_id(ctx: AppContext, number: int) -> int:
    async with ctx.db.reader() as session:
        from sqlalchemy import select

        found = await session.execute(select(Business.id).where(Business.number == number))
        return int(found.scalar_one())


async def test_the_audit_log_filters_by_actor_action_and_business(
    client: httpx.AsyncClient, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    await login_as("support")
    everything = await client.get("/audit")
    assert everything.status_code == 200
    assert 'href="/audit"' in everything.text  # its nav entry
    assert "integration_group.create" in everything.text
    assert "business.create" in everything.text
    all_ids = event_ids(everything.text)
    assert all_ids == sorted(all_ids, reverse=True)

    created = await client.get("/audit", params={"action": "integration_group.create"})
    assert len(event_ids(created.text)) == 2
    assert set(re.findall(r'<td class="mono">([a-z_.]+)</td>', created.text)) == {
        "integration_group.create"
    }

    other = await client.get(
        "/audit", params={"action": "integration_group.create", "business": OTHER_SMB}
    )
    (only,) = event_ids(other.text)
    assert only in event_ids(created.text)
    assert "Lakeside Pediatrics" in other.text

    by_actor = await client.get("/audit", params={"actor": "SYSTEM:te"})  # part, any case
    actors = re.findall(r'<td class="mono">((?:system|user|api_key):[^<]*)</td>', by_actor.text)
    assert actors
    assert set(actors) == {"system:test"}
    assert len(event_ids(by_actor.text)) < len(all_ids)  # other actors are left out
    nobody = await client.get("/audit", params={"actor": "user:nobody"})
    assert event_ids(nobody.text) == []
    assert "No event matches." in nobody.text
    refused = await client.get("/audit", params={"business": "12"})
    assert refused.status_code == 422


async def test_the_audit_log_pages_by_cursor(
    client: httpx.AsyncClient, ctx: AppContext, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    async with ctx.db.transaction() as session:
        for n in range(60):
            await record_event(
                session,
                clock=ctx.clock,
                actor=Principal.system("paging"),
                action="test.page",
                target_type="test",
                target_id=str(n),
                business_id=None,
                details={"n": n},
            )
    await login_as("admin")
    first = await client.get("/audit", params={"action": "test.page"})
    ids = event_ids(first.text)
    assert len(ids) == 50
    older = re.search(r'href="(/audit\?[^"]*cursor=\d+)"', first.text)
    assert older, "no Older link"
    second = await client.get(older[1].replace("&amp;", "&"))
    rest = event_ids(second.text)
    assert len(rest) == 10
    assert max(rest) < min(ids)
    assert 'href="/audit?action=test.page"' in second.text  # back to the newest
    assert 'rel="next"' not in second.text


async def test_secrets_in_audit_details_are_never_rendered(
    client: httpx.AsyncClient, ctx: AppContext, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    # A row as an older or careless writer might have left it: the display still hides it.
    async with ctx.db.transaction() as session:
        event = await record_event(
            session,
            clock=ctx.clock,
            actor=Principal.system("legacy"),
            action="integration_group.properties.set",
            target_type="integration_group",
            target_id=str(tenants[str(OTHER_SMB)]),
            business_id=await business_id(ctx, OTHER_SMB),
            details={
                "properties": [
                    {"propertyKey": "PM_Password", "propertyValue": SECRET_VALUES[1]},
                    {"propertyKey": "pms_user_name", "propertyValue": "frontdesk"},
                ],
                "User_Name": SECRET_VALUES[0],
            },
        )
        event.details = {**event.details, "User_Name": SECRET_VALUES[0]}
    await login_as("admin")
    page = await client.get("/audit", params={"actor": "legacy"})
    assert event_ids(page.text) == [event.id]
    for secret in SECRET_VALUES:
        assert secret not in page.text
    assert "[redacted]" in page.text
    assert "frontdesk" in page.text  # a value that is not secret stays readable


async def test_a_practice_user_sees_only_its_own_audit_events(
    client: httpx.AsyncClient, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    await login_as("admin", business=ENTERPRISE, username="practice-admin")
    page = await client.get("/audit")
    assert page.status_code == 200
    assert "Lakeside Pediatrics" not in page.text
    assert "Loudoun" in page.text
    assert (await client.get("/audit", params={"business": OTHER_SMB})).status_code == 422
    own = await client.get("/audit", params={"business": LOUDOUN})
    assert own.status_code == 200
    users = await client.get("/audit", params={"action": "staff.create"})
    # a tenant id stays readable (the redaction once took "businessNumber" for an SSN)
    assert f'businessNumber</span> <span class="mono">{ENTERPRISE}</span>' in users.text


async def test_the_alerts_page_shows_open_alerts_to_staff_and_tenants_their_own(
    client: httpx.AsyncClient,
    ctx: AppContext,
    clock: ManualClock,
    login_as: LoginAs,
    make_user: object,
    tenants: dict[str, int],
) -> None:
    await Heartbeat(ctx, LISTENER).beat()
    clock.advance(timedelta(hours=1))
    await evaluate(ctx)
    await login_as("viewer")
    page = await client.get("/alerts")
    assert page.status_code == 200
    assert 'href="/alerts"' in page.text
    assert "Listener or worker quiet" in page.text
    assert "MLLP listener" in page.text
    assert "1 open" in page.text
    usage = await client.get("/usage")  # the usage dashboard carries the same panel
    assert usage.status_code == 200
    assert "MLLP listener" in usage.text
    assert "1 open" in usage.text
    await Heartbeat(ctx, LISTENER).beat()
    await evaluate(ctx)
    page = await client.get("/alerts")
    assert "0 open" in page.text
    assert "resolved" in page.text
    client.cookies.clear()
    await login_as("admin", business=ENTERPRISE, username="practice-admin")
    tenant_page = await client.get("/alerts")
    assert tenant_page.status_code == 200
    assert "MLLP listener" not in tenant_page.text  # the installation's, not a tenant's
