"""The Add-integration flow over HTTP against the Unity sandbox on loopback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from frontdesk.access.principal import Principal
from frontdesk.audit.models import AuditEvent
from frontdesk.businesses.service import add_business
from frontdesk.context import AppContext
from frontdesk.integrations.groups import get_group, group_properties, set_group_status
from frontdesk.integrations.mappings import list_mappings
from frontdesk.integrations.models import IntegrationGroup, IntegrationMapping
from frontdesk.sandbox.unity import DEFAULT_PM_PASSWORD, DEFAULT_PM_USER, Sandbox
from frontdesk.web.wizard import slot

from .conftest import ASHBURN, ENTERPRISE, LOUDOUN, SECRET_VALUES, LoginAs

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
async def practice(ctx: AppContext) -> None:
    async with ctx.db.transaction() as session:
        for number, name, enterprise in (
            (ENTERPRISE, "Loudoun Valley Medical Group", None),
            (LOUDOUN, "Loudoun Office", ENTERPRISE),
            (ASHBURN, "Ashburn Office", ENTERPRISE),
        ):
            await add_business(
                session,
                principal=Principal.system("test"),
                clock=ctx.clock,
                number=number,
                name=name,
                enterprise_number=enterprise,
            )


def form(token: str, **changes: Any) -> dict[str, Any]:
    """The wizard's form as a browser posts it after every step."""
    data: dict[str, Any] = {
        "csrf_token": token,
        "business": str(ENTERPRISE),
        "q": "allscripts",
        "source": "32",
        "trigger": ["56"],
        "g:User_Name": SECRET_VALUES[0],
        "g:PM_Password": DEFAULT_PM_PASSWORD,
        "g:pms_user_name": DEFAULT_PM_USER,
        "g:allscripts.appointment.status": ["Acknowledge", "Confirmed"],
        "g:allscripts.appointment.type": "",
        "g:allscripts.unity.url": "",
        "g:data.fetch.logic": "allscripts.location.name",
        "g:review.url": "https://reviews.example.org/loudoun",
        "g:customer.fetch.delay": "",
        "loc": [str(LOUDOUN), str(ASHBURN)],
    }
    for number, name in ((LOUDOUN, "Loudoun Office"), (ASHBURN, "Ashburn Office")):
        p = f"l:{number}:"
        data |= {
            p + "active": "active",
            p + "freq_value": "1",
            p + "freq_unit": "days",
            p + "next_run": "",
            p + "name": name,
            p + "delay": "",
            p + "tz": "America/New_York",
            p + "review_url": "",
            p + "o:allscripts.appointment.status": "",
            p + "o:allscripts.appointment.type": "",
        }
    data.update(changes)
    return data


async def count(ctx: AppContext, model: type[Any]) -> int:
    async with ctx.db.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_whole_flow_saves_one_group_with_its_locations(
    client: httpx.AsyncClient,
    ctx: AppContext,
    login_as: LoginAs,
    practice: None,
    unity_sandbox: Sandbox,
) -> None:
    token = await login_as("support")
    setup = await client.get(
        "/integrations/new/setup", params={"business": ENTERPRISE, "source": 32}
    )
    assert setup.status_code == 200
    assert 'name="trigger" value="56" checked' in setup.text  # the only trigger: pre-selected
    assert 'type="password" name="g:PM_Password"' in setup.text
    assert 'type="password" name="g:User_Name"' in setup.text
    assert setup.text.count('name="loc"') == 2
    assert 'name="l:149547899859217:name"' in setup.text

    check = await client.post("/integrations/new/check", data=form(token))
    assert check.status_code == 200
    assert 'data-status="ok"' in check.text
    assert "Connected" in check.text
    assert "America/New_York" in check.text  # the server's time zone
    for secret in (*SECRET_VALUES, DEFAULT_PM_PASSWORD):
        assert secret not in check.text

    discovery = await client.post("/integrations/new/discover", data=form(token))
    assert discovery.status_code == 200
    assert 'name="g:allscripts.appointment.status" value="Acknowledge"' in discovery.text
    assert 'name="g:allscripts.appointment.type" value="WELLBAB1"' in discovery.text
    assert '<option value="Loudoun Office">' in discovery.text

    saved = await client.post("/integrations/new", data=form(token))
    assert saved.status_code == 204, saved.text
    target = saved.headers["HX-Redirect"]
    group_id = int(target.split("/")[-1].split("?")[0])
    async with ctx.db.reader() as session:
        group = await get_group(session, group_id=group_id)
        assert group.business.number == ENTERPRISE
        assert [t.trigger_id for t in group.triggers] == [56]
        values = await group_properties(session, group_id=group_id, secrets=ctx.secrets)
        assert values["PM_Password"] == DEFAULT_PM_PASSWORD
        assert values["allscripts.appointment.status"] == "Acknowledge,Confirmed"
        stored = {p.key: p for p in group.properties}
        assert stored["PM_Password"].value is None  # encrypted, not plain
        assert stored["User_Name"].secret_value
        mappings = await list_mappings(session, group_id=group_id)
        assert sorted(m.business.number for m in mappings) == [LOUDOUN, ASHBURN]
        assert {p.value for m in mappings for p in m.properties} == {
            "Loudoun Office",
            "Ashburn Office",
        }
        actions = (await session.execute(select(AuditEvent.action))).scalars().all()
        assert "integration_group.create" in actions
        assert actions.count("integration_mapping.create") == 2

    page = await client.get(target)
    assert page.status_code == 200
    assert "Integration saved" in page.text
    assert DEFAULT_PM_PASSWORD not in page.text
    listing = await client.get("/integrations")
    assert f"/integrations/groups/{group_id}" in listing.text


