"""``frontdesk sync run|backfill``: sync now, in the foreground, with a progress bar."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select

from frontdesk.access.principal import Principal
from frontdesk.businesses.service import LOCATION, get_by_number
from frontdesk.cli.runtime import console, opened_context, run
from frontdesk.context import AppContext
from frontdesk.db.bounds import MAX_BIGINT
from frontdesk.engagement.reasons import words
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.integrations.models import IntegrationGroup, IntegrationMapping
from frontdesk.sync import service
from frontdesk.sync.engine import SyncEngine
from frontdesk.sync.foreground import run_all
from frontdesk.sync.models import SyncRun

app = typer.Typer(help="Sync appointments now (foreground).", no_args_is_help=True)
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
                select(IntegrationGroup.id).where(IntegrationGroup.business_id == business.id)
            )
            targets = [(g, None) for g in groups.scalars()]
    if not targets:
        raise InvalidInput(f"business {number} has no integration group", field="business")
    return sorted(targets, key=lambda t: t[0])


async def _run_in_foreground(ctx: AppContext, created: Sequence[SyncRun]) -> list[SyncRun]:
    engine = SyncEngine(ctx)
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
) -> None:
    """Sync a business now: its groups (a location: its group, for that location only)."""
    day = date.fromisoformat(on) if on else None

    async def go() -> list[SyncRun]:
        async with opened_context() as ctx:
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
            return await _run_in_foreground(ctx, created)

    _report(run(go()))


@app.command("backfill")
def backfill_command(
    group: Annotated[
        int, typer.Option("--group", min=1, max=MAX_BIGINT, help="integration group id")
    ],
    first: Annotated[str, typer.Option("--from", help="first appointment day (YYYY-MM-DD)")],
    last: Annotated[str, typer.Option("--to", help="last appointment day (YYYY-MM-DD)")],
) -> None:
    """Read a range of days again (runs of at most 62 days, one after another)."""

    async def go() -> list[SyncRun]:
        async with opened_context() as ctx:
            async with ctx.db.transaction() as session:
                created = await service.request_backfill(
                    session,
                    principal=CLI,
                    clock=ctx.clock,
                    group_id=group,
                    first=date.fromisoformat(first),
                    last=date.fromisoformat(last),
                )
            return await _run_in_foreground(ctx, created)

    _report(run(go()))
