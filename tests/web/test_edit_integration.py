"""Edit integration over HTTP: each form, its checks, roles, tenants, CSRF, the audit log."""

from __future__ import annotations

from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from frontdesk.audit.models import AuditEvent
from frontdesk.context import AppContext
from frontdesk.integrations.groups import get_group, group_properties
from frontdesk.integrations.mappings import get_mapping, list_mappings
from frontdesk.integrations.models import IntegrationTrigger

from .conftest import ASHBURN, ENTERPRISE, LOUDOUN, OTHER_SMB, SECRET_VALUES, LoginAs, csrf_of

pytestmark = pytest.mark.usefixtures("clock")
STATUS = "allscripts.appointment.status"


def group_form(token: str, **changes: str) -> dict[str, str]:
    """The group properties form as the page sends it untouched (secure fields blank)."""
    data = {
        "csrf_token": token,
        "g:User_Name": "",
        "g:PM_Password": "",
        "g:pms_user_name": "frontdesk",
        f"g:{STATUS}": "",
        "g:allscripts.appointment.type": "",
        "g:allscripts.unity.url": "",
        "g:data.fetch.logic": "",
        "g:review.url": "",
        "g:customer.fetch.delay": "",
    }
    return data | changes


def location_form(token: str, prefix: str, **changes: str) -> dict[str, str]:
    data = {
        "csrf_token": token,
        prefix + "active": "active",
        prefix + "freq_value": "1",
        prefix + "freq_unit": "days",
        prefix + "next_run": "",
        prefix + "name": "Location 149547899859217",
        prefix + "delay": "",
        prefix + "tz": "America/New_York",
        prefix + "channel": "",
        prefix + "review_url": "",
        prefix + f"o:{STATUS}": "",
        prefix + "o:allscripts.appointment.type": "",
    }
    return data | {prefix + k: v for k, v in changes.items()}


async def actions(ctx: AppContext) -> list[tuple[str, str]]:
    async with ctx.db.reader() as session:
        rows = await session.execute(select(AuditEvent.action, AuditEvent.actor).order_by("id"))
        return [(a, b) for a, b in rows]


async def mapping_of(ctx: AppContext, group_id: int, number: int) -> int:
    async with ctx.db.reader() as session:
        found = await list_mappings(session, group_id=group_id)
        return next(m.id for m in found if m.business.number == number)