async def test_an_error_is_shown_next_to_its_field_and_nothing_is_written(
    client: httpx.AsyncClient, ctx: AppContext, login_as: LoginAs, practice: None
) -> None:
    token = await login_as("admin")
    # The second location lacks the match key: the group would be valid, the mapping is not.
    bad = form(token, **{f"l:{ASHBURN}:name": ""})
    response = await client.post("/integrations/new", data=bad)
    assert response.status_code == 422
    field_slot = slot(f"l:{ASHBURN}:name")
    assert f'id="{field_slot}" role="alert" hx-swap-oob="true">location {ASHBURN}' in response.text
    assert "mandatory" in response.text
    assert await count(ctx, IntegrationGroup) == 0
    assert await count(ctx, IntegrationMapping) == 0

    cases = {
        "g:User_Name": ("not a service user", "must look like"),
        "g:review.url": ("ftp://x", "absolute http"),
        f"l:{LOUDOUN}:tz": ("Mars/Olympus", "time zone"),
        f"l:{LOUDOUN}:freq_value": ("0", "frequency"),
        f"l:{LOUDOUN}:next_run": ("tomorrow", "date and time"),
        "g:PM_Password": ("", "required"),
    }
    for name, (value, message) in cases.items():
        response = await client.post("/integrations/new", data=form(token, **{name: value}))
        assert response.status_code == 422, name
        text = response.text
        start = text.index(f'id="{slot(name)}"')
        assert message in text[start : text.index("</p>", start)], name
    assert "trigger" in (await client.post("/integrations/new", data=form(token, trigger=[]))).text
    assert await count(ctx, IntegrationGroup) == 0


async def test_a_second_group_for_the_practice_is_refused_on_the_practice_field(
    client: httpx.AsyncClient, ctx: AppContext, login_as: LoginAs, practice: None
) -> None:
    token = await login_as("admin")
    assert (await client.post("/integrations/new", data=form(token))).status_code == 204
    again = await client.post("/integrations/new", data=form(token))
    assert again.status_code == 422
    assert f'id="{slot("business")}" role="alert" hx-swap-oob="true">business' in again.text
    assert await count(ctx, IntegrationGroup) == 1


async def test_test_connection_reports_rejected_credentials_and_missing_settings(
    client: httpx.AsyncClient,
    ctx: AppContext,
    login_as: LoginAs,
    practice: None,
    unity_sandbox: Sandbox,
) -> None:
    token = await login_as("admin")
    wrong = await client.post(
        "/integrations/new/check", data=form(token, **{"g:PM_Password": "Wrong#Password1"})
    )
    assert 'data-status="unauthorized"' in wrong.text
    assert "Wrong#Password1" not in wrong.text
    missing = await client.post(
        "/integrations/new/check", data=form(token, **{"g:PM_Password": ""})
    )
    assert "PM_Password is required" in missing.text
    ctx.settings.unity.url = "http://127.0.0.1:9/UnityPM/UnityService.svc/json"
    ctx.settings.unity.timeout_s = 2.0
    unreachable = await client.post("/integrations/new/check", data=form(token))
    assert 'data-status="unreachable"' in unreachable.text


async def test_reauthorise_saves_new_credentials_only_when_they_work(
    client: httpx.AsyncClient,
    ctx: AppContext,
    login_as: LoginAs,
    tenants: dict[str, int],
    unity_sandbox: Sandbox,
) -> None:
    token = await login_as("support")
    group_id = tenants[str(ENTERPRISE)]
    async with ctx.db.transaction() as session:
        await set_group_status(
            session,
            actor=Principal.system("test"),
            clock=ctx.clock,
            group_id=group_id,
            status="unauthorized",
            reason="the PM password has expired",
        )
    unity_sandbox.renew_password(DEFAULT_PM_USER, password="Renewed#Pass2026")
    saved = await client.post(f"/integrations/groups/{group_id}/check", data={"csrf_token": token})
    assert 'data-status="unauthorized"' in saved.text  # the stored password is the old one
    wrong = await client.post(
        f"/integrations/groups/{group_id}/reauthorize",
        data={"csrf_token": token, "g:PM_Password": "Still#Wrong1"},
    )
    assert wrong.status_code == 200
    assert "Nothing was saved" in wrong.text
    right = await client.post(
        f"/integrations/groups/{group_id}/reauthorize",
        data={"csrf_token": token, "g:PM_Password": "Renewed#Pass2026"},
    )
    assert right.status_code == 204
    assert right.headers["HX-Redirect"] == f"/integrations/groups/{group_id}"
    async with ctx.db.reader() as session:
        group = await get_group(session, group_id=group_id)
        assert group.status == "active"
        values = await group_properties(session, group_id=group_id, secrets=ctx.secrets)
        assert values["PM_Password"] == "Renewed#Pass2026"
    again = await client.post(f"/integrations/groups/{group_id}/check", data={"csrf_token": token})
    assert 'data-status="ok"' in again.text
