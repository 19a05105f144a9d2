"""``frontdesk outbox [--business N --state S --json]``, ``show ID``, ``requeue ID``."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from frontdesk.access.principal import Principal
from frontdesk.cli.runtime import console, opened_context, run
from frontdesk.engagement import outbox

app = typer.Typer(help="Review requests: list them with their state, show one, requeue.")
CLI = Principal.system("cli")


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@app.callback(invoke_without_command=True)
def list_command(
    context: typer.Context,
    business: Annotated[int | None, typer.Option("--business")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="pending, sending, sent, failed, parked")
    ] = None,
    first: Annotated[str | None, typer.Option("--from", help="first day created (UTC)")] = None,
    last: Annotated[str | None, typer.Option("--to", help="last day created (UTC)")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="a JSON array")] = False,
    reveal: Annotated[bool, typer.Option("--reveal", help="show recipients (audited)")] = False,
) -> None:
    """Review requests, newest first, with their state (recipients masked)."""
    if context.invoked_subcommand is not None:
        return
    filters = outbox.OutboxFilters(
        business_number=business, state=state, first=_day(first), last=_day(last), limit=limit
    )

    async def go() -> list[dict[str, Any]]:
        async with opened_context() as ctx, ctx.db.transaction() as session:
            found = await outbox.search(session, principal=CLI, filters=filters)
            if reveal:
                await outbox.audit_reveal(
                    session, principal=CLI, clock=ctx.clock, request_ids=[r.id for r in found]
                )
            shown = await outbox.views(session, found, secrets=ctx.secrets, reveal=reveal)
            return [v.as_dict() for v in shown]

    rows = run(go())
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(show_header=True, header_style="bold")
    for column in ("id", "location", "appointment", "day", "channel", "recipient", "state"):
        table.add_column(column)
    for column in ("attempts", "next attempt", "error"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["business_number"]),
            row["appointment_id"],
            row["appointment_day"] or "",
            row["channel"],
            row["recipient"] or "",
            row["state"],
            str(row["attempts"]),
            row["next_attempt_at"] if row["state"] == "pending" else "",
            row["last_error_code"] or "",
        )
    console.print(table)


@app.command("show")
def show_command(
    request_id: Annotated[int, typer.Argument(help="the review request id")],
    reveal: Annotated[bool, typer.Option("--reveal", help="show the recipient (audited)")] = False,
) -> None:
    """One request as JSON; in the demo, with the captured message."""

    async def go() -> dict[str, Any]:
        async with opened_context() as ctx, ctx.db.transaction() as session:
            found = await outbox.get_request(session, principal=CLI, request_id=request_id)
            if reveal:
                await outbox.audit_reveal(
                    session, principal=CLI, clock=ctx.clock, request_ids=[found.id]
                )
            (view,) = await outbox.views(session, [found], secrets=ctx.secrets, reveal=reveal)
            return {**view.as_dict(), "captured": await outbox.captured_message(session, found)}

    typer.echo(json.dumps(run(go()), indent=2))


@app.command("requeue")
def requeue_command(
    request_id: Annotated[int, typer.Argument(help="a failed or parked review request")],
) -> None:
    """Put a failed or parked request back to pending (audited); a worker sends it."""

    async def go() -> str:
        async with opened_context() as ctx, ctx.db.transaction() as session:
            found = await outbox.requeue(
                session, principal=CLI, clock=ctx.clock, request_id=request_id
            )
            return found.state

    state = run(go())
    console.print(f"review request {request_id}: {state}")
