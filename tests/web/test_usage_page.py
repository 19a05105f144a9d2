"""The usage page and ``GET /api/usage``: figures from the usage table, scoped like every
page (a business-scoped user sees its enterprise and locations, never another tenant's usage
nor work of no business; another tenant's business number is 404), charts drawn as SVG."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
from sqlalchemy import select

from frontdesk.access.principal import Principal
from frontdesk.access.service import create_api_key
from frontdesk.businesses.models import Business
from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.usage.flush import add_counts
from frontdesk.usage.meter import Key

from .conftest import ENTERPRISE, LOUDOUN, OTHER_SMB, LoginAs

TODAY = date(2026, 1, 5)  # the web tests' clock


async def seed(ctx: AppContext) -> dict[int, int]:
    """Two days of usage for Loudoun, the enterprise, the other tenant and no business."""
    async with ctx.db.reader() as session:
        ids = {
            number: id_
            for number, id_ in await session.execute(select(Business.number, Business.id))
        }
    yesterday = TODAY - timedelta(days=1)
    counts: dict[Key, list[int]] = {
        (yesterday, ids[LOUDOUN], "checkin", "eligible"): [5, 0],
        (TODAY, ids[LOUDOUN], "checkin", "eligible"): [3, 0],
        (TODAY, ids[LOUDOUN], "checkin", "restricted:opted_out"): [2, 0],
        (TODAY, ids[LOUDOUN], "review_request", "email:sent"): [7, 0],
        (TODAY, ids[LOUDOUN], "review_request", "email:failed"): [1, 0],
        (TODAY, ids[ENTERPRISE], "sync_run", "succeeded"): [2, 9000],
        (TODAY, ids[ENTERPRISE], "source_call", "ALLSCRIPTS GetSchedule"): [4, 0],
        (TODAY, ids[ENTERPRISE], "source_error", "ALLSCRIPTS GetSchedule"): [1, 0],
        (TODAY, ids[ENTERPRISE], "integration_api", "api_key:ops"): [11, 0],
        (TODAY, ids[OTHER_SMB], "checkin", "eligible"): [100, 0],
        (TODAY, ids[OTHER_SMB], "integration_api", "api_key:lakeside"): [50, 0],
        (TODAY, 0, "answering_api", "agent1"): [9, 0],
        (TODAY, 0, "ticket", "created"): [4, 0],
    }
    async with ctx.db.transaction() as session:
        await add_counts(session, counts)
        await add_counts(session, {(TODAY, ids[LOUDOUN], "checkin", "eligible"): [1, 0]})
    return ids


def stat(html: str, kind: str) -> int:
    found = re.search(rf'data-kind="{kind}">(\d+)<', html)
    assert found is not None, kind
    return int(found.group(1))


async def test_staff_see_every_business_and_work_of_none(
    ctx: AppContext,
    clock: ManualClock,
    tenants: dict[str, int],
    login_as: LoginAs,
    client: httpx.AsyncClient,
) -> None:
    await seed(ctx)
    await login_as("support")
    page = await client.get("/usage")
    assert page.status_code == 200
    html = page.text
    assert stat(html, "eligible") == 5 + 4 + 100  # flushes add up: 3 + 1 today
    assert stat(html, "restricted") == 2
    assert stat(html, "integration_api") == 61
    assert stat(html, "answering_api") == 9
    assert stat(html, "ticket") == 4
    assert stat(html, "sent") == 7
    assert stat(html, "failed") == 1
    assert stat(html, "source_error") == 1
    assert html.count('<svg class="chart"') == 4  # activity, check-ins, requests, funnel
    assert "Check-ins by decision per day, stacked: eligible 109, opted out 2" in html
    assert 'href="/usage"' in html  # in the navigation


async def test_a_business_user_sees_only_its_own(
    ctx: AppContext,
    clock: ManualClock,
    tenants: dict[str, int],
    login_as: LoginAs,
    client: httpx.AsyncClient,
) -> None:
    await seed(ctx)
    await login_as("viewer", business=ENTERPRISE)
    html = (await client.get("/usage")).text
    assert stat(html, "eligible") == 9
    assert stat(html, "integration_api") == 11
    assert stat(html, "answering_api") == 0
    assert stat(html, "ticket") == 0
    assert "Lakeside" not in html
    one = (await client.get(f"/usage?business={LOUDOUN}")).text
    assert stat(one, "eligible") == 9
    assert stat(one, "integration_api") == 0
    assert stat(one, "sync_run") == 0
    today_only = (await client.get(f"/usage?business={LOUDOUN}&from={TODAY}&to={TODAY}")).text
    assert stat(today_only, "eligible") == 4
    assert (await client.get(f"/usage?business={OTHER_SMB}")).status_code == 404
    assert (await client.get("/usage?from=yesterday")).status_code == 422
    assert (
        await client.get(f"/usage?from={TODAY}&to={TODAY - timedelta(days=1)}")
    ).status_code == 422


async def test_the_api_is_scoped_like_the_page(
    ctx: AppContext, clock: ManualClock, tenants: dict[str, int], client: httpx.AsyncClient
) -> None:
    await seed(ctx)
    async with ctx.db.transaction() as session:
        key = await create_api_key(
            session,
            principal=Principal.system("test"),
            clock=ctx.clock,
            name="lakeside",
            business_number=OTHER_SMB,
        )
    headers = {"Authorization": f"Bearer {key.secret}"}
    assert (await client.get("/api/usage")).status_code == 401
    r = await client.get("/api/usage", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totals"]["checkin"] == 100
    assert body["subjects"]["integration_api"] == {"api_key:lakeside": 50}
    assert body["totals"]["ticket"] == 0
    assert body["to"] == TODAY.isoformat()
    assert len(body["days"]) == 30
    assert body["series"]["checkin"]["eligible"][-1] == 100
    assert (await client.get(f"/api/usage?business={LOUDOUN}", headers=headers)).status_code == 404
