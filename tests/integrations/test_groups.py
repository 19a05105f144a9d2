"""Integration groups through HTTP: validation, conflicts, triggers, properties, status, delete."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from frontdesk.clock import ManualClock

ENTERPRISE = 149547879572938
LOUDOUN = 149547899859217
LAKESIDE = 149547800000001
CREATE = "/integration/add/businessintegrationgroup"
UPDATE = "/integration/update/businessintegrationgroup"
H = dict[str, str]


def group_url(group_id: int, rest: str = "") -> str:
    return f"/integration/businessintegrationgroup/id/{group_id}{rest}"


def prop(key: str, value: Any, secure: bool = False) -> dict[str, Any]:
    return {"propertyKey": key, "propertyValue": value, "isSecure": secure}


def with_props(guide: Any, *extra: dict[str, Any], drop: str = "") -> dict[str, Any]:
    body: dict[str, Any] = guide.group_body()
    kept = [p for p in body["integrationGroupProperties"] if p["propertyKey"] != drop]
    body["integrationGroupProperties"] = kept + list(extra)
    return body


def properties(group: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    return {
        p["propertyKey"]: (p["propertyValue"], p["isSecure"])
        for p in group["integrationGroupProperties"]
    }


async def assert_nothing_written(client: httpx.AsyncClient, headers: H) -> None:
    r = await client.get(f"/integration/businessintegrationgroup/{ENTERPRISE}", headers=headers)
    assert r.json() == []
    audit = (await client.get("/api/audit", headers=headers)).json()["items"]
    assert [e for e in audit if e["targetType"] == "integration_group"] == []


BAD_GROUPS = [
    pytest.param({"integrationSourceId": 33}, 404, "integrationSourceId", id="unknown-source"),
    pytest.param(
        {"integrationGroupTriggers": [{"triggerId": 999, "triggerTypeId": 1}]},
        404,
        "integrationGroupTriggers.0.triggerId",
        id="unknown-trigger",
    ),
    pytest.param(
        {"integrationGroupTriggers": [{"triggerId": 56, "triggerTypeId": 7}]},
        422,
        "integrationGroupTriggers.0.triggerTypeId",
        id="wrong-trigger-type",
    ),
    pytest.param(
        {"integrationGroupTriggers": [{"triggerId": 90}]},
        422,
        "integrationGroupTriggers.0.triggerId",
        id="trigger-of-another-source",
    ),
    pytest.param(
        {"integrationGroupTriggers": [{"triggerId": 56}, {"triggerId": 56}]},
        422,
        "integrationGroupTriggers.1.triggerId",
        id="trigger-twice",
    ),
    pytest.param(
        {"integrationGroupTriggers": []}, 422, "integrationGroupTriggers", id="no-trigger"
    ),
    pytest.param(
        {"parentBusinessNumber": 149547000000000},
        404,
        "parentBusinessNumber",
        id="unknown-business",
    ),
    pytest.param(
        {"parentBusinessNumber": LOUDOUN}, 422, "parentBusinessNumber", id="location-as-parent"
    ),
    pytest.param({"colour": "red"}, 422, "colour", id="unknown-field"),
    pytest.param(
        {"integrationSourceId": "thirty-two"}, 422, "integrationSourceId", id="not-a-number"
    ),
]


@pytest.mark.usefixtures("tenants", "extra_catalog")
@pytest.mark.parametrize(("changes", "status", "field"), BAD_GROUPS)
async def test_bad_group_is_refused_naming_the_field(
    client: httpx.AsyncClient,
    staff_headers: H,
    guide: Any,
    changes: dict[str, Any],
    status: int,
    field: str,
) -> None:
    r = await client.put(CREATE, json=guide.group_body(**changes), headers=staff_headers)
    assert r.status_code == status, r.text
    assert r.json()["error"]["field"] == field
    await assert_nothing_written(client, staff_headers)


BAD_PROPERTIES = [
    pytest.param({"drop": "PM_Password"}, "integrationGroupProperties", id="missing-required"),
    pytest.param(
        {"drop": "User_Name", "extra": [prop("User_Name", "not a service user", True)]},
        "integrationGroupProperties.4.propertyValue",
        id="malformed-service-user",
    ),
    pytest.param(
        {"extra": [prop("allscripts.location.name", "Loudoun Office")]},
        "integrationGroupProperties.5.propertyKey",
        id="location-key-on-group",
    ),
    pytest.param(
        {"extra": [prop("allscripts.unity.url", "ftp://unity.example")]},
        "integrationGroupProperties.5.propertyValue",
        id="bad-unity-url",
    ),
    pytest.param(
        {"extra": [prop("review.url", "not a url")]},
        "integrationGroupProperties.5.propertyValue",
        id="bad-review-url",
    ),
    pytest.param(
        {
            "drop": "allscripts.appointment.status",
            "extra": [prop("allscripts.appointment.status", "Acknowledge,,Arrived")],
        },
        "integrationGroupProperties.4.propertyValue",
        id="allow-list-with-blank-item",
    ),
    pytest.param(
        {"extra": [prop("data.fetch.logic", "review.url")]},
        "integrationGroupProperties.5.propertyValue",
        id="fetch-logic-not-a-match-key",
    ),
    pytest.param(
        {"extra": [prop("customer.fetch.delay", "soon")]},
        "integrationGroupProperties.5.propertyValue",
        id="delay-not-a-number",
    ),
    pytest.param(
        {"extra": [prop("customer.fetch.delay", 400)]},
        "integrationGroupProperties.5.propertyValue",
        id="delay-out-of-range",
    ),
    pytest.param(
        {"extra": [prop("pms_user_name", "again")]},
        "integrationGroupProperties.5.propertyKey",
        id="key-twice",
    ),
    pytest.param(
        {"extra": [prop("bad key!", "x")]},
        "integrationGroupProperties.5.propertyKey",
        id="malformed-key",
    ),
    pytest.param(
        {"extra": [prop("custom.flag", True)]},
        "integrationGroupProperties.5.propertyValue",
        id="boolean-value",
    ),
    pytest.param(
        {"extra": [prop("review.url", "https://x.example/" + "a" * 2000)]},
        "integrationGroupProperties.5.propertyValue",
        id="value-too-long",
    ),
]


@pytest.mark.usefixtures("tenants")
@pytest.mark.parametrize(("case", "field"), BAD_PROPERTIES)
async def test_bad_property_leaves_no_group(
    client: httpx.AsyncClient, staff_headers: H, guide: Any, case: dict[str, Any], field: str
) -> None:
    body = with_props(guide, *case.get("extra", []), drop=case.get("drop", ""))
    r = await client.put(CREATE, json=body, headers=staff_headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field
    assert "10220c34e" not in r.text
    assert "F5trgFre5" not in r.text
    await assert_nothing_written(client, staff_headers)


@pytest.mark.usefixtures("tenants")
async def test_malformed_json_is_422(client: httpx.AsyncClient, staff_headers: H) -> None:
    for url, method in ((CREATE, "PUT"), (UPDATE, "POST")):
        r = await client.request(
            method,
            url,
            content=b'{"parentBusinessNumber": 1,',
            headers={**staff_headers, "Content-Type": "application/json"},
        )
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "malformed_json"
    await assert_nothing_written(client, staff_headers)


@pytest.mark.usefixtures("tenants", "extra_catalog")
async def test_a_second_group_for_the_same_business_and_source_is_a_conflict(
    client: httpx.AsyncClient, staff_headers: H, guide: Any, create_group: Any
) -> None:
    first = await create_group()
    r = await client.put(CREATE, json=guide.group_body(), headers=staff_headers)
    assert r.status_code == 409
    assert r.json()["error"]["field"] == "parentBusinessNumber"
    assert str(first["groupId"]) in r.json()["error"]["message"]
    # another source is another group
    other = guide.group_body(
        integrationSourceId=99,
        integrationGroupTriggers=[{"triggerId": 90, "triggerTypeId": 1}],
        integrationGroupProperties=[],
    )
    r = await client.put(CREATE, json=other, headers=staff_headers)
    assert r.status_code == 200, r.text
    assert r.json()["integrationSourceType"]["integrationSource"] == "TESTPMS"


@pytest.mark.usefixtures("tenants", "extra_catalog")
async def test_replace_triggers_true_replaces_and_false_adds(
    client: httpx.AsyncClient, staff_headers: H, create_group: Any
) -> None:
    group_id = (await create_group())["groupId"]

    async def update(replace: str | None, *trigger_ids: int) -> list[int]:
        url = UPDATE if replace is None else f"{UPDATE}?replaceTriggers={replace}"
        body = {
            "groupId": group_id,
            "integrationGroupTriggers": [{"triggerId": t, "triggerTypeId": 1} for t in trigger_ids],
        }
        r = await client.post(url, json=body, headers=staff_headers)
        assert r.status_code == 200, r.text
        return [t["triggerId"] for t in r.json()["integrationGroupTriggers"]]

    assert await update("false", 57) == [56, 57]
    assert await update("false", 56) == [56, 57]  # adding a present trigger changes nothing
    assert await update("true", 57) == [57]
    assert await update(None, 56) == [56, 57]  # without the parameter: add
    assert await update("true", 56) == [56]
    r = await client.get(group_url(group_id), headers=staff_headers)
    assert r.json()["integrationGroupTriggers"] == [
        {"triggerId": 56, "triggerTypeId": 1, "actionIds": [1]}
    ]


@pytest.mark.usefixtures("tenants", "extra_catalog")
@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        pytest.param({"groupId": 999999}, 404, "groupId", id="unknown-group"),
        pytest.param({"integrationGroupTriggers": []}, 422, "integrationGroupTriggers", id="empty"),
        pytest.param(
            {"integrationGroupTriggers": [{"triggerId": 90, "triggerTypeId": 1}]},
            422,
            "integrationGroupTriggers.0.triggerId",
            id="other-source",
        ),
        pytest.param(
            {"integrationGroupProperties": [prop("PM_Password", "")]},
            422,
            "integrationGroupProperties.0.propertyValue",
            id="bad-property",
        ),
    ],
)
async def test_bad_trigger_update_changes_nothing(
    client: httpx.AsyncClient,
    staff_headers: H,
    create_group: Any,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    group = await create_group()
    payload = {
        "groupId": group["groupId"],
        "integrationGroupTriggers": [{"triggerId": 57, "triggerTypeId": 1}],
        **body,
    }
    r = await client.post(f"{UPDATE}?replaceTriggers=true", json=payload, headers=staff_headers)
    assert r.status_code == status, r.text
    assert r.json()["error"]["field"] == field
    after = (await client.get(group_url(group["groupId"]), headers=staff_headers)).json()
    assert after == group


async def test_replace_triggers_must_be_a_boolean(
    client: httpx.AsyncClient, staff_headers: H
) -> None:
    r = await client.post(
        f"{UPDATE}?replaceTriggers=maybe",
        json={"groupId": 1, "integrationGroupTriggers": [{"triggerId": 56}]},
        headers=staff_headers,
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "replaceTriggers"


@pytest.mark.usefixtures("tenants")
async def test_secure_values_are_masked_and_registry_decides_secure(
    client: httpx.AsyncClient, staff_headers: H, guide: Any
) -> None:
    body = with_props(
        guide,
        prop("custom.flag", "on"),
        prop("custom.token", "s3cr3t-custom", True),
        drop="PM_Password",
    )
    body["integrationGroupProperties"].append(prop("PM_Password", "F5trgFre5", False))
    r = await client.put(CREATE, json=body, headers=staff_headers)
    assert r.status_code == 200, r.text
    group = r.json()
    assert properties(group) == {
        "PM_Password": ("********", True),  # known secure key: encrypted even if isSecure false
        "User_Name": ("********", True),
        "allscripts.appointment.status": ("Acknowledge", False),
        "allscripts.appointment.type": ("WELLBAB1", False),
        "custom.flag": ("on", False),
        "custom.token": ("********", True),  # unknown key: isSecure honoured
        "pms_user_name": ("Birdeye", False),
    }
    assert group["unknownPropertyKeys"] == ["custom.flag", "custom.token"]
    known = {p["propertyKey"]: p["known"] for p in group["integrationGroupProperties"]}
    assert known["custom.flag"] is False
    assert known["PM_Password"] is True
    fetched = (await client.get(group_url(group["groupId"]), headers=staff_headers)).json()
    assert fetched == group
    listed = await client.get(
        f"/integration/businessintegrationgroup/{ENTERPRISE}", headers=staff_headers
    )
    assert listed.json() == [group]


@pytest.mark.usefixtures("tenants")
async def test_group_properties_put_and_delete(
    client: httpx.AsyncClient, staff_headers: H, create_group: Any, clock: ManualClock
) -> None:
    group = await create_group()
    gid = group["groupId"]
    set_at = {p["propertyKey"]: p["updatedAt"] for p in group["integrationGroupProperties"]}
    clock.advance(timedelta(days=90))

    r = await client.put(
        group_url(gid, "/properties/PM_Password"),
        json={"propertyValue": "N3wPassw0rd"},
        headers=staff_headers,
    )
    assert r.status_code == 200, r.text
    after = {p["propertyKey"]: p for p in r.json()["integrationGroupProperties"]}
    assert after["PM_Password"]["propertyValue"] == "********"
    assert after["PM_Password"]["updatedAt"] > set_at["PM_Password"]  # credential lifecycle
    assert after["User_Name"]["updatedAt"] == set_at["User_Name"]

    r = await client.put(
        group_url(gid, "/properties/review.url"),
        json={"propertyValue": "https://reviews.example/riverside"},
        headers=staff_headers,
    )
    assert properties(r.json())["review.url"] == ("https://reviews.example/riverside", False)
    r = await client.put(
        group_url(gid, "/properties/review.url"),
        json={"propertyValue": "nope"},
        headers=staff_headers,
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "propertyValue"

    r = await client.delete(group_url(gid, "/properties/review.url"), headers=staff_headers)
    assert r.status_code == 200
    assert "review.url" not in properties(r.json())
    r = await client.delete(group_url(gid, "/properties/review.url"), headers=staff_headers)
    assert r.status_code == 404
    assert r.json()["error"]["field"] == "propertyKey"
    r = await client.delete(group_url(gid, "/properties/User_Name"), headers=staff_headers)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "propertyKey"

    r = await client.patch(
        group_url(gid),
        json={"integrationGroupProperties": [prop("customer.fetch.delay", "2")]},
        headers=staff_headers,
    )
    assert properties(r.json())["customer.fetch.delay"] == ("2", False)


@pytest.mark.usefixtures("tenants")
async def test_group_status_patch(
    client: httpx.AsyncClient, staff_headers: H, create_group: Any
) -> None:
    gid = (await create_group())["groupId"]
    assert (await client.get(group_url(gid), headers=staff_headers)).json()["status"] == "active"
    r = await client.patch(group_url(gid), json={"status": "inactive"}, headers=staff_headers)
    assert r.status_code == 200
    assert r.json()["status"] == "inactive"
    # unauthorized is set by the connector when credentials are rejected, not by hand
    r = await client.patch(group_url(gid), json={"status": "unauthorized"}, headers=staff_headers)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "status"
    r = await client.patch(group_url(999999), json={"status": "active"}, headers=staff_headers)
    assert r.status_code == 404
    assert r.json()["error"]["field"] == "groupId"


@pytest.mark.usefixtures("tenants")
async def test_delete_group_removes_its_mappings(
    client: httpx.AsyncClient, staff_headers: H, create_group: Any, map_location: Any
) -> None:
    gid = (await create_group())["groupId"]
    mapping = (await map_location(gid, LOUDOUN, "Loudoun Office")).json()
    r = await client.delete(group_url(gid), headers=staff_headers)
    assert r.status_code == 204
    assert (await client.get(group_url(gid), headers=staff_headers)).status_code == 404
    r = await client.get(
        f"/integration/businessintegrationmapping/{mapping['mappingId']}", headers=staff_headers
    )
    assert r.status_code == 404
    assert (await client.delete(group_url(gid), headers=staff_headers)).status_code == 404
    # the business can have a new group, under a new id (ids are never reused)
    again = await create_group()
    assert again["groupId"] > gid


@pytest.mark.usefixtures("tenants")
async def test_every_change_is_audited_with_key_names_only(
    client: httpx.AsyncClient, staff_headers: H, create_group: Any
) -> None:
    gid = (await create_group())["groupId"]
    await client.post(
        f"{UPDATE}?replaceTriggers=true",
        json={"groupId": gid, "integrationGroupTriggers": [{"triggerId": 56}]},
        headers=staff_headers,
    )
    await client.patch(group_url(gid), json={"status": "inactive"}, headers=staff_headers)
    await client.put(
        group_url(gid, "/properties/PM_Password"),
        json={"propertyValue": "Xy"},
        headers=staff_headers,
    )
    await client.delete(group_url(gid), headers=staff_headers)
    events = (
        await client.get(
            "/api/audit", params={"targetType": "integration_group"}, headers=staff_headers
        )
    ).json()["items"]
    assert [e["action"] for e in reversed(events)] == [
        "integration_group.create",
        "integration_group.triggers",
        "integration_group.status",
        "integration_group.properties.set",
        "integration_group.delete",
    ]
    assert all(e["targetId"] == str(gid) and e["actor"] == "api_key:staff" for e in events)
    create = events[-1]["details"]
    assert create["propertyKeys"] == [
        "User_Name",
        "PM_Password",
        "pms_user_name",
        "allscripts.appointment.type",
        "allscripts.appointment.status",
    ]
    assert create["triggerIds"] == [56]


async def test_catalog_lists_sources(client: httpx.AsyncClient, staff_headers: H) -> None:
    r = await client.get("/integration/sources", headers=staff_headers)
    assert r.json() == [
        {
            "id": 32,
            "integrationSource": "ALLSCRIPTS",
            "sourceCategory": "Healthcare",
            "integrationType": "Birdeye API",
            "oauthEnabled": False,
            "lifecycle": "live",
        }
    ]
    r = await client.get(
        "/integration/trigger/integrationtriggers/sourceid/31", headers=staff_headers
    )
    assert r.status_code == 404
    assert r.json()["error"]["field"] == "sourceId"


@pytest.mark.usefixtures("extra_catalog")
async def test_a_new_source_is_data(client: httpx.AsyncClient, staff_headers: H) -> None:
    r = await client.get(
        "/integration/trigger/integrationtriggers/sourceid/99", headers=staff_headers
    )
    assert [t["triggerService"] for t in r.json()] == ["testPmsAppointmentTriggerService"]
    r = await client.get(
        "/integration/trigger/integrationtriggers/sourceid/32", headers=staff_headers
    )
    assert [t["id"] for t in r.json()] == [56, 57]
