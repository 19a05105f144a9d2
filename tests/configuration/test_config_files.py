"""``frontdesk config export|diff|apply|schema``: the round trip, refusals with the file's
line, idempotence, and no secret value in a file, a diff or a log line."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from .conftest import (
    ENTERPRISE,
    FAIRFAX,
    LOUDOUN,
    SECRET_VALUES,
    Cli,
    H,
    configure,
    write_secrets,
)


async def test_round_trip_to_an_empty_database_gives_the_same_bytes(
    cli: Cli,
    client: httpx.AsyncClient,
    staff_headers: H,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await configure(client, staff_headers)
    exported = await cli("config", "export")
    assert exported.exit_code == 0, exported.output
    text = exported.output
    for value in SECRET_VALUES:
        assert value not in text
    assert f"secret: {ENTERPRISE}.ALLSCRIPTS.PM_Password" in text
    assert "customerFetchDelay: 3" in text
    assert "Review {{ location_name }}" in text
    assert "created" not in text
    assert "2026" not in text
    again = await cli("config", "export")
    assert again.output == text  # stable
    source = tmp_path / "practice.yaml"
    source.write_text(text)
    secrets = write_secrets(tmp_path / "secrets")

    empty = {
        "FRONTDESK_DATA_DIR": str(tmp_path / "other"),
        "FRONTDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}",
    }
    diff = await cli("config", "diff", str(source), "--secrets-dir", str(secrets), env=empty)
    assert diff.exit_code == 1, diff.output
    assert f"+ group {ENTERPRISE}/ALLSCRIPTS" in diff.output
    untouched = await cli("config", "export", env=empty)
    assert "groups: []" in untouched.output  # diff changed nothing
    applied = await cli("config", "apply", str(source), "--secrets-dir", str(secrets), env=empty)
    assert applied.exit_code == 0, applied.output
    assert "changes applied" in applied.output
    round_trip = await cli("config", "export", env=empty)
    assert round_trip.output == text

    twice = await cli("config", "apply", str(source), "--secrets-dir", str(secrets), env=empty)
    assert twice.exit_code == 0, twice.output
    assert "nothing to change" in twice.output
    same = await cli("config", "diff", str(source), "--secrets-dir", str(secrets), env=empty)
    assert same.exit_code == 0, same.output
    history = await cli("config", "history", "--group", "1", "--json", env=empty)
    assert [v["version"] for v in json.loads(history.output)] == [1]  # apply twice: no version

    # A changed secret file is a change, shown only as "secret changed".
    (secrets / f"{ENTERPRISE}.ALLSCRIPTS.PM_Password").write_text("another-password")
    changed = await cli("config", "diff", str(source), "--secrets-dir", str(secrets), env=empty)
    assert changed.exit_code == 1
    assert "property PM_Password: secret changed" in changed.output
    assert "another-password" not in changed.output

    logged = capfd.readouterr()
    for value in (*SECRET_VALUES, "another-password"):
        for output in (*cli.outputs, logged.out, logged.err, caplog.text):
            assert value not in output


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "marker", "message"),
    [
        pytest.param("unit: days", "unit: weeks", "unit: weeks", "unit", id="bad-frequency-unit"),
        pytest.param(
            "dryRun: true", "dryRun: true\n    colour: blue", "colour:", "colour", id="unknown-key"
        ),
        pytest.param(
            "review.url: https://reviews.example.org/riverside",
            "review.url: not a link",
            "review.url: not a link",
            "review.url",
            id="invalid-property-value",
        ),
        pytest.param(
            "pms_user_name: pmuser",
            "pms_user_name: pmuser\n    review.channel: pigeon",
            "review.channel: pigeon",
            "registered channel",
            id="unregistered-channel",
        ),
        pytest.param(
            "- allscriptsAppointmentTriggerService",
            "- noSuchTrigger",
            "noSuchTrigger",
            "no trigger",
            id="unknown-trigger",
        ),
        pytest.param(
            f"    User_Name:\n      secret: {ENTERPRISE}.ALLSCRIPTS.User_Name",
            "    User_Name: plain-text-user",
            "User_Name: plain-text-user",
            "is secure",
            id="secret-given-in-plain-text",
        ),
    ],
)
async def test_an_invalid_file_is_refused_with_its_line_and_nothing_changes(
    cli: Cli,
    client: httpx.AsyncClient,
    staff_headers: H,
    tmp_path: Path,
    old: str,
    new: str,
    marker: str,
    message: str,
) -> None:
    await configure(client, staff_headers)
    before = (await cli("config", "export")).output
    # a valid change earlier in the file must not be applied either
    text = _edit(before, "name: Fairfax Office", "name: Fairfax Renamed")
    text = _edit(
        text,
        "allscripts.appointment.status: Acknowledge,Confirmed",
        "allscripts.appointment.status: Confirmed",
    )
    text = _edit(text, old, new)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    line = _line_of(text, marker)
    for command in ("diff", "apply"):
        result = await cli("config", command, str(path))
        assert result.exit_code == 2, result.output
        assert f"bad.yaml:{line}:" in result.output, result.output
        assert message in result.output
    assert (await cli("config", "export")).output == before


async def test_export_of_one_business_and_the_schema(
    cli: Cli, client: httpx.AsyncClient, staff_headers: H
) -> None:
    await configure(client, staff_headers)
    one = await cli("config", "export", "--business", str(LOUDOUN))
    assert one.exit_code == 0
    assert str(LOUDOUN) in one.output
    assert str(FAIRFAX) not in one.output
    assert "groups: []" in one.output  # the group belongs to the enterprise
    whole = await cli("config", "export", "--business", str(ENTERPRISE))
    assert str(FAIRFAX) in whole.output
    assert "ALLSCRIPTS" in whole.output
    schema = json.loads((await cli("config", "schema")).output)
    assert schema["title"] == "ConfigDocument"
    mapping = schema["$defs"]["MappingDoc"]
    assert mapping["additionalProperties"] is False
    assert {"customerFetchDelay", "dryRun"} <= set(mapping["properties"])


async def test_removing_from_the_file_removes_from_the_database(
    cli: Cli, client: httpx.AsyncClient, staff_headers: H, tmp_path: Path
) -> None:
    configured = await configure(client, staff_headers)
    text = (await cli("config", "export")).output
    start = text.index(f"  - business: {FAIRFAX}")
    trimmed = text[:start]
    path = tmp_path / "trimmed.yaml"
    path.write_text(trimmed)
    diff = await cli("config", "diff", str(path))
    assert diff.exit_code == 1
    assert f"- mapping {ENTERPRISE}/ALLSCRIPTS/{FAIRFAX}" in diff.output
    applied = await cli("config", "apply", str(path))
    assert applied.exit_code == 0, applied.output
    r = await client.get(
        f"/integration/businessintegrationmapping/{configured.mappings[FAIRFAX]}",
        headers=staff_headers,
    )
    assert r.status_code == 404
    assert (await cli("config", "export")).output == trimmed


async def test_a_group_left_out_is_removed_with_its_history_and_restored_when_listed_again(
    cli: Cli, client: httpx.AsyncClient, staff_headers: H, tmp_path: Path
) -> None:
    """A group the file leaves out is removed softly (the dashboard's removal: its versions
    and decisions stay, the API answers 404); a file listing it again brings it back."""
    configured = await configure(client, staff_headers)
    full = (await cli("config", "export")).output
    whole = tmp_path / "whole.yaml"
    whole.write_text(full)
    groupless = tmp_path / "groupless.yaml"
    groupless.write_text(full[: full.index("groups:")] + "groups: []\n")
    applied = await cli("config", "apply", str(groupless))
    assert applied.exit_code == 0, applied.output
    r = await client.get(
        f"/integration/businessintegrationgroup/{ENTERPRISE}", headers=staff_headers
    )
    assert r.status_code == 200, r.text
    assert r.json() == []  # removed: hidden from the API
    assert "ALLSCRIPTS" not in (await cli("config", "export")).output
    history = await cli("config", "history", "--group", str(configured.group_id), "--json")
    assert history.exit_code == 0, history.output  # the removed group's versions are kept

    secrets = write_secrets(tmp_path / "secrets")
    restored = await cli("config", "apply", str(whole), "--secrets-dir", str(secrets))
    assert restored.exit_code == 0, restored.output
    assert "restored" in restored.output
    r = await client.get(
        f"/integration/businessintegrationgroup/{ENTERPRISE}", headers=staff_headers
    )
    assert r.status_code == 200, r.text
    assert [g["groupId"] for g in r.json()] == [configured.group_id]  # the same, not a new one
    assert (await cli("config", "export")).output == full
    again = await cli("config", "diff", str(whole))
    assert again.exit_code == 0, again.output


async def test_whole_numbers_are_text_and_aliases_are_refused(cli: Cli, tmp_path: Path) -> None:
    empty = {
        "FRONTDESK_DATA_DIR": str(tmp_path / "other"),
        "FRONTDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}",
    }
    secrets = write_secrets(tmp_path / "secrets")
    text = f"""version: 1
businesses:
- number: {ENTERPRISE}
  name: Riverside
  timezone: America/New_York
groups:
- business: {ENTERPRISE}
  source: ALLSCRIPTS
  triggers: [allscriptsAppointmentTriggerService]
  properties:
    User_Name: {{secret: {ENTERPRISE}.ALLSCRIPTS.User_Name}}
    PM_Password: {{secret: {ENTERPRISE}.ALLSCRIPTS.PM_Password}}
    pms_user_name: pmuser
    engagement.min.age: 16
"""
    path = tmp_path / "smb.yaml"
    path.write_text(text)
    applied = await cli("config", "apply", str(path), "--secrets-dir", str(secrets), env=empty)
    assert applied.exit_code == 0, applied.output
    exported = await cli("config", "export", env=empty)
    assert "engagement.min.age: '16'" in exported.output
    aliased = text.replace("triggers: [", "triggers: &t [") + "  mappings: *t\n"
    path.write_text(aliased)
    refused = await cli("config", "diff", str(path), "--secrets-dir", str(secrets), env=empty)
    assert refused.exit_code == 2
    assert "smb.yaml:9: anchors and aliases are not supported" in refused.output
