"""``frontdesk integration reauthorize|diagnose|health`` against the loopback sandbox; the
secret comes from stdin, never argv, and never shows up in the output (the CLI runs in a
thread: it has its own event loop)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.sync.conftest import SERVICE_USERNAME
from typer.testing import CliRunner

from frontdesk.cli.main import app
from frontdesk.clock import ManualClock
from frontdesk.context import AppContext
from frontdesk.credentials.models import CredentialWarning
from frontdesk.integrations.groups import group_properties
from frontdesk.integrations.models import IntegrationGroup
from frontdesk.settings import Settings

from .conftest import DAY, Loopback, Practice, run_all_to_end

NEW_PASSWORD = "Cli-New-Secret-42"


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
        "FRONTDESK_SMTP__HOST": settings.smtp.host,
        "FRONTDESK_SMTP__PORT": str(settings.smtp.port),
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)


async def invoke(*args: str, stdin: str | None = None) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), input=stdin)


@pytest.mark.usefixtures("cli_env")
async def test_reauthorize_reads_the_secret_from_stdin(
    ctx: AppContext, practice: Practice, unity: Loopback, clock: ManualClock
) -> None:
    unity.sandbox.expire_password("frontdesk")
    (run,) = await run_all_to_end(ctx, await practice.run_now(DAY + timedelta(days=1)))
    assert run.status == "failed"
    unity.sandbox.renew_password("frontdesk", password=NEW_PASSWORD)
    group = str(practice.group_id)

    result = await invoke("integration", "reauthorize", "--group", group, stdin="Wrong-Again\n")
    assert result.exit_code == 1, result.output
    assert "wrong_pm_password" in result.output
    assert "stays unauthorized" in result.output
    assert "Wrong-Again" not in result.output

    result = await invoke(
        "integration", "reauthorize", "--group", group, "--no-wait", stdin=NEW_PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "check: ok" in result.output
    assert "(reactivated)" in result.output
    assert "backfill run" in result.output
    assert NEW_PASSWORD not in result.output
    async with ctx.db.reader() as session:
        row = await session.get(IntegrationGroup, practice.group_id)
        assert row is not None
        assert row.status == "active"
        stored = await group_properties(session, group_id=practice.group_id, secrets=ctx.secrets)
    assert stored["PM_Password"] == NEW_PASSWORD

    result = await invoke("integration", "diagnose", "--group", group)
    assert result.exit_code == 0, result.output
    assert "check: ok" in result.output
    assert "server log (LastLogs, errors, newest first)" in result.output
    assert f"last run {run.id}" in result.output
    assert "unauthorized" in result.output  # the last run's error

    result = await invoke("integration", "health", "--json")
    assert result.exit_code == 0, result.output
    (health,) = json.loads(result.output)
    assert health["group_id"] == practice.group_id
    assert health["status"] == "active"
    assert health["last_run"] == "failed"

    result = await invoke("integration", "health")
    assert result.exit_code == 0, result.output
    assert "Loudoun Valley" in result.output
    assert "password age" in result.output


@pytest.mark.usefixtures("cli_env")
async def test_diagnose_a_rejected_group(
    ctx: AppContext, practice: Practice, unity: Loopback, clock: ManualClock
) -> None:
    unity.sandbox.expire_password("frontdesk")
    result = await invoke("integration", "diagnose", "--group", str(practice.group_id))
    assert result.exit_code == 1, result.output
    assert "check: unauthorized" in result.output
    assert "pm_password_expired" in result.output
    assert "last run: none" in result.output

    # The CLI runs on the real clock: the password set on the test day is long past 90 days
    # (in the first test the CLI stored a new one today).
    result = await invoke("integration", "health", "--record", "--json")
    assert result.exit_code == 0, result.output
    (health,) = json.loads(result.stdout)  # log lines go to stderr
    assert "has probably expired" in health["warnings"][0]
    async with ctx.db.reader() as session:
        rows = (await session.execute(select(CredentialWarning.kind))).scalars().all()
    assert list(rows) == ["pm_password_age"]
