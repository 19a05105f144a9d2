"""``frontdesk config rollback`` restores behaviour: a change of the allowed statuses
restricts the next run, the rollback undoes it, and the run after decides as before
(checked against the independent re-statement of the rules, over the loopback sandbox)."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from frontdesk.cli.main import app
from frontdesk.context import AppContext
from frontdesk.settings import Settings
from frontdesk.sync.engine import SyncEngine

from .conftest import DAY, Loopback, Practice, prop
from .test_decisions import ACTIVE, decisions, expected, run_day


@pytest.fixture
def cli_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    assert settings.secret_keys is not None
    return {
        "FRONTDESK_DATA_DIR": str(tmp_path / "cli"),
        "FRONTDESK_DATABASE_URL": settings.database_url or "",
        "FRONTDESK_SECRET_KEYS": settings.secret_keys.get_secret_value(),
    }


async def frontdesk(env: dict[str, str], *args: str) -> Any:
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


def on_day(got: dict[tuple[str, date], str], day: date) -> dict[tuple[str, date], str]:
    return {key: reason for key, reason in got.items() if key[1] == day}


async def test_rollback_restores_the_allowed_statuses(
    ctx: AppContext,
    practice: Practice,
    engine: SyncEngine,
    unity: Loopback,
    cli_env: dict[str, str],
) -> None:
    sandbox = unity.sandbox
    # five weeks apart: the 30-day frequency cap never links two of these days
    first, changed, restored = DAY, DAY + timedelta(days=35), DAY + timedelta(days=70)
    await run_day(practice, engine, first + timedelta(days=1))
    assert await decisions(ctx) == expected(sandbox, [first])
    shown = await frontdesk(
        cli_env, "config", "history", "--group", str(practice.group_id), "--json"
    )
    good = json.loads(shown.output)[-1]["version"]

    r = await practice.client.patch(
        f"/integration/businessintegrationgroup/id/{practice.group_id}",
        json={"integrationGroupProperties": [prop("allscripts.appointment.status", "Confirmed")]},
        headers=practice.headers,
    )
    assert r.status_code == 200, r.text
    await run_day(practice, engine, changed + timedelta(days=1))
    got = on_day(await decisions(ctx), changed)
    acknowledged = {
        (str(a.appointment_id), changed)
        for a in sandbox.practice.appointments_on(changed)
        if a.status.description == "Acknowledge" and a.location.name in ACTIVE
    }
    assert acknowledged
    assert {got[key] for key in acknowledged} == {"status_not_allowed"}

    rolled = await frontdesk(
        cli_env, "config", "rollback", "--group", str(practice.group_id), "--to", str(good)
    )
    assert "allscripts.appointment.status" in rolled.output
    await run_day(practice, engine, restored + timedelta(days=1))
    got = on_day(await decisions(ctx), restored)
    want = on_day(expected(sandbox, [first, restored]), restored)
    assert got == want
    assert any(
        got[(str(a.appointment_id), restored)] != "status_not_allowed"
        for a in sandbox.practice.appointments_on(restored)
        if a.status.description == "Acknowledge" and a.location.name in ACTIVE
    )
