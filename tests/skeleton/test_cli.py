"""The command line: businesses, API keys, key rotation, audit, db upgrade."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontdesk.cli.main import app

ENTERPRISE = "149547879572938"
LOCATION = "149547899859217"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FRONTDESK_DATABASE_URL", raising=False)
    monkeypatch.delenv("FRONTDESK_SECRET_KEYS", raising=False)
    return CliRunner()


def invoke(runner: CliRunner, *args: str, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_business_add_creates_enterprise_and_locations(runner: CliRunner) -> None:
    invoke(runner, "db", "upgrade")
    invoke(runner, "business", "add", "--number", ENTERPRISE, "--name", "Riverside")
    out = invoke(
        runner,
        "business",
        "add",
        "--number",
        LOCATION,
        "--name",
        "Loudoun",
        "--enterprise",
        ENTERPRISE,
        "--timezone",
        "America/Chicago",
    )
    assert "added location" in out
    listing = invoke(runner, "business", "list")
    assert "enterprise" in listing
    assert "America/Chicago" in listing


def test_bad_business_number_is_a_clear_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["business", "add", "--number", "123", "--name", "x"])
    assert result.exit_code == 1
    assert "15 digits" in result.output


def test_create_api_key_prints_the_key_alone_on_the_last_line(runner: CliRunner) -> None:
    invoke(runner, "business", "add", "--number", ENTERPRISE, "--name", "Riverside")
    out = invoke(runner, "admin", "create-api-key", "--name", "support", "--business", ENTERPRISE)
    last = out.strip().splitlines()[-1]
    assert last.startswith("fd_")
    assert " " not in last


def test_rotate_key_reencrypts_and_keeps_secrets_readable(
    runner: CliRunner, tmp_path: Path
) -> None:
    invoke(runner, "business", "list")  # first use generates the key file
    key_file = tmp_path / "data" / "secret.keys"
    before = key_file.read_text().split()
    out = invoke(runner, "admin", "rotate-key")
    after = key_file.read_text().split()
    assert len(after) == 2
    assert after[1] == before[0]
    assert "re-encrypted" in out
    invoke(runner, "admin", "rotate-key", "--drop-old")
    assert len(key_file.read_text().split()) == 1
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_audit_command_lists_changes_as_json(runner: CliRunner) -> None:
    invoke(runner, "business", "add", "--number", ENTERPRISE, "--name", "Riverside")
    events = json.loads(invoke(runner, "audit", "--json"))
    assert events[0]["action"] == "business.create"
    assert events[0]["actor"] == "system:cli"


def test_audit_command_shows_a_part_and_says_so(runner: CliRunner) -> None:
    for n in range(3):
        invoke(runner, "business", "add", "--number", f"14954780000000{n}", "--name", f"B{n}")
    assert len(json.loads(invoke(runner, "audit", "--json"))) == 3
    assert len(json.loads(invoke(runner, "audit", "--json", "--limit", "2"))) == 2
    table = invoke(runner, "audit", "--limit", "2")
    assert "showing 2 of 3 audit events" in table
    assert "--limit 3" in table
    assert "3 audit events" in invoke(runner, "audit")


def test_db_upgrade_uses_wal_on_the_embedded_database(runner: CliRunner, tmp_path: Path) -> None:
    invoke(runner, "db", "upgrade")
    with sqlite3.connect(tmp_path / "data" / "frontdesk.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