async def test_group_properties_change_and_secure_values_stay_write_only(
    client: httpx.AsyncClient, ctx: AppContext, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    token = await login_as("support")
    group_id = tenants[str(ENTERPRISE)]
    page = await client.get(f"/integrations/groups/{group_id}/edit")
    assert page.status_code == 200
    assert 'data-secure-state="PM_Password">set<' in page.text
    for secret in SECRET_VALUES:
        assert secret not in unescape(page.text)

    new_password = "NewPm#Password-2027"
    saved = await client.post(
        f"/integrations/groups/{group_id}/properties",
        data=group_form(
            token, **{f"g:{STATUS}": "Confirmed, Arrived", "g:PM_Password": new_password}
        ),
    )
    assert saved.status_code == 303
    assert saved.headers["location"].startswith(f"/integrations/groups/{group_id}/edit?saved=")
    async with ctx.db.reader() as session:
        values = await group_properties(session, group_id=group_id, secrets=ctx.secrets)
    assert values[STATUS] == "Confirmed,Arrived"
    assert values["PM_Password"] == new_password
    assert values["User_Name"] == SECRET_VALUES[0]  # blank secure field: kept
    page = await client.get(saved.headers["location"])
    assert "Group properties saved." in page.text
    assert new_password not in page.text
    assert SECRET_VALUES[0] not in unescape(page.text)
    assert ("integration_group.properties.set", "user:support-user") in await actions(ctx)

    # Clearing an optional key removes it; clearing a required one is refused.
    cleared = await client.post(
        f"/integrations/groups/{group_id}/properties", data=group_form(token)
    )
    assert cleared.status_code == 303
    async with ctx.db.reader() as session:
        values = await group_properties(session, group_id=group_id, secrets=ctx.secrets)
    assert STATUS not in values
    assert ("integration_group.properties.delete", "user:support-user") in await actions(ctx)
    refused = await client.post(
        f"/integrations/groups/{group_id}/properties",
        data=group_form(token, **{"g:pms_user_name": ""}),
    )
    assert refused.status_code == 422
    assert "pms_user_name is required" in refused.text


async def test_a_refused_form_keeps_what_was_typed_and_writes_nothing(
    client: httpx.AsyncClient, ctx: AppContext, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    token = await login_as("admin")
    group_id = tenants[str(ENTERPRISE)]
    before = await actions(ctx)
    typed = group_form(
        token,
        **{
            f"g:{STATUS}": "Confirmed",
            "g:review.url": "ftp://not-a-review-link",
            "g:PM_Password": "typed-secret-value",
        },
    )
    refused = await client.post(f"/integrations/groups/{group_id}/properties", data=typed)
    assert refused.status_code == 422
    html = unescape(refused.text)
    assert 'id="err-g-review-url" role="alert">review.url' in html  # next to its field
    assert 'value="ftp://not-a-review-link"' in html
    assert 'value="Confirmed"' in html
    assert "typed-secret-value" not in html  # a secure value is never sent back
    assert await actions(ctx) == before
    async with ctx.db.reader() as session:
        values = await group_properties(session, group_id=group_id, secrets=ctx.secrets)
    assert STATUS not in values
    assert values["PM_Password"] == SECRET_VALUES[1]

    prefix = f"m:{await mapping_of(ctx, group_id, LOUDOUN)}:"
    for field, value, message in (
        ("delay", "400", "customerFetchDelay is 0 to 365 days"),
        ("freq_value", "0", "frequency is 1 to"),
        ("tz", "Mars/Olympus", "not a known IANA time zone name"),
        ("name", "", "the location name is required"),
        ("name", "Location 149547899859218", "already has this allscripts.location.name"),
        ("next_run", "soon", "a date and time"),
    ):
        response = await client.post(
            f"/integrations/mappings/{prefix[2:-1]}",
            data=location_form(token, prefix, **{field: value}),
        )
        assert response.status_code == 422, field
        slot = "err-" + (prefix + field).replace(":", "-")
        assert f'id="{slot}" role="alert">' in response.text, field
        assert message in unescape(response.text), field
    assert await actions(ctx) == before


async def test_triggers_are_replaced_or_added(
    client: httpx.AsyncClient, ctx: AppContext, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    async with ctx.db.transaction() as session:  # a second trigger of the source (catalog data)
        session.add(
            IntegrationTrigger(
                id=57,
                source_id=32,
                trigger_service="allscriptsRecallTriggerService",
                display_name="Allscripts Recall Trigger",
                description="recalls",
                active=True,
                trigger_type_id=1,
                action_group_id=1,
            )
        )
    token = await login_as("support")
    group_id = tenants[str(ENTERPRISE)]
    url = f"/integrations/groups/{group_id}/triggers"

    async def enabled() -> list[int]:
        async with ctx.db.reader() as session:
            return [t.trigger_id for t in (await get_group(session, group_id=group_id)).triggers]

    replaced = await client.post(
        url, data={"csrf_token": token, "trigger": "57", "mode": "replace"}
    )
    assert replaced.status_code == 303
    assert await enabled() == [57]
    added = await client.post(url, data={"csrf_token": token, "trigger": "56", "mode": "add"})
    assert added.status_code == 303
    assert await enabled() == [56, 57]
    none = await client.post(url, data={"csrf_token": token, "mode": "replace"})
    assert none.status_code == 422
    assert "choose at least one trigger" in none.text
    foreign = await client.post(url, data={"csrf_token": token, "trigger": "1", "mode": "add"})
    assert foreign.status_code == 422
    assert await enabled() == [56, 57]
    assert [a for a, _ in await actions(ctx)].count("integration_group.triggers") == 2


async def test_a_location_is_edited_removed_with_confirmation_and_added_back(
    client: httpx.AsyncClient, ctx: AppContext, login_as: LoginAs, tenants: dict[str, int]
) -> None:
    token = await login_as("support")
    group_id = tenants[str(ENTERPRISE)]
    mapping_id = await mapping_of(ctx, group_id, LOUDOUN)
    prefix = f"m:{mapping_id}:"
    saved = await client.post(
        f"/integrations/mappings/{mapping_id}",
        data=location_form(
            token,
            prefix,
            name="Loudoun Office",
            active="inactive",
            dry_run="on",
            freq_value="6",
            freq_unit="hours",
            next_run="2026-01-06T07:30",
            delay="3",
            channel="webhook",
            review_url="https://reviews.example.org/loudoun",
            **{f"o:{STATUS}": "Confirmed"},
        ),
    )
    assert saved.status_code == 303, saved.text
    async with ctx.db.reader() as session:
        mapping = await get_mapping(session, mapping_id=mapping_id)
        stored = {p.key: p.value for p in mapping.properties}
        assert (mapping.active, mapping.dry_run) == (False, True)
        assert (mapping.frequency_value, mapping.frequency_unit) == (6, "hours")
        assert mapping.customer_fetch_delay_days == 3
        assert mapping.next_run_at.isoformat() == "2026-01-06T12:30:00+00:00"  # 07:30 EST
    assert stored == {
        "allscripts.location.name": "Loudoun Office",
        "review.channel": "webhook",
        "review.url": "https://reviews.example.org/loudoun",
        STATUS: "Confirmed",
    }
    bad_channel = await client.post(
        f"/integrations/mappings/{mapping_id}",
        data=location_form(token, prefix, name="Loudoun Office", channel="pigeon"),
    )
    assert bad_channel.status_code == 422
    assert "must name a registered channel" in unescape(bad_channel.text)
    # Blank optional fields clear the overrides and the delay.
    cleared = await client.post(
        f"/integrations/mappings/{mapping_id}",
        data=location_form(token, prefix, name="Loudoun Office"),
    )
    assert cleared.status_code == 303
    async with ctx.db.reader() as session:
        mapping = await get_mapping(session, mapping_id=mapping_id)
        assert {p.key for p in mapping.properties} == {"allscripts.location.name"}
        assert mapping.customer_fetch_delay_days is None
        assert not mapping.dry_run

    confirm = await client.get(f"/integrations/mappings/{mapping_id}/remove")
    assert confirm.status_code == 200
    assert "Yes, remove" in confirm.text
    unconfirmed = await client.post(
        f"/integrations/mappings/{mapping_id}/remove", data={"csrf_token": token}
    )
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["location"].endswith("/remove")
    removed = await client.post(
        f"/integrations/mappings/{mapping_id}/remove",
        data={"csrf_token": token, "confirm": "remove"},
    )
    assert removed.status_code == 303
    page = await client.get(f"/integrations/groups/{group_id}/edit")
    assert f'<option value="{LOUDOUN}"' in page.text  # may be added again

    data = location_form(token, "new:", name="Loudoun Office", delay="0") | {
        "new:business": str(LOUDOUN)
    }
    added = await client.post(f"/integrations/groups/{group_id}/mappings", data=data)
    assert added.status_code == 303
    async with ctx.db.reader() as session:
        numbers = [m.business.number for m in await list_mappings(session, group_id=group_id)]
    assert sorted(numbers) == [LOUDOUN, ASHBURN]
    taken = await client.post(
        f"/integrations/groups/{group_id}/mappings",
        data=location_form(token, "new:", name="Other") | {"new:business": str(LOUDOUN)},
    )
    assert taken.status_code == 422
    assert "already mapped" in taken.text
    done = [a for a, _ in await actions(ctx)]
    for action in ("update", "properties.delete", "delete", "create"):
        assert f"integration_mapping.{action}" in done


async def test_a_removed_group_disappears_and_keeps_its_rows(
    client: httpx.AsyncClient,
    ctx: AppContext,
    login_as: LoginAs,
    tenants: dict[str, int],
    staff_headers: dict[str, str],
) -> None:
    token = await login_as("support")
    group_id = tenants[str(ENTERPRISE)]
    confirm = await client.get(f"/integrations/groups/{group_id}/remove")
    assert confirm.status_code == 200
    assert "2 locations" in confirm.text
    removed = await client.post(
        f"/integrations/groups/{group_id}/remove", data={"csrf_token": token, "confirm": "remove"}
    )
    assert removed.status_code == 303
    assert (await client.get(f"/integrations/groups/{group_id}")).status_code == 404
    assert (await client.get(f"/integrations/groups/{group_id}/edit")).status_code == 404
    listing = await client.get("/integrations")
    assert f"/integrations/groups/{group_id}" not in listing.text
    assert f"/integrations/groups/{tenants[str(OTHER_SMB)]}" in listing.text
    async with ctx.db.reader() as session:
        group = await get_group(session, group_id=group_id)  # kept for its history
        assert group.removed_at is not None
        assert group.status == "inactive"
        mappings = await list_mappings(session, group_id=group_id)
        assert len(mappings) == 2
        assert not any(m.active for m in mappings)
    assert ("integration_group.remove", "user:support-user") in await actions(ctx)
    # The integration API no longer sees it either.
    api = await client.get(
        f"/integration/businessintegrationgroup/id/{group_id}", headers=staff_headers
    )
    assert api.status_code == 404
    listed = await client.get(
        f"/integration/businessintegrationgroup/{ENTERPRISE}", headers=staff_headers
    )
    assert listed.status_code == 200
    assert listed.json() == []
    again = await client.post(
        f"/integrations/groups/{group_id}/remove", data={"csrf_token": token, "confirm": "remove"}
    )
    assert again.status_code == 404


ROUTES: list[tuple[str, str]] = [
    ("GET", "/integrations/groups/{g}/edit"),
    ("POST", "/integrations/groups/{g}/properties"),
    ("POST", "/integrations/groups/{g}/triggers"),
    ("POST", "/integrations/groups/{g}/mappings"),
    ("POST", "/integrations/mappings/{m}"),
    ("GET", "/integrations/mappings/{m}/remove"),
    ("POST", "/integrations/mappings/{m}/remove"),
    ("GET", "/integrations/groups/{g}/remove"),
    ("POST", "/integrations/groups/{g}/remove"),
]


@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
async def test_roles_tenants_and_csrf(
    client: httpx.AsyncClient,
    ctx: AppContext,
    login_as: LoginAs,
    tenants: dict[str, int],
    method: str,
    route: str,
) -> None:
    group_id = tenants[str(OTHER_SMB)]
    mapping_id = await mapping_of(ctx, group_id, OTHER_SMB)
    url = route.format(g=group_id, m=mapping_id)
    token = await login_as("viewer", username="vera")
    data: dict[str, Any] = {"csrf_token": token, "confirm": "remove"}
    viewer = await client.request(method, url, data=data if method == "POST" else None)
    assert viewer.status_code == 403
    await client.post("/logout", data={"csrf_token": token})

    # Support limited to the enterprise: the other tenant's group is a 404.
    token = await login_as("support", business=ENTERPRISE, username="scoped")
    data["csrf_token"] = token
    scoped = await client.request(method, url, data=data if method == "POST" else None)
    assert scoped.status_code == 404
    await client.post("/logout", data={"csrf_token": token})

    token = await login_as("admin")
    if method == "POST":
        forged = await client.post(url, data={"confirm": "remove"})
        assert forged.status_code == 403
        assert "security token" in forged.text
    before = await actions(ctx)
    assert not [a for a, who in before if a.startswith("integration_") and who.startswith("user:")]
    page = await client.get(f"/integrations/groups/{group_id}/edit")
    assert page.status_code == 200
    assert csrf_of(page.text) == token
