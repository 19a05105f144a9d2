"""Finding 1 of the hardening issue, at configuration: only staff may set a URL the server
connects to, and only to a destination the outbound rule allows."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.integrations.conftest import ENTERPRISE, LAKESIDE

from frontdesk.context import AppContext
from frontdesk.integrations.groups import group_properties
from frontdesk.settings import OutboundSettings

pytestmark = pytest.mark.usefixtures("tenants")
H = dict[str, str]
KEY = "allscripts.unity.url"
EVIL = "https://collector.evil.example/UnityService.svc/json"


def prop(key: str, value: str) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": False}


async def test_a_business_key_cannot_point_the_unity_url_anywhere(
    client: httpx.AsyncClient, api_key: Any, create_group: Any, guide: Any
) -> None:
    """The reproduction: a tenant key sets the group URL (PUT, PATCH, create): 403 each time."""
    tenant = await api_key(name="lakeside", business=LAKESIDE)
    gid = (await create_group(LAKESIDE, headers=tenant))["groupId"]
    base = f"/integration/businessintegrationgroup/id/{gid}"
    attempts = [
        client.put(f"{base}/properties/{KEY}", json={"propertyValue": EVIL}, headers=tenant),
        client.patch(base, json={"integrationGroupProperties": [prop(KEY, EVIL)]}, headers=tenant),
        client.post(
            "/integration/update/businessintegrationgroup",
            json={
                "groupId": gid,
                "integrationGroupTriggers": guide.group_body()["integrationGroupTriggers"],
                "integrationGroupProperties": [prop(KEY, EVIL)],
            },
            headers=tenant,
        ),
    ]
    for attempt in attempts:
        r = await attempt
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "permission_denied"
        assert "evil" not in r.text
    body = guide.group_body(LAKESIDE)
    body["integrationGroupProperties"].append(prop(KEY, EVIL))
    await client.delete(base, headers=tenant)
    r = await client.put("/integration/add/businessintegrationgroup", json=body, headers=tenant)
    assert r.status_code == 403, r.text


async def test_staff_may_set_only_allowed_destinations(
    client: httpx.AsyncClient, staff_headers: H, create_group: Any, ctx: AppContext
) -> None:
    gid = (await create_group(ENTERPRISE))["groupId"]
    url = f"/integration/businessintegrationgroup/id/{gid}/properties/{KEY}"
    for value in (EVIL, "http://127.0.0.1:22/UnityService.svc/json", "http://10.0.0.8/x.svc"):
        r = await client.put(url, json={"propertyValue": value}, headers=staff_headers)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "destination_not_allowed"
        assert error["field"] == "propertyValue"
        assert "FRONTDESK_OUTBOUND__ALLOWED_HOSTS" in error["message"]
        assert value not in r.text
    # The operator's own Unity origin is always allowed.
    operator = ctx.settings.unity.url.replace("/UnityService.svc/json", "/UnityPM/UnityService.svc")
    r = await client.put(url, json={"propertyValue": operator}, headers=staff_headers)
    assert r.status_code == 200, r.text
    # A listed host is allowed, whatever it resolves to.
    ctx.settings = ctx.settings.model_copy(
        update={"outbound": OutboundSettings(allowed_hosts="*.evil.example")}
    )
    r = await client.put(url, json={"propertyValue": EVIL}, headers=staff_headers)
    assert r.status_code == 200, r.text
    async with ctx.db.reader() as session:
        stored = await group_properties(session, group_id=gid, secrets=ctx.secrets)
    assert stored[KEY] == EVIL


async def test_other_url_properties_stay_open_to_tenants(
    client: httpx.AsyncClient, api_key: Any, create_group: Any
) -> None:
    """``review.url`` is a link for patients, never fetched by the server."""
    tenant = await api_key(name="lakeside", business=LAKESIDE)
    gid = (await create_group(LAKESIDE, headers=tenant))["groupId"]
    r = await client.put(
        f"/integration/businessintegrationgroup/id/{gid}/properties/review.url",
        json={"propertyValue": "https://g.page/r/lakeside/review"},
        headers=tenant,
    )
    assert r.status_code == 200, r.text
