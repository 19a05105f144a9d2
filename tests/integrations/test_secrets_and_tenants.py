"""Secure values never leave encrypted; business keys see only their own tenant, both ways."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from frontdesk.audit.models import AuditEvent
from frontdesk.context import AppContext
from frontdesk.integrations.groups import group_properties

ENTERPRISE = 149547879572938
LOUDOUN = 149547899859217
FAIRFAX = 149547899859218
LAKESIDE = 149547800000001
SECRET_VALUES = ("10220c34e:0010220^1^", "F5trgFre5", "N3wPassw0rd", "hush-location", "9z9z9:bad")
H = dict[str, str]

pytestmark = pytest.mark.usefixtures("tenants")


async def exercise_secrets(client: httpx.AsyncClient, headers: H, guide: Any) -> int:
    """Every way a secure value can come in: create, PUT, PATCH, mapping, a refused value."""
    r = await client.put(
        "/integration/add/businessintegrationgroup", json=guide.group_body(), headers=headers
    )
    gid: int = r.json()["groupId"]
    base = f"/integration/businessintegrationgroup/id/{gid}"
    await client.put(
        f"{base}/properties/PM_Password", json={"propertyValue": "N3wPassw0rd"}, headers=headers
    )
    r = await client.patch(
        base,
        json={
            "integrationGroupProperties": [
                {"propertyKey": "User_Name", "propertyValue": "9z9z9:bad x"}
            ]
        },
        headers=headers,
    )
    assert r.status_code == 422
    r = await client.put(
        "/integration/add/businessintegrationmapping",
        json={
            "businessNumber": LOUDOUN,
            "integrationGroupId": gid,
            "integrationProperties": [
                {"propertyKey": "allscripts.location.name", "propertyValue": "Loudoun Office"},
                {"propertyKey": "vendor.key", "propertyValue": "hush-location", "isSecure": True},
            ],
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    for url in (base, f"{base}/mappings", f"/integration/businessintegrationgroup/{ENTERPRISE}"):
        shown = (await client.get(url, headers=headers)).text
        assert not [s for s in SECRET_VALUES if s in shown], url
    return gid


async def test_secure_values_are_encrypted_and_never_shown_logged_or_audited(
    client: httpx.AsyncClient,
    staff_headers: H,
    guide: Any,
    ctx: AppContext,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    gid = await exercise_secrets(client, staff_headers, guide)

    audit = (await client.get("/api/audit", params={"limit": 1000}, headers=staff_headers)).text
    async with ctx.db.reader() as session:
        details = [e.details for e in (await session.execute(select(AuditEvent))).scalars()]
        stored = (
            await session.execute(
                text(
                    "SELECT key, value, secret_value FROM integration_group_properties "
                    "UNION ALL SELECT key, value, secret_value FROM integration_mapping_properties"
                )
            )
        ).all()
        plain = await group_properties(session, group_id=gid, secrets=ctx.secrets)
    captured = capsys.readouterr()
    assert "http.request" in captured.err  # the logs were captured: the checks below bite
    for secret in SECRET_VALUES:
        assert secret not in audit
        assert secret not in repr(details)
        assert secret not in captured.out + captured.err
        assert secret not in caplog.text
        assert all(secret not in repr(row) for row in stored)
    by_key = {row.key: row for row in stored}
    assert by_key["PM_Password"].value is None
    assert by_key["PM_Password"].secret_value.startswith("gAAAAA")
    assert by_key["vendor.key"].value is None
    assert plain["PM_Password"] == "N3wPassw0rd"  # internal callers get the plain value
    assert plain["User_Name"] == "10220c34e:0010220^1^"

    if ctx.db.is_sqlite:
        database = Path(make_url(ctx.db.url).database or "")
        files = [p for p in database.parent.glob(database.name + "*") if p.is_file()]
        assert database in files
        for path in files:
            content = path.read_bytes()
            for secret in SECRET_VALUES:
                assert secret.encode() not in content, path.name


async def test_business_keys_see_only_their_own_integrations_both_ways(
    client: httpx.AsyncClient,
    staff_headers: H,
    api_key: Any,
    create_group: Any,
    map_location: Any,
) -> None:
    riverside = await api_key(name="riverside", business=ENTERPRISE)
    lakeside = await api_key(name="lakeside", business=LAKESIDE)
    river_group = (await create_group(ENTERPRISE, headers=riverside))["groupId"]
    lake_group = (await create_group(LAKESIDE, headers=lakeside))["groupId"]
    river_map = (await map_location(river_group, LOUDOUN, "Loudoun", headers=riverside)).json()
    lake_map = (await map_location(lake_group, LAKESIDE, headers=lakeside)).json()

    for own, other, own_group, other_group, own_map, other_map, other_business, own_number in (
        (riverside, lakeside, river_group, lake_group, river_map, lake_map, LAKESIDE, ENTERPRISE),
        (lakeside, riverside, lake_group, river_group, lake_map, river_map, ENTERPRISE, LAKESIDE),
    ):
        del other
        # own things are visible
        r = await client.get(f"/integration/businessintegrationgroup/{own_number}", headers=own)
        assert [g["groupId"] for g in r.json()] == [own_group]
        assert (
            await client.get(
                f"/integration/businessintegrationmapping/{own_map['mappingId']}", headers=own
            )
        ).status_code == 200
        # the other tenant's do not exist: 404 naming the field, for every verb
        g = f"/integration/businessintegrationgroup/id/{other_group}"
        m = f"/integration/businessintegrationmapping/{other_map['mappingId']}"
        attempts: list[tuple[str, str, Any, str]] = [
            (
                "GET",
                f"/integration/businessintegrationgroup/{other_business}",
                None,
                "businessNumber",
            ),
            ("GET", g, None, "groupId"),
            ("GET", f"{g}/mappings", None, "groupId"),
            ("PATCH", g, {"status": "inactive"}, "groupId"),
            ("DELETE", g, None, "groupId"),
            (
                "PUT",
                f"{g}/properties/review.url",
                {"propertyValue": "https://x.example"},
                "groupId",
            ),
            ("DELETE", f"{g}/properties/pms_user_name", None, "groupId"),
            (
                "POST",
                "/integration/update/businessintegrationgroup?replaceTriggers=true",
                {"groupId": other_group, "integrationGroupTriggers": [{"triggerId": 56}]},
                "groupId",
            ),
            (
                "PUT",
                "/integration/add/businessintegrationgroup",
                {
                    "parentBusinessNumber": other_business,
                    "integrationSourceId": 32,
                    "integrationGroupTriggers": [{"triggerId": 56}],
                },
                "parentBusinessNumber",
            ),
            (
                "PUT",
                "/integration/add/businessintegrationmapping",
                {"businessNumber": own_number, "integrationGroupId": other_group},
                "integrationGroupId",
            ),
            ("GET", m, None, "mappingId"),
            ("PATCH", m, {"active": False}, "mappingId"),
            ("DELETE", m, None, "mappingId"),
            (
                "PUT",
                f"{m}/properties/review.url",
                {"propertyValue": "https://x.example"},
                "mappingId",
            ),
            ("DELETE", f"{m}/properties/allscripts.location.name", None, "mappingId"),
        ]
        for method, url, body, field in attempts:
            r = await client.request(method, url, json=body, headers=own)
            assert r.status_code == 404, (method, url, r.text)
            assert r.json()["error"]["field"] == field, (method, url)

    # mapping someone else's location into your own group: the location does not exist for you
    r = await map_location(lake_group, FAIRFAX, "Fairfax", headers=lakeside)
    assert r.status_code == 404
    assert r.json()["error"]["field"] == "businessNumber"

    # nothing changed for either tenant; staff sees both
    for group_id, mapping in ((river_group, river_map), (lake_group, lake_map)):
        r = await client.get(
            f"/integration/businessintegrationgroup/id/{group_id}", headers=staff_headers
        )
        assert r.json()["status"] == "active"
        r = await client.get(
            f"/integration/businessintegrationmapping/{mapping['mappingId']}", headers=staff_headers
        )
        assert r.json() == mapping
    # and the audit log follows the same fence
    river_audit = (await client.get("/api/audit", headers=riverside)).json()["items"]
    assert {e["targetId"] for e in river_audit if e["targetType"] == "integration_group"} == {
        str(river_group)
    }
    lake_audit = (await client.get("/api/audit", headers=lakeside)).json()["items"]
    assert {e["targetId"] for e in lake_audit if e["targetType"] == "integration_mapping"} == {
        str(lake_map["mappingId"])
    }


async def test_a_location_key_sees_no_enterprise_group(
    client: httpx.AsyncClient, api_key: Any, create_group: Any, map_location: Any
) -> None:
    gid = (await create_group())["groupId"]
    await map_location(gid, LOUDOUN, "Loudoun")
    loudoun = await api_key(name="loudoun", business=LOUDOUN)
    r = await client.get(f"/integration/businessintegrationgroup/{LOUDOUN}", headers=loudoun)
    assert r.json() == []
    r = await client.get(f"/integration/businessintegrationgroup/id/{gid}", headers=loudoun)
    assert r.status_code == 404
