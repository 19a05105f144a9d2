"""Whatever decides check-ins writes their review requests: ``frontdesk sync run``,
``sync backfill`` and ``integration reauthorize --wait`` (each a CLI process built by the
composition root), once per eligible appointment and never twice; ``--send`` sends them
here, to a real SMTP server; ``frontdesk outbox repair`` mends check-ins decided without
them (before the fix). The scheduled run, run-now and the demo are covered by
``test_sending.py``, ``test_outbox.py`` and ``test_demo.py``."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from tests.sync.conftest import ENTERPRISE, SERVICE_USERNAME
from typer.testing import CliRunner

from frontdesk.cli.main import app
from frontdesk.clock import ManualClock
from frontdesk.composition import Role, running
from frontdesk.context import AppContext
from frontdesk.engagement.checkin_models import ELIGIBLE, CheckIn
from frontdesk.engagement.ledger_models import ReviewRequest
from frontdesk.engagement.optout_models import OptOut
from frontdesk.engagement.repair import repair_missing_requests
from frontdesk.settings import Settings
from frontdesk.sync.foreground import run_all

from .conftest import DAY, ON, Loopback, Practice, Sink, fast_connectors


@pytest.fixture
def cli_env(
    settings: Settings,
    unity: Loopback,
    sink: tuple[Sink, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
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
        "FRONTDESK_SMTP__HOST": "127.0.0.1",
        "FRONTDESK_SMTP__PORT": str(sink[1]),
        "FRONTDESK_SMTP__FROM": "reviews@fd.test",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)


async def invoke(*args: str, stdin: str | None = None) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), input=stdin)


async def eligible(ctx: AppContext) -> set[str]:
    async with ctx.db.reader() as session:
        rows = await session.execute(
            select(CheckIn.appointment_id).where(
                CheckIn.decision == ELIGIBLE, CheckIn.mapping_id.is_not(None)
            )
        )
        return set(rows.scalars())


def queued(output: str) -> int:
    found = re.search(r"(\d+) review requests queued", output)
    assert found is not None, output
    return int(found.group(1))


async def outbox(*args: str) -> list[dict[str, Any]]:
    result = await invoke("outbox", "--json", *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)
    return rows


@pytest.mark.usefixtures("cli_env")
async def test_sync_run_queues_one_request_per_eligible_appointment(
    ctx: AppContext, practice: Practice, sink: tuple[Sink, int]
) -> None:
    result = await invoke("sync", "run", "--business", str(ENTERPRISE), "--on", ON.isoformat())
    assert result.exit_code == 0, result.output
    wanted = await eligible(ctx)
    assert len(wanted) > 10  # the sandbox day has plenty of eligible visits
    assert queued(result.output) == len(wanted)
    rows = await outbox()
    assert sorted(r["appointment_id"] for r in rows) == sorted(wanted)  # one each
    assert {r["state"] for r in rows} == {"pending"}  # queued for the serving sender
    assert sink[0].messages == []

    again = await invoke("sync", "run", "--business", str(ENTERPRISE), "--on", ON.isoformat())
    assert again.exit_code == 0, again.output
    assert queued(again.output) == 0
    assert len(await outbox()) == len(wanted)  # none twice


@pytest.mark.usefixtures("cli_env")
async def test_sync_run_send_delivers_them_here(
    ctx: AppContext, practice: Practice, sink: tuple[Sink, int]
) -> None:
    result = await invoke(
        "sync", "run", "--business", str(ENTERPRISE), "--on", ON.isoformat(), "--send"
    )
    assert result.exit_code == 0, result.output
    wanted = await eligible(ctx)
    assert f"{len(wanted)} review requests: {len(wanted)} sent" in result.output
    assert len(sink[0].messages) == len(wanted)
    rows = await outbox()
    assert {r["state"] for r in rows} == {"sent"}
    assert all(r["message_id"] for r in rows)


@pytest.mark.usefixtures("cli_env")
async def test_sync_backfill_queues_the_requests_of_the_days_it_decides(
    ctx: AppContext, practice: Practice, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sandbox's days are in 2025: let the backfill ask about them (its too_old rule).
    monkeypatch.setenv("FRONTDESK_SYNC__BACKFILL_REQUEST_MAX_AGE_DAYS", "100000")
    group = str(practice.group_id)
    day = DAY.isoformat()
    result = await invoke("sync", "backfill", "--group", group, "--from", day, "--to", day)
    assert result.exit_code == 0, result.output
    assert queued(result.output) == len(await eligible(ctx)) > 10
    rows = await outbox()
    assert len(rows) == len({r["appointment_id"] for r in rows})


@pytest.mark.usefixtures("cli_env")
async def test_reauthorize_wait_queues_the_backfills_requests(
    ctx: AppContext, practice: Practice, unity: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDESK_SYNC__BACKFILL_REQUEST_MAX_AGE_DAYS", "100000")
    unity.sandbox.expire_password("frontdesk")
    failed = await invoke("sync", "run", "--business", str(ENTERPRISE), "--on", ON.isoformat())
    assert failed.exit_code == 1, failed.output
    unity.sandbox.renew_password("frontdesk", password="Fresh-Secret-1")
    result = await invoke(
        "integration", "reauthorize", "--group", str(practice.group_id), stdin="Fresh-Secret-1\n"
    )
    assert result.exit_code in (0, 1), result.output
    assert "review requests queued" in result.output
    rows = await outbox()
    assert queued(result.output) == len(rows) == len(await eligible(ctx)) > 10
    assert len({(r["appointment_id"], r["appointment_day"]) for r in rows}) == len(rows)
    assert "Fresh-Secret-1" not in result.output


async def test_repair_writes_the_missing_requests_under_the_usual_rules(
    ctx: AppContext, practice: Practice, clock: ManualClock
) -> None:
    runs = await practice.run_now(ON)
    async with running(ctx, Role.CLI, connectors=fast_connectors()) as process:
        await run_all(ctx, process.engine, [r["runId"] for r in runs])
    wanted = await eligible(ctx)
    async with ctx.db.transaction() as session:  # as if decided by `sync run` before the fix
        await session.execute(delete(ReviewRequest))
        opted = (
            (
                await session.execute(
                    select(CheckIn).where(
                        CheckIn.decision == ELIGIBLE, CheckIn.contact_hash.is_not(None)
                    )
                )
            )
            .scalars()
            .first()
        )
        assert opted is not None
        assert opted.contact_hash is not None
        session.add(
            OptOut(
                business_id=opted.scope_business_id,
                channel="email",
                contact_hash=opted.contact_hash,
                source="link",
                created_at=clock.now(),
            )
        )
    async with ctx.db.transaction() as session:
        dry = await repair_missing_requests(
            session, now=clock.now(), settings=ctx.settings.sync, secrets=ctx.secrets, dry_run=True
        )
    async with ctx.db.reader() as session:
        assert (await session.execute(select(ReviewRequest.id))).first() is None
    async with ctx.db.transaction() as session:
        report = await repair_missing_requests(
            session, now=clock.now(), settings=ctx.settings.sync, secrets=ctx.secrets
        )
    assert report.missing == dry.missing == len(wanted)
    assert report.skipped == {"opted_out": 1}
    assert len(report.written) == len(wanted) - 1 == len(dry.written)
    async with ctx.db.transaction() as session:  # idempotent: nothing is missing any more
        again = await repair_missing_requests(
            session, now=clock.now(), settings=ctx.settings.sync, secrets=ctx.secrets
        )
    assert (again.missing, again.written) == (1, [])  # the opted-out one stays without
    later = clock.now() + timedelta(days=30)
    async with ctx.db.transaction() as session:
        await session.execute(delete(ReviewRequest))
        old = await repair_missing_requests(
            session, now=later, settings=ctx.settings.sync, secrets=ctx.secrets
        )
    assert old.written == []
    assert old.skipped["too_old"] == len(wanted)


@pytest.mark.usefixtures("cli_env")
async def test_the_repair_command_counts_through_the_cli_process(
    ctx: AppContext, practice: Practice
) -> None:
    runs = await practice.run_now(ON)
    async with running(ctx, Role.CLI, connectors=fast_connectors()) as process:
        await run_all(ctx, process.engine, [r["runId"] for r in runs])
    async with ctx.db.transaction() as session:
        await session.execute(delete(ReviewRequest))
    result = await invoke("outbox", "repair", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert counts["missing"] == len(await eligible(ctx)) > 0
    async with ctx.db.reader() as session:
        assert (await session.execute(select(ReviewRequest.id))).first() is None
