"""Roles, tenants and what the Integrations pages show, over HTTP."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from frontdesk.access.principal import Principal
from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.integrations.groups import set_group_status
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.staff.roles import (
    PATIENT_DETAIL_MASK,
    ROLES,
    Permission,
    can,
    can_configure,
    can_see_patient_details,
    patient_detail,
)
from frontdesk.sync.models import SyncRun

from .conftest import ENTERPRISE, OTHER_SMB, SECRET_VALUES, LoginAs, login

pytestmark = pytest.mark.usefixtures("clock")

MATRIX = {
    # permission: roles that have it
    Permission.VIEW_INTEGRATIONS: {"admin", "support", "viewer"},
    Permission.CONFIGURE_INTEGRATIONS: {"admin", "support"},
    Permission.RUN_SYNC: {"admin", "support"},
    Permission.VIEW_CHECKINS: {"admin", "support", "viewer"},
    Permission.VIEW_OUTBOX: {"admin", "support", "viewer"},
    Permission.VIEW_TICKETS: {"admin", "support", "nurse", "viewer"},
    Permission.WORK_TICKETS: {"admin", "nurse"},
    Permission.SEE_PATIENT_DETAILS: {"admin", "support", "nurse"},
    Permission.MANAGE_USERS: {"admin"},
}


@pytest.mark.parametrize("permission", list(Permission), ids=str)
def test_roles_matrix(permission: Permission) -> None:
    assert {role for role in ROLES if can(role, permission)} == MATRIX[permission]


def test_viewers_never_see_patient_details() -> None:
    assert not can_see_patient_details("viewer")
    assert patient_detail("viewer", "Jane Roe") == PATIENT_DETAIL_MASK
    assert patient_detail("nurse", "Jane Roe") == "Jane Roe"
    assert patient_detail("viewer", "") == ""
    assert not can_configure("nurse")
    assert not can("root", Permission.VIEW_INTEGRATIONS)  # unknown roles get nothing


async def test_viewer_reads_integrations_but_cannot_configure(
    client: httpx.AsyncClient, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    token = await login_as("viewer")
    listing = await client.get("/integrations")
    assert listing.status_code == 200
    assert "Loudoun Valley Medical Group" in listing.text
    assert "Lakeside Pediatrics" in listing.text
    assert "Add integration" not in listing.text
    group = tenants[str(ENTERPRISE)]
    detail = await client.get(f"/integrations/groups/{group}")
    assert detail.status_code == 200
    assert "Test connection" not in detail.text
    assert "reauthorize" not in detail.text
    for path in ("/integrations/new", "/integrations/new/sources", "/integrations/new/setup"):
        refused = await client.get(path)
        assert refused.status_code == 403, path
        assert "Not allowed" in refused.text
    assert "Run now" not in detail.text
    for path in (
        f"/integrations/groups/{group}/check",
        f"/integrations/groups/{group}/run",
        "/integrations/new",
    ):
        assert (await client.post(path, data={"csrf_token": token})).status_code == 403


async def test_nurse_has_no_integration_pages(
    client: httpx.AsyncClient, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    await login_as("nurse")
    home = await client.get("/", follow_redirects=True)
    assert home.status_code == 200
    assert home.url.path == "/tickets"  # a nurse's page
    assert "Integrations" not in home.text
    assert (await client.get("/integrations")).status_code == 403
    assert (await client.get(f"/integrations/groups/{tenants[str(ENTERPRISE)]}")).status_code == 403


@pytest.mark.parametrize("role", ["admin", "support"])
async def test_admin_and_support_configure(
    client: httpx.AsyncClient, login_as: LoginAs, tenants: dict[str, int], role: str
) -> None:
    await login_as(role)
    assert (await client.get("/")).headers["location"] == "/integrations"
    listing = await client.get("/integrations")
    assert "Add integration" in listing.text
    page = await client.get("/integrations/new")
    assert page.status_code == 200
    assert "Loudoun Valley Medical Group" in page.text
    sources = await client.get("/integrations/new/sources", params={"q": "allscr"})
    assert 'value="32"' in sources.text
    assert "No source matches" in (await client.get("/integrations/new/sources?q=zzz")).text


async def test_a_scoped_user_sees_only_its_tenant(
    client: httpx.AsyncClient, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    await login_as("admin", business=OTHER_SMB)
    listing = await client.get("/integrations")
    assert "Lakeside Pediatrics" in listing.text
    assert "Loudoun" not in listing.text
    other = await client.get(f"/integrations/groups/{tenants[str(ENTERPRISE)]}")
    assert other.status_code == 404  # never 403: nothing tells that it exists
    assert "Not found" in other.text
    assert (await client.get(f"/integrations/groups/{tenants[str(OTHER_SMB)]}")).status_code == 200
    page = await client.get("/integrations/new")
    assert "Loudoun" not in page.text
    setup = await client.get(
        "/integrations/new/setup", params={"business": ENTERPRISE, "source": 32}
    )
    assert "not found" in setup.text
    assert "Loudoun" not in setup.text


async def test_pages_never_show_secure_values(
    client: httpx.AsyncClient, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    await login_as("admin")
    for path in ("/integrations", f"/integrations/groups/{tenants[str(ENTERPRISE)]}"):
        html = (await client.get(path)).text
        for secret in SECRET_VALUES:
            assert secret not in html
    detail = (await client.get(f"/integrations/groups/{tenants[str(ENTERPRISE)]}")).text
    assert "********" in detail
    assert "Location 149547899859217" in detail  # location properties are shown


async def test_statuses_active_expiring_unauthorized(
    client: httpx.AsyncClient,
    ctx: AppContext,
    clock: ManualClock,
    login_as: LoginAs,
    tenants: dict[str, int],
) -> None:
    await login_as("viewer")
    listing = (await client.get("/integrations")).text
    assert listing.count("badge-active") == 2
    assert "—" in listing  # no run recorded yet
    assert "Mon 05 Jan" not in listing  # next run is tomorrow 06:00 local
    assert "Tue 06 Jan, 06:00 EST" in listing
    clock.advance(timedelta(days=81))
    await login(client, "viewer-user")  # the session expired meanwhile
    listing = (await client.get("/integrations")).text
    assert "Password expiring" in listing
    assert "PM_Password expires in 9 days" in listing
    async with ctx.db.transaction() as session:
        await set_group_status(
            session,
            actor=Principal.system("test"),
            clock=clock,
            group_id=tenants[str(ENTERPRISE)],
            status="unauthorized",
            reason="the PM password has expired",
        )
    listing = (await client.get("/integrations")).text
    assert "badge-unauthorized" in listing
    detail = (await client.get(f"/integrations/groups/{tenants[str(ENTERPRISE)]}")).text
    assert "the PM password has expired" in detail


async def test_unknown_group_is_an_html_404_for_the_dashboard_and_json_for_the_api(
    client: httpx.AsyncClient, ctx: AppContext, login_as: LoginAs, staff_headers: dict[str, str]
) -> None:
    await login_as("admin")
    page = await client.get("/integrations/groups/999")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    api = await client.get(
        "/integration/businessintegrationgroup/149547800000009", headers=staff_headers
    )
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"
    async with ctx.db.reader() as session:
        assert (await session.execute(select(IntegrationGroup))).first() is None


async def test_run_now_queues_a_run_and_the_pages_show_the_last_run(
    client: httpx.AsyncClient,
    ctx: AppContext,
    clock: ManualClock,
    login_as: LoginAs,
    tenants: dict[str, int],
) -> None:
    token = await login_as("support")
    group = tenants[str(ENTERPRISE)]
    assert "Run now" in (await client.get(f"/integrations/groups/{group}")).text
    response = await client.post(f"/integrations/groups/{group}/run", data={"csrf_token": token})
    assert response.status_code == 200
    assert "queued" in response.text
    async with ctx.db.transaction() as session:
        run = (await session.execute(select(SyncRun))).scalar_one()
        assert (run.group_id, run.status, run.kind) == (group, "queued", "manual")
        assert run.requested_by == "user:support-user"
    listing = (await client.get("/integrations")).text
    assert "run-queued" in listing
    async with ctx.db.transaction() as session:
        run = (await session.execute(select(SyncRun))).scalar_one()
        run.status = "succeeded"
        run.started_at = clock.now()
        run.finished_at = clock.now()
        run.counts = {
            "fetched": 150,
            "skipped": 0,
            "already_decided": 0,
            "decided": 150,
            "eligible": 60,
            "restricted": {"status_not_allowed": 80, "no_usable_contact": 10},
        }
    listing = (await client.get("/integrations")).text
    assert "run-succeeded" in listing
    assert "150 fetched · 60 eligible · 90 restricted" in listing
    detail = (await client.get(f"/integrations/groups/{group}")).text
    assert "150 fetched · 60 eligible · 90 restricted" in detail

    async with ctx.db.transaction() as session:
        await set_group_status(
            session,
            actor=Principal.system("test"),
            clock=clock,
            group_id=group,
            status="inactive",
        )
    refused = await client.post(f"/integrations/groups/{group}/run", data={"csrf_token": token})
    assert refused.status_code == 422
    assert "Not started" in refused.text
    other_tenant_viewer = await client.post(
        f"/integrations/groups/{tenants[str(OTHER_SMB)]}/run", data={"csrf_token": "x"}
    )
    assert other_tenant_viewer.status_code == 403  # the CSRF check comes first
