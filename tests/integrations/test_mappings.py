"""Mappings through HTTP: defaults, schedule fields, match key, overrides, validation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.integrations.mappings import effective_properties, list_mappings

ENTERPRISE = 149547879572938
LOUDOUN = 149547899859217  # America/Chicago
FAIRFAX = 149547899859218  # America/New_York
LAKESIDE = 149547800000001
HILLTOP_NORTH = 149547800000003
H = dict[str, str]

pytestmark = pytest.mark.usefixtures("tenants")


def mapping_url(mapping_id: int, rest: str = "") -> str:
    return f"/integration/businessintegrationmapping/{mapping_id}{rest}"


def prop(key: str, value: Any, secure: bool = False) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": secure}


async def test_defaults_of_a_new_mapping(
    create_group: Any, map_location: Any, clock: ManualClock
) -> None:
    gid = (await create_group())["groupId"]
    # 12:00 UTC is 06:00 in Chicago: the next 06:00 there is tomorrow's
    loudoun = (await map_location(gid, LOUDOUN, "Loudoun Office")).json()
    assert loudoun["active"] is True
    assert loudoun["status"] == "active"
    assert loudoun["frequency"] == {"value": 1, "unit": "days"}
    assert loudoun["timezone"] == "America/Chicago"
    assert loudoun["nextRunTime"] == "2026-01-06T06:00:00-06:00"
    assert loudoun["customerFetchDelay"] is None
    assert loudoun["effectiveCustomerFetchDelay"] == 1
    assert loudoun["dryRun"] is False
    assert loudoun["effectiveProperties"]["data.fetch.logic"] == "allscripts.location.name"
    assert loudoun["effectiveProperties"]["PM_Password"] == "********"
    # 05:00 in New York: 06:00 today
    clock.set(clock.now().replace(hour=10))
    fairfax = (await map_location(gid, FAIRFAX, "Fairfax Office")).json()
    assert fairfax["timezone"] == "America/New_York"
    assert fairfax["nextRunTime"] == "2026-01-05T06:00:00-05:00"


async def test_schedule_fields_on_create_and_patch(
    client: httpx.AsyncClient, staff_headers: H, create_group: Any, map_location: Any
) -> None:
    gid = (await create_group())["groupId"]
    r = await map_location(
        gid,
        LOUDOUN,
        "Loudoun Office",
        active=False,
        frequency={"value": 6, "unit": "hours"},
        nextRunTime="2026-02-01T07:30:00",
        customerFetchDelay=0,
        timezone="America/Denver",
        dryRun=True,
    )
    assert r.status_code == 200, r.text
    m = r.json()
    assert (m["active"], m["status"], m["dryRun"]) == (False, "inactive", True)
    assert m["frequency"] == {"value": 6, "unit": "hours"}
    assert m["timezone"] == "America/Denver"
    assert m["nextRunTime"] == "2026-02-01T07:30:00-07:00"  # naive: wall-clock in the zone
    assert (m["customerFetchDelay"], m["effectiveCustomerFetchDelay"]) == (0, 0)

    url = mapping_url(m["mappingId"])
    r = await client.patch(
        url,
        json={"status": "active", "nextRunTime": "2026-02-02T12:00:00Z", "timezone": "UTC"},
        headers=staff_headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["active"], r.json()["nextRunTime"]) == (True, "2026-02-02T12:00:00+00:00")
    r = await client.patch(url, json={"customerFetchDelay": None}, headers=staff_headers)
    assert (r.json()["customerFetchDelay"], r.json()["effectiveCustomerFetchDelay"]) == (None, 1)
    r = await client.patch(url, json={"active": True, "status": "inactive"}, headers=staff_headers)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "status"
    assert (await client.get(url, headers=staff_headers)).json()["active"] is True


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        pytest.param(
            {"frequency": {"value": 1, "unit": "weeks"}}, 422, "frequency.unit", id="unit"
        ),
        pytest.param(
            {"frequency": {"value": 0, "unit": "days"}}, 422, "frequency.value", id="zero"
        ),
        pytest.param(
            {"frequency": {"value": 800, "unit": "hours"}}, 422, "frequency.value", id="too-often"
        ),
        pytest.param({"timezone": "Mars/Base"}, 422, "timezone", id="timezone"),
        pytest.param({"customerFetchDelay": -1}, 422, "customerFetchDelay", id="negative-delay"),
        pytest.param({"nextRunTime": "tomorrow"}, 422, "nextRunTime", id="next-run-time"),
        pytest.param({"status": "paused"}, 422, "status", id="status"),
        pytest.param({"integrationGroupId": 999999}, 404, "integrationGroupId", id="no-group"),
        pytest.param({"businessNumber": 149547000000000}, 404, "businessNumber", id="no-business"),
        pytest.param({"businessNumber": ENTERPRISE}, 422, "businessNumber", id="the-enterprise"),
        pytest.param(
            {"businessNumber": HILLTOP_NORTH}, 422, "businessNumber", id="other-enterprise"
        ),
        pytest.param({"integrationProperties": []}, 422, "integrationProperties", id="no-name"),
        pytest.param(
            {"integrationProperties": [prop("allscripts.location.name", " ")]},
            422,
            "integrationProperties.0.propertyValue",
            id="blank-name",
        ),
        pytest.param(
            {
                "integrationProperties": [
                    prop("allscripts.location.name", "L"),
                    prop("PM_Password", "x", True),
                ]
            },
            422,
            "integrationProperties.1.propertyKey",
            id="group-key-at-location",
        ),
        pytest.param(
            {
                "integrationProperties": [
                    prop("allscripts.location.name", "L"),
                    prop("review.url", "www.example"),
                ]
            },
            422,
            "integrationProperties.1.propertyValue",
            id="bad-review-url",
        ),
        pytest.param(
            {
                "integrationProperties": [
                    prop("allscripts.location.name", "L"),
                    prop("customer.fetch.delay", 2),
                ],
                "customerFetchDelay": 3,
            },
            422,
            "integrationProperties",
            id="delay-twice",
        ),
    ],
)
async def test_bad_mapping_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient,
    staff_headers: H,
    create_group: Any,
    fields: dict[str, Any],
    status: int,
    field: str,
) -> None:
    gid = (await create_group())["groupId"]
    body: dict[str, Any] = {
        "businessNumber": LOUDOUN,
        "integrationGroupId": gid,
        "active": True,
        "integrationProperties": [prop("allscripts.location.name", "Loudoun Office")],
    }
    body.update(fields)
    r = await client.put(
        "/integration/add/businessintegrationmapping", json=body, headers=staff_headers
    )
    assert r.status_code == status, r.text
    assert r.json()["error"]["field"] == field
    listed = await client.get(
        f"/integration/businessintegrationgroup/id/{gid}/mappings", headers=staff_headers
    )
    assert listed.json() == []


async def test_conflicts(create_group: Any, map_location: Any) -> None:
    gid = (await create_group())["groupId"]
    assert (await map_location(gid, LOUDOUN, "Loudoun Office")).status_code == 200
    r = await map_location(gid, LOUDOUN, "Loudoun Again")
    assert r.status_code == 409
    assert r.json()["error"]["field"] == "businessNumber"
    # two locations of one group cannot share the match key: rows could not be routed
    r = await map_location(gid, FAIRFAX, "Loudoun Office")
    assert r.status_code == 409
    assert r.json()["error"]["field"] == "integrationProperties"


async def test_smb_group_maps_only_its_own_business(
    client: httpx.AsyncClient, staff_headers: H, create_group: Any, map_location: Any
) -> None:
    gid = (await create_group(LAKESIDE))["groupId"]
    r = await map_location(gid, LOUDOUN, "Loudoun Office")
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "businessNumber"
    r = await map_location(gid, LAKESIDE)
    assert r.status_code == 200, r.text
    mid = r.json()["mappingId"]
    # setting data.fetch.logic explicitly makes the match key mandatory here too
    r = await client.put(
        f"/integration/businessintegrationgroup/id/{gid}/properties/data.fetch.logic",
        json={"propertyValue": "allscripts.location.name"},
        headers=staff_headers,
    )
    assert r.status_code == 422
    assert str(mid) in r.json()["error"]["message"]
    r = await client.put(
        mapping_url(mid, "/properties/allscripts.location.name"),
        json={"propertyValue": "Main"},
        headers=staff_headers,
    )
    assert r.status_code == 200
    r = await client.put(
        f"/integration/businessintegrationgroup/id/{gid}/properties/data.fetch.logic",
        json={"propertyValue": "allscripts.location.name"},
        headers=staff_headers,
    )
    assert r.status_code == 200
    r = await client.delete(
        mapping_url(mid, "/properties/allscripts.location.name"), headers=staff_headers
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "propertyKey"


async def test_location_overrides_and_effective_properties(
    client: httpx.AsyncClient,
    staff_headers: H,
    guide: Any,
    create_group: Any,
    map_location: Any,
    ctx: AppContext,
) -> None:
    body = guide.group_body()
    body["integrationGroupProperties"] += [
        prop("review.url", "https://reviews.example/riverside"),
        prop("customer.fetch.delay", "3"),
    ]
    r = await client.put(
        "/integration/add/businessintegrationgroup", json=body, headers=staff_headers
    )
    gid = r.json()["groupId"]
    loudoun = (
        await map_location(
            gid,
            LOUDOUN,
            "Loudoun Office",
            integrationProperties=[
                prop("review.url", "https://reviews.example/loudoun"),
                prop("allscripts.appointment.type", "WELLBAB1,NEWPT"),
                prop("customer.fetch.delay", 2),
                prop("local.note", "x"),
            ],
        )
    ).json()
    fairfax = (await map_location(gid, FAIRFAX, "Fairfax Office")).json()
    assert loudoun["customerFetchDelay"] == 2  # the location property is the mapping field
    assert loudoun["effectiveCustomerFetchDelay"] == 2
    assert fairfax["effectiveCustomerFetchDelay"] == 3  # group default
    assert loudoun["unknownPropertyKeys"] == ["local.note"]
    assert loudoun["effectiveProperties"]["review.url"] == "https://reviews.example/loudoun"
    assert fairfax["effectiveProperties"]["review.url"] == "https://reviews.example/riverside"
    assert loudoun["effectiveProperties"]["allscripts.appointment.type"] == "WELLBAB1,NEWPT"
    assert fairfax["effectiveProperties"]["allscripts.appointment.type"] == "WELLBAB1"

    r = await client.delete(
        mapping_url(loudoun["mappingId"], "/properties/customer.fetch.delay"), headers=staff_headers
    )
    assert r.json()["effectiveCustomerFetchDelay"] == 3
    r = await client.delete(
        mapping_url(loudoun["mappingId"], "/properties/review.url"), headers=staff_headers
    )
    assert r.json()["effectiveProperties"]["review.url"] == "https://reviews.example/riverside"
    r = await client.delete(
        mapping_url(loudoun["mappingId"], "/properties/review.url"), headers=staff_headers
    )
    assert r.status_code == 404

    # what the sync engine will read: decrypted, overridden, for internal use only
    async with ctx.db.reader() as session:
        found = await list_mappings(session, group_id=gid)
        effective = effective_properties(found[0], secrets=ctx.secrets)
    assert effective["PM_Password"] == "F5trgFre5"
    assert effective["User_Name"] == "10220c34e:0010220^1^"
    assert effective["allscripts.location.name"] == "Loudoun Office"
    assert effective["customer.fetch.delay"] == "3"


async def test_changing_the_match_key_needs_it_on_every_mapping(
    client: httpx.AsyncClient, staff_headers: H, create_group: Any, map_location: Any
) -> None:
    gid = (await create_group())["groupId"]
    await map_location(gid, LOUDOUN, "Loudoun Office")
    url = f"/integration/businessintegrationgroup/id/{gid}/properties/data.fetch.logic"
    r = await client.put(url, json={"propertyValue": "pms_user_name"}, headers=staff_headers)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "propertyValue"
    r = await client.put(
        url, json={"propertyValue": "allscripts.location.name"}, headers=staff_headers
    )
    assert r.status_code == 200
    assert (await client.delete(url, headers=staff_headers)).status_code == 200


async def test_patch_properties_list_get_delete(
    client: httpx.AsyncClient, staff_headers: H, create_group: Any, map_location: Any
) -> None:
    gid = (await create_group())["groupId"]
    mid = (await map_location(gid, LOUDOUN, "Loudoun Office")).json()["mappingId"]
    await map_location(gid, FAIRFAX, "Fairfax Office")
    r = await client.patch(
        mapping_url(mid),
        json={
            "integrationProperties": [
                prop("allscripts.location.name", "Loudoun"),
                prop("vendor.secret", "hush", True),
            ]
        },
        headers=staff_headers,
    )
    assert r.status_code == 200, r.text
    shown = {p["propertyKey"]: p["propertyValue"] for p in r.json()["integrationProperties"]}
    assert shown == {"allscripts.location.name": "Loudoun", "vendor.secret": "********"}
    listed = await client.get(
        f"/integration/businessintegrationgroup/id/{gid}/mappings", headers=staff_headers
    )
    assert [m["businessNumber"] for m in listed.json()] == [LOUDOUN, FAIRFAX]
    assert (await client.get(mapping_url(mid), headers=staff_headers)).json() == listed.json()[0]
    assert (await client.delete(mapping_url(mid), headers=staff_headers)).status_code == 204
    assert (await client.get(mapping_url(mid), headers=staff_headers)).status_code == 404
    r = await client.patch(mapping_url(mid), json={"active": False}, headers=staff_headers)
    assert r.status_code == 404
    assert r.json()["error"]["field"] == "mappingId"
    events = (
        await client.get(
            "/api/audit", params={"targetType": "integration_mapping"}, headers=staff_headers
        )
    ).json()["items"]
    assert [e["action"] for e in reversed(events)] == [
        "integration_mapping.create",
        "integration_mapping.create",
        "integration_mapping.update",
        "integration_mapping.delete",
    ]
    assert events[1]["details"]["propertyKeys"] == ["allscripts.location.name", "vendor.secret"]
