"""``frontdesk hl7 messages [--json]`` lists full control ids, facility, type and state
without patient data; ``frontdesk hl7 reprocess`` judges kept messages again."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from tests.conftest import TEST_SECRET_KEY
from tests.hl7v2.feeds import PATIENT_VALUES, Sender, Siu, msa
from typer.testing import CliRunner

from frontdesk.cli.main import app
from frontdesk.composition import mllp_listener
from frontdesk.context import AppContext
from frontdesk.settings import Settings

LONG_ID = "20260302080000.123456789-NORTHSIDE-EPIC-000000000042"


async def _receive(settings: Settings) -> None:
    ctx = await AppContext.open(settings, migrate=False)
    listener = mllp_listener(ctx, host="127.0.0.1", port=0)
    await listener.start()
    try:
        sender = await Sender.connect(listener.port)
        assert msa(await sender.send(str(Siu(control_id=LONG_ID, facility="WESTSIDE"))))[0] == "AR"
        assert (
            msa(await sender.send(str(Siu(control_id="M2", facility="WESTSIDE", sch_id=False))))[0]
            == "AR"
        )
        await sender.close()
    finally:
        await listener.stop()
        await ctx.close()


def test_messages_and_reprocess(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "frontdesk.db"
    shutil.copyfile(sqlite_template, path)
    env = {
        "FRONTDESK_DATA_DIR": str(tmp_path / "data"),
        "FRONTDESK_DATABASE_URL": f"sqlite:///{path}",
        "FRONTDESK_SECRET_KEYS": TEST_SECRET_KEY,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    asyncio.run(_receive(settings))
    runner = CliRunner()

    table = runner.invoke(app, ["hl7", "messages"], env=env)
    assert table.exit_code == 0, table.output
    lines = table.output.strip().splitlines()
    assert len(lines) == 2
    assert LONG_ID in lines[1]
    assert "WESTSIDE" in lines[1]
    assert "SIU^S12" in lines[1]
    assert "rejected" in lines[1]
    assert "unknown sending facility" in lines[1]
    listed = json.loads(
        runner.invoke(app, ["hl7", "messages", "--json", "--state", "rejected"], env=env).output
    )
    assert [m["control_id"] for m in listed] == ["M2", LONG_ID]
    for value in PATIENT_VALUES:
        assert value not in table.output
        assert value not in json.dumps(listed)

    done = runner.invoke(app, ["hl7", "reprocess", "--all"], env=env)
    assert done.exit_code == 0, done.output
    assert "reprocessed 2: 0 accepted, 2 still failing" in done.output
    assert runner.invoke(app, ["hl7", "reprocess"], env=env).exit_code == 2
