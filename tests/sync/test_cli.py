"""``frontdesk sync run`` and ``frontdesk checkins search|explain`` against the loopback
sandbox (the CLI runs in a thread: it has its own event loop)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from frontdesk.cli import listing
from frontdesk.cli.main import app
from frontdesk.settings import Settings

from .conftest import DAY, ENTERPRISE, LOCATIONS, SERVICE_USERNAME, Loopback, Practice
from .test_decisions import expected


@pytest.fixture
def cli_env(
    settings: Settings, unity: Loopback, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.secret_keys is not None
    for name, value in {
        "FRONTDESK_DATA_DIR": str(tmp_path / "cli"),
        "FRONTDESK_DATABASE_URL": settings.database_url or "",
        "FRONTDESK_SECRET_KEYS": settings.secret_keys.get_secret_value(),
        "FRONTDESK_UNITY__URL": settings.unity.url,
        "FRONTDESK_UNITY__APPNAME": settings.unity.appname,
        "FRONTDESK_UNITY__SERVICE_USERNAME": SERVICE_USERNAME,
        "FRONTDESK_UNITY__SERVICE_PASSWORD": settings.unity.service_password.get_secret_value(),
    }.items():
        monkeypatch.setenv(name, value)


async def invoke(*args: str) -> Any:
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
    return result


@pytest.mark.usefixtures("cli_env")
async def test_sync_run_then_search_and_explain(practice: Practice, unity: Loopback) -> None:
    on = (DAY + timedelta(days=1)).isoformat()
    result = await invoke("sync", "run", "--business", str(ENTERPRISE), "--on", on)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "succeeded" in out
    assert "fetched" in out
    assert "150" in out
    assert "restricted: minor" in out
    want = expected(unity.sandbox, [DAY])
    result = await invoke("checkins", "search", "--business", str(ENTERPRISE), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 150  # every match: no hidden cap
    assert {(r["appointment_id"], r["restriction_reason"] or "eligible") for r in rows} == {
        (a, reason) for (a, _), reason in want.items()
    }
    assert {"appointment_id", "decision", "restriction_reason"} <= set(rows[0])
    first = rows[0]
    result = await invoke(
        "checkins", "search", "--appointment-id", first["appointment_id"], "--json"
    )
    assert [r["id"] for r in json.loads(result.output)] == [first["id"]]
    result = await invoke("checkins", "search", "--reason", "minor")
    assert result.exit_code == 0, result.output
    result = await invoke("checkins", "explain", str(first["id"]), "--json")
    explained = json.loads(result.output)
    assert next(s["rule"] for s in explained["rules"]) == "integration_is_beta"
    result = await invoke("checkins", "explain", str(first["id"]))
    assert result.exit_code == 0
    assert "Integration is beta" in result.output


@pytest.mark.usefixtures("cli_env")
async def test_sync_run_for_one_location(practice: Practice) -> None:
    on = (DAY + timedelta(days=1)).isoformat()
    loudoun = str(LOCATIONS["Loudoun Office"])
    result = await invoke("sync", "run", "--business", loudoun, "--on", on)
    assert result.exit_code == 0, result.output
    result = await invoke("checkins", "search", "--json")
    rows = json.loads(result.output)
    decided = {r["pms_appointment_practice_name"] for r in rows}
    # the other locations' rows belong to their own runs: skipped, not "not allowed"
    assert decided == {"Loudoun Office", "Reston Office", "Purcellville Clinic"}
    assert {
        r["restriction_reason"]
        for r in rows
        if r["pms_appointment_practice_name"] != "Loudoun Office"
    } == {"location_not_allowed"}


@pytest.mark.usefixtures("cli_env")
async def test_search_lists_every_match_and_says_when_a_table_shows_a_part(
    practice: Practice, monkeypatch: pytest.MonkeyPatch
) -> None:
    on = (DAY + timedelta(days=1)).isoformat()
    assert (await invoke("sync", "run", "--business", str(ENTERPRISE), "--on", on)).exit_code == 0
    whole = await invoke("checkins", "search", "--json")
    rows = json.loads(whole.output)
    assert len(rows) == 150
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    # --json streams keyset pages: four pages of 40 print the very same array
    monkeypatch.setattr(listing, "JSON_BATCH", 40)
    paged = await invoke("checkins", "search", "--json")
    assert paged.output == whole.output
    capped = json.loads((await invoke("checkins", "search", "--json", "--limit", "45")).output)
    assert capped == rows[:45]
    table = await invoke("checkins", "search")
    assert table.exit_code == 0, table.output
    assert "showing 100 of 150 check-ins" in table.output
    assert "--limit 150" in table.output
    complete = await invoke("checkins", "search", "--limit", "500")
    assert "showing" not in complete.output
    assert "150 check-ins" in complete.output
    none = await invoke("checkins", "search", "--patient-id", "no-such-patient", "--json")
    assert json.loads(none.output) == []
