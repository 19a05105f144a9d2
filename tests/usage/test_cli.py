"""``frontdesk usage [--business N] [--from D --to D] [--json]`` reads the usage table."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from frontdesk.businesses.models import Business
from frontdesk.cli.main import app
from frontdesk.context import AppContext
from frontdesk.settings import load_settings
from frontdesk.usage.flush import add_counts

ENTERPRISE = "149547879572938"
LOCATION = "149547899859217"
OTHER = "149547800000001"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("FRONTDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FRONTDESK_DATABASE_URL", raising=False)
    monkeypatch.delenv("FRONTDESK_SECRET_KEYS", raising=False)
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


async def seed(today: date) -> None:
    ctx = await AppContext.open(load_settings())
    try:
        async with ctx.db.reader() as session:
            rows = await session.execute(select(Business.number, Business.id))
            ids = {number: id_ for number, id_ in rows}
        async with ctx.db.transaction() as session:
            await add_counts(
                session,
                {
                    (today, ids[int(LOCATION)], "checkin", "eligible"): [6, 0],
                    (today, ids[int(LOCATION)], "review_request", "sms:sent"): [4, 0],
                    (today - timedelta(days=40), ids[int(LOCATION)], "checkin", "eligible"): [
                        9,
                        0,
                    ],
                    (today, ids[int(OTHER)], "sync_run", "failed"): [1, 1500],
                    (today, 0, "ticket", "created"): [2, 0],
                },
            )
    finally:
        await ctx.close()


def test_usage_prints_the_period_as_json_and_as_a_table(runner: CliRunner) -> None:
    invoke(runner, "db", "upgrade")
    invoke(runner, "business", "add", "--number", ENTERPRISE, "--name", "Riverside")
    invoke(
        runner,
        "business",
        "add",
        "--number",
        LOCATION,
        "--name",
        "Loudoun",
        "--enterprise",
        ENTERPRISE,
    )
    invoke(runner, "business", "add", "--number", OTHER, "--name", "Lakeside")
    today = date.today()
    asyncio.run(seed(today))

    every = json.loads(invoke(runner, "usage", "--json"))
    assert every["business"] is None
    assert every["to"] == today.isoformat()
    assert every["totals"]["checkin"] == 6  # the 40-day-old count is outside the default period
    assert every["totals"]["ticket"] == 2
    assert every["subjects"]["sync_run"] == {"failed": 1}
    assert every["syncSeconds"] == 1.5

    start = (today - timedelta(days=45)).isoformat()
    one = json.loads(
        invoke(
            runner,
            "usage",
            "--business",
            ENTERPRISE,
            "--from",
            start,
            "--to",
            today.isoformat(),
            "--json",
        )
    )
    assert one["totals"]["checkin"] == 15
    assert one["subjects"]["review_request"] == {"sms:sent": 4}
    assert one["totals"]["sync_run"] == 0
    assert one["totals"]["ticket"] == 0
    assert len(one["days"]) == 46

    table = invoke(runner, "usage", "--business", LOCATION)
    assert f"Usage of business {LOCATION}" in table
    assert "sms:sent" in table
    assert "check-ins (per decision)" in table

    refused = runner.invoke(app, ["usage", "--from", today.isoformat(), "--to", start])
    assert refused.exit_code == 1
    assert "start is after its end" in refused.output
    missing = runner.invoke(app, ["usage", "--business", "149547800000777"])
    assert missing.exit_code == 1
    assert "no such business" in missing.output


def test_a_period_before_the_year_one_is_refused(runner: CliRunner) -> None:
    invoke(runner, "db", "upgrade")
    refused = runner.invoke(app, ["usage", "--to", "0001-01-05"])
    assert refused.exit_code == 1
    assert "before the year 1" in refused.output
