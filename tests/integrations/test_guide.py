"""The support guide's curl commands, sent as written plus the auth header.

Payloads and sample responses are kept verbatim in ``fixtures/`` (including the no-break
spaces the guide's page put into them). Our responses may add keys after the guide's; every
key of the guide's samples must be there with the same value.
"""

from __future__ import annotations

import warnings
from typing import Any

import httpx

ENTERPRISE = 149547879572938
LOUDOUN = 149547899859217
JSON = {"content-type": "application/json", "cache-control": "no-cache"}


def guide_keys(sample: Any, actual: Any) -> Any:
    """``actual`` cut down to the keys of ``sample`` (recursively)."""
    if isinstance(sample, dict):
        return {k: guide_keys(v, actual.get(k)) for k, v in sample.items()}
    if isinstance(sample, list) and isinstance(actual, list) and len(sample) == len(actual):
        return [guide_keys(s, a) for s, a in zip(sample, actual, strict=True)]
    return actual


async def send(
    client: httpx.AsyncClient,
    guide: Any,
    method: str,
    url: str,
    headers: dict[str, str],
    fixture: str,
) -> httpx.Response:
    return await client.request(
        method, url, content=guide.raw(fixture), headers={**JSON, **headers}
    )


async def test_trigger_list_is_exactly_the_guides_sample(
    client: httpx.AsyncClient, staff_headers: dict[str, str], guide: Any
) -> None:
    r = await client.get(
        "/integration/trigger/integrationtriggers/sourceid/32", headers={**JSON, **staff_headers}
    )
    assert r.status_code == 200
    assert r.json() == guide.json("triggers_source_32.response.json")


async def test_enterprise_setup_as_in_the_guide(
    client: httpx.AsyncClient, staff_headers: dict[str, str], guide: Any, tenants: None
) -> None:
    await guide.set_next_group_id(1314)

    r = await send(
        client,
        guide,
        "PUT",
        "/integration/add/businessintegrationgroup",
        staff_headers,
        "create_group.request.json",
    )
    assert r.status_code == 200, r.text
    assert r.json()["groupId"] == 1314

    r = await client.get(
        f"/integration/businessintegrationgroup/{ENTERPRISE}", headers=staff_headers
    )
    assert r.status_code == 200
    sample = guide.json("business_groups.response.json")
    assert guide_keys(sample, r.json()) == sample

    r = await send(
        client,
        guide,
        "POST",
        "/integration/update/businessintegrationgroup?replaceTriggers=true",
        staff_headers,
        "update_triggers.request.json",
    )
    assert r.status_code == 200, r.text
    assert guide_keys(sample[0], r.json()) == sample[0]

    # "Location Name is mandatory in case of multilocation": the single-location form is refused
    r = await send(
        client,
        guide,
        "PUT",
        "/integration/add/businessintegrationmapping",
        staff_headers,
        "mapping_single_location.request.json",
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "integrationProperties"
    assert "allscripts.location.name" in r.json()["error"]["message"]

    r = await send(
        client,
        guide,
        "PUT",
        "/integration/add/businessintegrationmapping",
        staff_headers,
        "mapping_multi_location.request.json",
    )
    assert r.status_code == 200, r.text
    mapping = r.json()
    assert mapping["businessNumber"] == LOUDOUN
    assert mapping["integrationGroupId"] == 1314
    assert mapping["active"] is True
    assert [(p["propertyKey"], p["propertyValue"]) for p in mapping["integrationProperties"]] == [
        ("allscripts.location.name", "Loudoun Office")
    ]

    # the location now finds the group it is mapped into
    r = await client.get(f"/integration/businessintegrationgroup/{LOUDOUN}", headers=staff_headers)
    assert [g["groupId"] for g in r.json()] == [1314]


async def test_smb_setup_as_in_the_guide(
    client: httpx.AsyncClient, staff_headers: dict[str, str], guide: Any, clock: object
) -> None:
    # For an SMB the guide puts the SMB's own Business ID into parentBusinessNumber.
    r = await client.post(
        "/api/businesses", json={"businessNumber": LOUDOUN, "name": "Solo"}, headers=staff_headers
    )
    assert r.status_code == 201
    await guide.set_next_group_id(1314)
    payload = guide.raw("create_group.request.json").replace(
        str(ENTERPRISE).encode(), str(LOUDOUN).encode()
    )
    r = await client.put(
        "/integration/add/businessintegrationgroup",
        content=payload,
        headers={**JSON, **staff_headers},
    )
    assert r.status_code == 200, r.text
    assert r.json()["groupId"] == 1314

    r = await send(
        client,
        guide,
        "PUT",
        "/integration/add/businessintegrationmapping",
        staff_headers,
        "mapping_single_location.request.json",
    )
    assert r.status_code == 200, r.text
    assert r.json()["businessNumber"] == LOUDOUN
    assert r.json()["integrationProperties"] == []

    r = await client.get(f"/integration/businessintegrationgroup/{LOUDOUN}", headers=staff_headers)
    sample = guide.json("business_groups.response.json")
    assert guide_keys(sample, r.json()) == sample


async def test_guide_calls_need_the_auth_header(client: httpx.AsyncClient, guide: Any) -> None:
    for method, url, fixture in (
        ("GET", "/integration/trigger/integrationtriggers/sourceid/32", None),
        ("GET", f"/integration/businessintegrationgroup/{ENTERPRISE}", None),
        ("PUT", "/integration/add/businessintegrationgroup", "create_group.request.json"),
        (
            "POST",
            "/integration/update/businessintegrationgroup?replaceTriggers=true",
            "update_triggers.request.json",
        ),
        (
            "PUT",
            "/integration/add/businessintegrationmapping",
            "mapping_multi_location.request.json",
        ),
    ):
        content = guide.raw(fixture) if fixture else None
        r = await client.request(method, url, content=content, headers=JSON)
        assert r.status_code == 401, (method, url)


async def test_openapi_describes_every_endpoint(client: httpx.AsyncClient) -> None:
    # Other features' duplicate-operation-id warnings are theirs to fix, not this test's.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Duplicate Operation ID", category=UserWarning)
        r = await client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    expected = {
        "/integration/add/businessintegrationgroup": {"put"},
        "/integration/trigger/integrationtriggers/sourceid/{sourceId}": {"get"},
        "/integration/businessintegrationgroup/{businessNumber}": {"get"},
        "/integration/update/businessintegrationgroup": {"post"},
        "/integration/add/businessintegrationmapping": {"put"},
        "/integration/sources": {"get"},
        "/integration/businessintegrationgroup/id/{groupId}": {"get", "patch", "delete"},
        "/integration/businessintegrationgroup/id/{groupId}/mappings": {"get"},
        "/integration/businessintegrationgroup/id/{groupId}/properties/{propertyKey}": {
            "put",
            "delete",
        },
        "/integration/businessintegrationmapping/{mappingId}": {"get", "patch", "delete"},
        "/integration/businessintegrationmapping/{mappingId}/properties/{propertyKey}": {
            "put",
            "delete",
        },
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
    update = paths["/integration/update/businessintegrationgroup"]["post"]
    assert [p["name"] for p in update["parameters"]] == ["replaceTriggers"]
