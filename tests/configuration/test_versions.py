"""Configuration versions: every change through the services makes one, ``config history``
shows them with secrets as changed/unchanged only, ``config rollback`` restores a version
(secrets included) as a new version, and ``admin rotate-key`` re-encrypts their copies."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from .conftest import (
    ENTERPRISE,
    LOUDOUN,
    PASSWORD,
    SECRET_VALUES,
    Cli,
    H,
    configure,
    prop,
    write_secrets,
)


async def history(cli: Cli, group_id: int) -> list[dict[str, Any]]:
    result = await cli("config", "history", "--group", str(group_id), "--json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)
    return rows


async def test_changes_make_versions_and_rollback_restores_one(
    cli: Cli, client: httpx.AsyncClient, staff_headers: H, tmp_path: Path
) -> None:
    configured = await configure(client, staff_headers)
    group = configured.group_id
    versions = await history(cli, group)
    # create group, two mappings (one request each): three versions, all from the API
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert {v["origin"] for v in versions} == {"api"}
    baseline = (await cli("config", "export")).output

    r = await client.patch(
        f"/integration/businessintegrationgroup/id/{group}",
        json={
            "integrationGroupProperties": [
                prop("allscripts.appointment.status", "Confirmed"),
                prop("PM_Password", "a-new-password", True),
            ]
        },
        headers=staff_headers,
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"/integration/businessintegrationmapping/{configured.mappings[LOUDOUN]}",
        json={"active": False},
        headers=staff_headers,
    )
    assert r.status_code == 200, r.text
    versions = await history(cli, group)
    assert [v["version"] for v in versions] == [1, 2, 3, 4, 5]
    changed = {c["path"]: c for c in versions[3]["changes"]}  # one request: one version
    assert changed["properties.allscripts.appointment.status"]["before"] == "Acknowledge,Confirmed"
    assert changed["properties.allscripts.appointment.status"]["after"] == "Confirmed"
    assert changed["properties.PM_Password"]["after"] == "(secret, changed)"
    assert "properties.User_Name" not in changed  # untouched secret: not listed
    assert {c["path"] for c in versions[4]["changes"]} == {f"mappings.{LOUDOUN}.active"}

    rolled = await cli("config", "rollback", "--group", str(group), "--to", "3")
    assert rolled.exit_code == 0, rolled.output
    assert "now version 6" in rolled.output
    assert (await cli("config", "export")).output == baseline
    versions = await history(cli, group)
    assert versions[-1]["origin"] == "rollback"
    assert versions[-1]["actor"] == "system:cli"  # who ran it, not a made-up actor
    restored = {c["path"] for c in versions[-1]["changes"]}
    assert "properties.PM_Password" in restored
    # the password is the one of version 3 again: the file with the old secret changes nothing
    secrets = write_secrets(tmp_path / "secrets")
    source = tmp_path / "practice.yaml"
    source.write_text(baseline)
    same = await cli("config", "diff", str(source), "--secrets-dir", str(secrets))
    assert same.exit_code == 0, same.output
    again = await cli("config", "rollback", "--group", str(group), "--to", "3")
    assert "already matches version 3" in again.output

    r = await client.get("/api/audit?action=config.rollback", headers=staff_headers)
    assert r.status_code == 200, r.text
    audited = r.json()["items"]
    assert [e["details"]["to"] for e in audited] == [3, 3]
    assert audited[-1]["details"]["version"] == 6  # oldest last: the rollback that changed
    for output in cli.outputs:
        for value in (*SECRET_VALUES, "a-new-password"):
            assert value not in output


async def test_a_removed_group_keeps_its_history(
    cli: Cli, client: httpx.AsyncClient, staff_headers: H
) -> None:
    configured = await configure(client, staff_headers)
    r = await client.delete(
        f"/integration/businessintegrationgroup/id/{configured.group_id}", headers=staff_headers
    )
    assert r.status_code == 204
    versions = await history(cli, configured.group_id)
    assert versions[-1]["removed"] is True
    refused = await cli("config", "rollback", "--group", str(configured.group_id), "--to", "3")
    assert refused.exit_code == 1
    assert "not found" in refused.output


async def test_rotate_key_reencrypts_the_versions_secrets(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"FRONTDESK_DATA_DIR": str(data)}
    cli = Cli(env)  # the key file in the data dir, as rotate-key wants it
    cli.env.pop("FRONTDESK_SECRET_KEYS", None)
    secrets = write_secrets(tmp_path / "secrets")
    source = tmp_path / "practice.yaml"
    source.write_text(
        f"""version: 1
businesses:
- number: {ENTERPRISE}
  name: Riverside
  timezone: America/New_York
- number: {LOUDOUN}
  name: Loudoun Office
  timezone: America/Chicago
  enterprise: {ENTERPRISE}
groups:
- business: {ENTERPRISE}
  source: ALLSCRIPTS
  triggers: [allscriptsAppointmentTriggerService]
  properties:
    User_Name: {{secret: {ENTERPRISE}.ALLSCRIPTS.User_Name}}
    PM_Password: {{secret: {ENTERPRISE}.ALLSCRIPTS.PM_Password}}
    pms_user_name: pmuser
  mappings:
  - business: {LOUDOUN}
    timezone: America/Chicago
    properties:
      allscripts.location.name: Loudoun Office
"""
    )
    applied = await cli("config", "apply", str(source), "--secrets-dir", str(secrets))
    assert applied.exit_code == 0, applied.output

    def stored() -> list[str]:
        with sqlite3.connect(data / "frontdesk.db") as db:
            rows = db.execute("SELECT secret_value FROM config_version_secrets ORDER BY id")
            return [row[0] for row in rows]

    before = stored()
    assert len(before) == 2
    assert not any(PASSWORD in value for value in before)
    rotated = await cli("admin", "rotate-key", "--drop-old")
    assert rotated.exit_code == 0, rotated.output
    after = stored()
    assert len(after) == 2
    assert not set(before) & set(after)
    # still readable with the new key alone: history decrypts them to compare, diff is clean
    shown = await cli("config", "history", "--group", "1", "--json")
    assert shown.exit_code == 0, shown.output
    same = await cli("config", "diff", str(source), "--secrets-dir", str(secrets))
    assert same.exit_code == 0, same.output


async def test_concurrent_changes_get_distinct_versions(
    cli: Cli, client: httpx.AsyncClient, staff_headers: H
) -> None:
    configured = await configure(client, staff_headers)

    async def patch(mapping: int, active: bool) -> int:
        r = await client.patch(
            f"/integration/businessintegrationmapping/{mapping}",
            json={"active": active},
            headers=staff_headers,
        )
        return r.status_code

    codes = await asyncio.gather(
        *(patch(m, False) for m in configured.mappings.values()),
        patch(configured.mappings[LOUDOUN], True),
    )
    assert codes == [200, 200, 200]
    versions = await history(cli, configured.group_id)
    assert [v["version"] for v in versions] == [1, 2, 3, 4, 5, 6]
