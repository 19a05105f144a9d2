"""The HTTP surface: runs, the decision log (search, explain, summary), tenant isolation,
masked patient fields, audited reveals, and logs without patient data."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from frontdesk.sync.engine import SyncEngine

from .conftest import DAY, ENTERPRISE, LOCATIONS, OTHER_TENANT, H, Loopback, Practice
from .test_decisions import expected, run_day

ON = DAY + timedelta(days=1)


@pytest.fixture
async def synced(practice: Practice, engine: SyncEngine) -> Practice:
    await run_day(practice, engine, ON)
    return practice


async def other_tenant_key(client: httpx.AsyncClient, staff_headers: H, api_key: Any) -> H:
    r = await client.post(
        "/api/businesses",
        json={"businessNumber": OTHER_TENANT, "name": "Elsewhere"},
        headers=staff_headers,
    )
    assert r.status_code == 201, r.text
    headers: H = await api_key(name="other", business=OTHER_TENANT)
    return headers


async def test_runs_through_the_api(synced: Practice) -> None:
    client, h = synced.client, synced.headers
    runs = (await client.get(f"/api/sync/runs?groupId={synced.group_id}", headers=h)).json()
    (run,) = runs
    assert run["status"] == "succeeded"
    assert run["kind"] == "manual"
    assert run["window"] == {"first": DAY.isoformat(), "last": DAY.isoformat()}
    assert run["counts"]["fetched"] == 150
    assert run["requestedBy"].startswith("api_key:")
    one = (await client.get(f"/api/sync/runs/{run['runId']}", headers=h)).json()
    assert one == run


async def test_search_explain_and_summary(synced: Practice, unity: Loopback) -> None:
    client, h = synced.client, synced.headers
    want = expected(unity.sandbox, [DAY])
    r = await client.get(
        "/api/checkins", params={"businessNumber": ENTERPRISE, "limit": 1000}, headers=h
    )
    assert r.status_code == 200, r.text
    rows = r.json()["items"]
    assert len(rows) == 150
    assert r.json()["nextCursor"] is None
    assert {(x["appointmentId"], x["decision"]) for x in rows} == {
        (a, "eligible" if reason == "eligible" else "restricted") for (a, _), reason in want.items()
    }
    minors = (
        await client.get("/api/checkins", params={"reason": "minor", "limit": 1000}, headers=h)
    ).json()["items"]
    assert {x["appointmentId"] for x in minors} == {
        a for (a, _), reason in want.items() if reason == "minor"
    }
    assert all(x["restrictionWords"] == "The patient is under the minimum age" for x in minors)
    by_patient = (
        await client.get("/api/checkins", params={"patientId": rows[0]["patientId"]}, headers=h)
    ).json()["items"]
    assert rows[0]["id"] in {x["id"] for x in by_patient}
    status_row = next(x for x in rows if x["restrictionReason"] == "status_not_allowed")
    explained = (await client.get(f"/api/checkins/{status_row['id']}", headers=h)).json()
    outcomes = [(s["rule"], s["outcome"]) for s in explained["rules"]]
    assert outcomes[:3] == [
        ("integration_is_beta", "passed"),
        ("location_not_allowed", "passed"),
        ("status_not_allowed", "restricted"),
    ]
    assert {o for _, o in outcomes[3:]} == {"not_evaluated"}
    assert "Acknowledge, Confirmed" in explained["rules"][2]["why"]
    summary = (
        await client.get(
            "/api/checkins/summary",
            params={"businessNumber": ENTERPRISE, "day": DAY.isoformat()},
            headers=h,
        )
    ).json()
    assert summary["total"] == 150
    assert summary["eligible"] == sum(1 for r in want.values() if r == "eligible")
    assert summary["restricted"]["minor"] == len(minors)


async def test_checkins_page_with_cursor_and_the_deprecated_before_id(synced: Practice) -> None:
    client, h = synced.client, synced.headers
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 40} | ({"cursor": cursor} if cursor else {})
        body = (await client.get("/api/checkins", params=params, headers=h)).json()
        seen += [x["id"] for x in body["items"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert pages == 4  # 40 + 40 + 40 + 30
    assert len(seen) == len(set(seen)) == 150
    assert seen == sorted(seen, reverse=True)
    old_style = await client.get(
        "/api/checkins", params={"limit": 40, "beforeId": seen[39]}, headers=h
    )
    assert [x["id"] for x in old_style.json()["items"]] == seen[40:80]
    bad = await client.get("/api/checkins", params={"cursor": "not-ours"}, headers=h)
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "cursor")


async def test_patient_fields_are_masked_unless_staff_reveals(
    synced: Practice, unity: Loopback, api_key: Any
) -> None:
    client, staff = synced.client, synced.headers
    row = (await client.get("/api/checkins", params={"reason": "dry_run"}, headers=staff)).json()[
        "items"
    ][0]
    patient = unity.sandbox.practice.patient(int(row["patientId"]))
    assert patient is not None
    masked = row["patient"]
    assert masked["first_name"] == patient.first_name.strip()[0] + "***"
    assert masked["email"].startswith(patient.email[0] + "***@")
    assert masked["birth_date"] == "********"
    assert patient.last_name.strip() not in str(row)
    enterprise_key = await api_key(name="ent", business=ENTERPRISE)
    r = await client.get(f"/api/checkins/{row['id']}?reveal=true", headers=enterprise_key)
    assert r.status_code == 403
    shown = (await client.get(f"/api/checkins/{row['id']}?reveal=true", headers=staff)).json()
    assert shown["patient"]["last_name"] == patient.last_name.strip()
    assert shown["patient"]["email"] == patient.email.strip()
    assert shown["revealed"] is True
    audit = await client.get("/api/audit", params={"action": "checkins.reveal"}, headers=staff)
    assert audit.status_code == 200
    assert any(e["targetId"] == str(row["id"]) for e in audit.json()["items"])


async def test_tenant_isolation(synced: Practice, api_key: Any, staff_headers: H) -> None:
    client = synced.client
    other = await other_tenant_key(client, staff_headers, api_key)
    gid = synced.group_id
    base = f"/integration/businessintegrationgroup/id/{gid}"
    assert (await client.post(base + "/run", json={}, headers=other)).status_code == 404
    backfill = {"first": "2025-03-01", "last": "2025-03-02"}
    assert (await client.post(base + "/backfill", json=backfill, headers=other)).status_code == 404
    assert (await client.get(f"/api/sync/runs?groupId={gid}", headers=other)).status_code == 404
    runs = (await client.get(f"/api/sync/runs?groupId={gid}", headers=staff_headers)).json()
    assert (
        await client.get(f"/api/sync/runs/{runs[0]['runId']}", headers=other)
    ).status_code == 404
    assert (await client.get("/api/checkins", headers=other)).json() == {
        "items": [],
        "nextCursor": None,
    }
    r = await client.get("/api/checkins", params={"businessNumber": ENTERPRISE}, headers=other)
    assert r.status_code == 404
    some = (await client.get("/api/checkins", headers=staff_headers)).json()["items"][0]
    assert (await client.get(f"/api/checkins/{some['id']}", headers=other)).status_code == 404
    # a location's key sees its own check-ins only
    loudoun = await api_key(name="loudoun", business=LOCATIONS["Loudoun Office"])
    mine = (await client.get("/api/checkins", params={"limit": 1000}, headers=loudoun)).json()[
        "items"
    ]
    assert len(mine) == 25
    assert {x["businessNumber"] for x in mine} == {LOCATIONS["Loudoun Office"]}


async def test_logs_carry_decisions_but_no_patient_data(
    practice: Practice, engine: SyncEngine, unity: Loopback, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    await run_day(practice, engine, ON)
    logs = capsys.readouterr().err
    assert logs.count('"event": "checkin.decided"') == 150
    assert '"pms_appointment_status": "Acknowledge"' in logs
    assert '"pms_appointment_practice_name": "Loudoun Office"' in logs
    assert '"restriction_reason": "minor"' in logs
    assert '"event": "sync.run.finished"' in logs
    practice_data = unity.sandbox.practice
    for appointment in practice_data.appointments_on(DAY):
        patient = practice_data.patient(appointment.patient_id)
        assert patient is not None
        values = [patient.last_name, patient.email, patient.cell_phone, patient.home_phone]
        if patient.guarantor is not None:  # a minor's guardian, whom requests may go to
            guardian = patient.guarantor
            values += [guardian.first_name, guardian.last_name, guardian.email, guardian.cell_phone]
        for value in values:
            if value.strip():  # a whole word: "Lee" the name, not "Leesburg" the office
                assert not re.search(rf"(?<!\w){re.escape(value.strip())}(?!\w)", logs), value
        assert patient.birth_date.strftime("%m/%d/%Y") not in logs
        assert patient.birth_date.isoformat() not in logs


async def test_validation(practice: Practice) -> None:
    client, h = practice.client, practice.headers
    base = f"/integration/businessintegrationgroup/id/{practice.group_id}"
    r = await client.post(
        base + "/backfill", json={"first": "2025-03-05", "last": "2025-03-01"}, headers=h
    )
    assert (r.status_code, r.json()["error"]["field"]) == (422, "last")
    r = await client.get("/api/checkins", params={"reason": "nope"}, headers=h)
    assert (r.status_code, r.json()["error"]["field"]) == (422, "reason")
    r = await client.post(base + "/run", json={"mappingIds": [999999]}, headers=h)
    assert r.status_code == 404
