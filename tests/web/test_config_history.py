"""The group page's configuration history (an htmx fragment): versions with who, from where
and what changed; secure values only as changed; another tenant's group is not found."""

from __future__ import annotations

import httpx
import pytest

from frontdesk.access.principal import Principal
from frontdesk.composition import builtin_plugins
from frontdesk.context import AppContext
from frontdesk.integrations.groups import PropertyInput, set_group_properties

from .conftest import ENTERPRISE, OTHER_SMB, SECRET_VALUES, LoginAs

pytestmark = pytest.mark.usefixtures("clock")


async def test_the_group_page_shows_its_history_with_a_diff(
    ctx: AppContext, client: httpx.AsyncClient, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    group_id = tenants[str(ENTERPRISE)]
    async with ctx.db.transaction() as session:
        await set_group_properties(
            session,
            principal=Principal(kind="user", id=1, name="support-user", role="support"),
            clock=ctx.clock,
            secrets=ctx.secrets,
            plugins=builtin_plugins(ctx),
            group_id=group_id,
            properties=[
                PropertyInput("allscripts.appointment.status", "Confirmed"),
                PropertyInput("PM_Password", "the-next-password", True),
            ],
        )
    await login_as("viewer")
    page = await client.get(f"/integrations/groups/{group_id}")
    assert page.status_code == 200
    assert f'hx-get="/integrations/groups/{group_id}/history"' in page.text
    fragment = await client.get(f"/integrations/groups/{group_id}/history")
    assert fragment.status_code == 200, fragment.text
    html = fragment.text
    assert 'data-version="2"' in html
    assert 'data-version="1"' in html
    assert html.index('data-version="2"') < html.index('data-version="1"')  # newest first
    assert "dashboard" in html  # a dashboard user's change
    assert "properties.allscripts.appointment.status" in html
    assert "Confirmed" in html
    assert "properties.PM_Password" in html
    assert "(secret, changed)" in html
    for value in (*SECRET_VALUES, "the-next-password"):
        assert value not in html
    other = await client.get(f"/integrations/groups/{tenants[str(OTHER_SMB)]}/history")
    assert other.status_code == 200  # staff of every tenant: the other group's history


async def test_another_tenants_history_is_not_shown(
    client: httpx.AsyncClient, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    await login_as("admin", business=ENTERPRISE)
    mine = await client.get(f"/integrations/groups/{tenants[str(ENTERPRISE)]}/history")
    assert 'data-version="1"' in mine.text
    theirs = await client.get(f"/integrations/groups/{tenants[str(OTHER_SMB)]}/history")
    assert theirs.status_code == 404
    assert "data-version" not in theirs.text
