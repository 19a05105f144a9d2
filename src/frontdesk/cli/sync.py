"""``frontdesk sync run|backfill``: sync now, in the foreground, with a progress bar.

Deciding writes the ledger: the review requests of the eligible check-ins are written in the
same transaction as their decisions (the composition root's decision hook, as in every other
runner). By default they are queued for the next sender (``N review requests queued``: the
serving process's sweeper, or a procrastinate worker, sends them); ``--send`` sends them
here, in the foreground, one attempt each.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from frontdesk.access.principal import Principal
from frontdesk.businesses.service import LOCATION, get_by_number
from frontdesk.cli.runtime import console, opened_process, run
from frontdesk.composition import Process
from frontdesk.context import AppContext
from frontdesk.db.bounds import MAX_BIGINT
from frontdesk.engagement import ledger
from frontdesk.engagement.reasons import words
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.integrations.models import IntegrationGroup, IntegrationMapping
from frontdesk.sync import service
from frontdesk.sync.foreground import run_all
from frontdesk.sync.models import SyncRun

app = typer.Typer(help="Sync appointments now (foreground).", no_args_is_help=True)
SEND_OPTION = typer.Option(
    "--send",
    help="send the review requests now, here, one attempt each (default: queue them for the "
    "serving process's sender)",
)
CLI = Principal.system("cli")


async def _targets(ctx: AppContext, number: int) -> list[tuple[int, list[int] | None]]:
    """(group id, mapping ids or None for all) for a business number."""
    async with ctx.db.reader() as session:
        business = await get_by_number(session, number=number)
        if business is None:
            raise NotFound(f"business {number} not found", field="business")
        if business.kind == LOCATION:
            rows = await session.execute(
                select(IntegrationMapping.group_id, IntegrationMapping.id).where(
                    IntegrationMapping.business_id == business.id
                )
            )
            targets: list[tuple[int, list[int] | None]] = [(g, [m]) for g, m in rows]
        else:
            groups = await session.execute(
                select(IntegrationGroup.id).where(
                    IntegrationGroup.business_id == business.id,
                    IntegrationGroup.removed_at.is_(None),
                )
            )
            targets = [(g, None) for g in groups.scalars()]
    if not targets:
        raise InvalidInput(f"business {number} has no integration group", field="business")
    return sorted(targets, key=lambda t: t[0])


async def _run_in_foreground(process: Process, created: Sequence[SyncRun]) -> list[SyncRun]:
    ctx, engine = process.ctx, process.engine
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]run {task.fields[run]}[/bold]"),
        BarColumn(),
        TextColumn("{task.fields[fetched]} fetched, {task.fields[decided]} decided"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        finished: list[SyncRun] = []
        for item in created:
            task = bar.add_task("sync", total=None, run=item.id, fetched=0, decided=0)

            def show(fetched: int, decided: int, task: Any = task) -> None:
                bar.update(task, fetched=fetched, decided=decided)

            (final,) = await run_all(ctx, engine, [item.id], progress=show)
            bar.update(task, total=1, completed=1)
            finished.append(final)
    return finished


@dataclass
class Synced:
    """What a foreground sync did: its runs and their review requests."""

    runs: list[SyncRun]
    requests: list[int]
    sent: dict[int, str] | None = None


async def run_and_queue(process: Process, created: Sequence[SyncRun], *, send: bool) -> Synced:
    """Run ``created`` to their end here; then their review requests, written as they were
    decided, are left queued or (``send``) sent here, one attempt each."""
    finished = await _run_in_foreground(process, created)
    async with process.ctx.db.reader() as session:
        requests = await ledger.requests_of_runs(session, run_ids=[r.id for r in finished])
    synced = Synced(runs=finished, requests=requests)
    if send and requests:
        synced.sent = await process.sender.send_requests(requests)
    return synced


def _report_requests(synced: Synced) -> None:
    if synced.sent is None:
        console.print(f"{len(synced.requests)} review requests queued")
        return
    states = Counter(synced.sent.values())
    waiting = len(synced.requests) - sum(states.values())
    parts = [f"{count} {state}" for state, count in sorted(states.items())]
    if waiting:
        parts.append(f"{waiting} not sent here (already claimed or not due)")
    console.print(f"{len(synced.requests)} review requests: " + ", ".join(parts))


def _report(finished: Sequence[SyncRun]) -> None:
    for item in finished:
        counts = item.counts or {}
        window = f"{item.window_first.isoformat()}..{item.window_last.isoformat()}"
        line = f"run {item.id} (group {item.group_id}, window {window}): {item.status}"
        if item.error_code:
            line += f" — {item.error_code}: {item.error_message}"
        console.print(line)
        table = Table(show_header=True, header_style="bold")
        table.add_column("count")
        table.add_column("value", justify="right")
        table.add_row("fetched", str(counts.get("fetched", 0)))
        table.add_row("eligible", str(counts.get("eligible", 0)))
        for reason, count in (counts.get("restricted") or {}).items():
            table.add_row(f"restricted: {reason} ({words(reason)})", str(count))
        console.print(table)
    if any(item.status != "succeeded" for item in finished):
        raise typer.Exit(1)


@app.command("run")
def run_command(
    business: Annotated[
        int, typer.Option("--business", min=1, max=MAX_BIGINT, help="enterprise, SMB or location")
    ],
    on: Annotated[
        str | None, typer.Option("--on", help="the day the run acts as (YYYY-MM-DD)")
    ] = None,
    send: Annotated[bool, SEND_OPTION] = False,
) -> None:
    """Sync a business now: its groups (a location: its group, for that location only)."""
    day = _day(on, "--on")

    async def go() -> Synced:
        async with opened_process() as process:
            ctx = process.ctx
            created: list[SyncRun] = []
            for group_id, mapping_ids in await _targets(ctx, business):
                async with ctx.db.transaction() as session:
                    created += await service.request_run(
                        session,
                        principal=CLI,
                        clock=ctx.clock,
                        group_id=group_id,
                        on=day,
                        mapping_ids=mapping_ids,
                    )
            return await run_and_queue(process, created, send=send)

    synced = run(go())
    _report_requests(synced)
    _report(synced.runs)


@app.command("backfill")
def backfill_command(
    group: Annotated[
        int, typer.Option("--group", min=1, max=MAX_BIGINT, help="integration group id")
    ],
    first: Annotated[str, typer.Option("--from", help="first appointment day (YYYY-MM-DD)")],
    last: Annotated[str, typer.Option("--to", help="last appointment day (YYYY-MM-DD)")],
    send: Annotated[bool, SEND_OPTION] = False,
) -> None:
    """Read a range of days again (runs of at most 62 days, one after another)."""
    first_day, last_day = _day(first, "--from"), _day(last, "--to")
    assert first_day is not None
    assert last_day is not None

    async def go() -> Synced:
        async with opened_process() as process:
            ctx = process.ctx
            async with ctx.db.transaction() as session:
                created = await service.request_backfill(
                    session,
                    principal=CLI,
                    clock=ctx.clock,
                    group_id=group,
                    first=first_day,
                    last=last_day,
                )
            return await run_and_queue(process, created, send=send)

    synced = run(go())
    _report_requests(synced)
    _report(synced.runs)


def _day(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option (a clear error, not a traceback, for anything else)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("expected a date as YYYY-MM-DD", param_hint=option) from None
