"""Businesses through HTTP: SMBs, enterprises, locations, validation and tenant isolation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

ENTERPRISE = 149547879572938
LOCATION_A = 149547899859217
LOCATION_B = 149547899859218
OTHER_SMB = 149547800000001


async def add(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post("/api/businesses", json=body, headers=headers)


async def test_smb_becomes_enterprise_when_its_first_location_is_added(
    client: httpx.AsyncClient, staff_headers: dict[str, str]
) -> None:
    r = await add(client, staff_headers, businessNumber=ENTERPRISE, name="Riverside")
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "smb"
    assert r.json()["timezone"] == "America/New_York"

    r = await add(
        client,
        staff_headers,
        businessNumber=LOCATION_A,
        name="Loudoun Office",
        enterpriseNumber=ENTERPRISE,
        timezone="America/Chicago",
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "location"
    assert r.json()["enterpriseNumber"] == ENTERPRISE
    assert r.json()["timezone"] == "America/Chicago"

    enterprise = (await client.get(f"/api/businesses/{ENTERPRISE}", headers=staff_headers)).json()
    assert enterprise["kind"] == "enterprise"


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        pytest.param(
            {"businessNumber": 12345, "name": "x"},
            422,
            "invalid_input",
            "businessNumber",
            id="too-short-number",
        ),
        pytest.param(
            {"businessNumber": 1495478795729381, "name": "x"},
            422,
            "invalid_input",
            "businessNumber",
            id="too-long-number",
        ),
        pytest.param(
            {"businessNumber": "abc", "name": "x"},
            422,
            "invalid_input",
            "businessNumber",
            id="not-a-number",
        ),
        pytest.param(
            {"businessNumber": OTHER_SMB}, 422, "invalid_input", "name", id="missing-name"
        ),
        pytest.param(
            {"businessNumber": OTHER_SMB, "name": "x", "timezone": "Mars/Base"},
            422,
            "invalid_input",
            "timezone",
            id="unknown-timezone",
        ),
        pytest.param(
            {"businessNumber": OTHER_SMB, "name": "x", "enterpriseNumber": 999999999999999},
            404,
            "not_found",
            "enterpriseNumber",
            id="unknown-enterprise",
        ),
        pytest.param(
            {"businessNumber": OTHER_SMB, "name": "x", "colour": "red"},
            422,
            "invalid_input",
            "colour",
            id="unknown-field",
        ),
    ],
)
async def test_bad_input_is_refused_with_a_clear_error(
    client: httpx.AsyncClient,
    staff_headers: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    r = await add(client, staff_headers, **body)
    assert r.status_code == status, r.text
    assert r.json() == {
        "error": {"code": code, "message": r.json()["error"]["message"], "field": field}
    }
    listed = await client.get("/api/businesses", headers=staff_headers)
    assert listed.json() == []  # nothing half-written


async def test_duplicate_number_is_a_conflict(
    client: httpx.AsyncClient, staff_headers: dict[str, str]
) -> None:
    assert (await add(client, staff_headers, businessNumber=OTHER_SMB, name="a")).status_code == 201
    r = await add(client, staff_headers, businessNumber=OTHER_SMB, name="b")
    assert r.status_code == 409
    assert r.json()["error"]["field"] == "businessNumber"


async def test_malformed_json_is_422(
    client: httpx.AsyncClient, staff_headers: dict[str, str]
) -> None:
    r = await client.post(
        "/api/businesses",
        content=b'{"businessNumber": 1,',
        headers={**staff_headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "malformed_json"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-key"),
        pytest.param({"Authorization": "Bearer fd_not-a-real-key-000000000000"}, id="bad-bearer"),
        pytest.param({"X-API-Key": "nope"}, id="bad-header"),
    ],
)
async def test_every_endpoint_needs_a_key(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for method, path in (
        ("GET", "/api/businesses"),
        ("POST", "/api/businesses"),
        ("GET", "/api/audit"),
        ("GET", "/api/api-keys"),
    ):
        r = await client.request(method, path, headers=headers, json={})
        assert r.status_code == 401, (method, path)
        assert r.json()["error"]["code"] == "authentication_required"


async def test_revoked_key_stops_working(
    client: httpx.AsyncClient, staff_headers: dict[str, str]
) -> None:
    created = (
        await client.post("/api/api-keys", json={"name": "temp"}, headers=staff_headers)
    ).json()
    temp = {"X-API-Key": created["key"]}
    assert (await client.get("/api/businesses", headers=temp)).status_code == 200
    assert (
        await client.delete(f"/api/api-keys/{created['id']}", headers=staff_headers)
    ).status_code == 200
    assert (await client.get("/api/businesses", headers=temp)).status_code == 401
    listed = (await client.get("/api/api-keys", headers=staff_headers)).json()
    assert all("key" not in k for k in listed)


async def test_business_keys_see_only_their_tenant_both_ways(
    client: httpx.AsyncClient, staff_headers: dict[str, str], api_key: Any
) -> None:
    await add(client, staff_headers, businessNumber=ENTERPRISE, name="Riverside")
    await add(
        client, staff_headers, businessNumber=LOCATION_A, name="A", enterpriseNumber=ENTERPRISE
    )
    await add(client, staff_headers, businessNumber=OTHER_SMB, name="Lakeside")
    riverside = await api_key(name="riverside", business=ENTERPRISE)
    lakeside = await api_key(name="lakeside", business=OTHER_SMB)

    seen = [
        b["businessNumber"] for b in (await client.get("/api/businesses", headers=riverside)).json()
    ]
    assert seen == [ENTERPRISE, LOCATION_A]
    seen = [
        b["businessNumber"] for b in (await client.get("/api/businesses", headers=lakeside)).json()
    ]
    assert seen == [OTHER_SMB]

    assert (await client.get(f"/api/businesses/{OTHER_SMB}", headers=riverside)).status_code == 404
    assert (await client.get(f"/api/businesses/{LOCATION_A}", headers=lakeside)).status_code == 404
    # a business key may add locations to its own enterprise only
    r = await add(
        client, riverside, businessNumber=LOCATION_B, name="B", enterpriseNumber=ENTERPRISE
    )
    assert r.status_code == 201
    r = await add(
        client, lakeside, businessNumber=149547800000002, name="C", enterpriseNumber=ENTERPRISE
    )
    assert r.status_code == 404
    r = await add(client, lakeside, businessNumber=149547800000003, name="standalone")
    assert r.status_code == 403
    # and the audit log follows the same fence
    riverside_audit = (await client.get("/api/audit", headers=riverside)).json()["items"]
    assert {e["targetId"] for e in riverside_audit} >= {str(LOCATION_B)}
    assert str(OTHER_SMB) not in {e["targetId"] for e in riverside_audit}
    lakeside_audit = (await client.get("/api/audit", headers=lakeside)).json()["items"]
    assert {e["targetId"] for e in lakeside_audit if e["targetType"] == "business"} == {
        str(OTHER_SMB)
    }


async def test_audit_records_who_what_when(
    client: httpx.AsyncClient, staff_headers: dict[str, str]
) -> None:
    await add(client, staff_headers, businessNumber=ENTERPRISE, name="Riverside")
    events = (
        await client.get("/api/audit", params={"action": "business.create"}, headers=staff_headers)
    ).json()["items"]
    assert len(events) == 1
    assert events[0]["actor"] == "api_key:staff"
    assert events[0]["targetId"] == str(ENTERPRISE)
    assert events[0]["details"]["kind"] == "smb"
    assert events[0]["at"]


async def test_audit_pages_with_cursor_and_the_deprecated_before_id(
    client: httpx.AsyncClient, staff_headers: dict[str, str]
) -> None:
    for n in range(5):
        r = await add(client, staff_headers, businessNumber=OTHER_SMB + 10 + n, name=f"B{n}")
        assert r.status_code == 201, r.text
    params: dict[str, Any] = {"action": "business.create", "limit": 2}
    pages: list[list[str]] = []
    while True:
        body = (await client.get("/api/audit", params=params, headers=staff_headers)).json()
        pages.append([e["targetId"] for e in body["items"]])
        if body["nextCursor"] is None:
            break
        params["cursor"] = body["nextCursor"]
    assert pages == [
        [str(OTHER_SMB + 14), str(OTHER_SMB + 13)],
        [str(OTHER_SMB + 12), str(OTHER_SMB + 11)],
        [str(OTHER_SMB + 10)],
    ]
    first = (await client.get("/api/audit", params={"limit": 2}, headers=staff_headers)).json()[
        "items"
    ]
    old_style = await client.get(
        "/api/audit", params={"limit": 2, "beforeId": first[-1]["id"]}, headers=staff_headers
    )
    assert [e["targetId"] for e in old_style.json()["items"]] == pages[1]


async def test_healthz_and_openapi(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    spec = (await client.get("/openapi.json")).json()
    assert "/api/businesses" in spec["paths"]
    missing = await client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
