"""``frontdesk checkins search|explain``: find decisions and say why they were made."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from frontdesk.access.principal import Principal
from frontdesk.cli.listing import TABLE_ROWS, print_listing
from frontdesk.cli.runtime import Column, console, opened_context, run
from frontdesk.db.bounds import MAX_BIGINT
from frontdesk.engagement import checkin_queries as queries
from frontdesk.engagement.checkin_models import CheckIn

app = typer.Typer(help="The decision log: find and explain check-ins.", no_args_is_help=True)
CLI = Principal.system("cli")


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


SEARCH_COLUMNS: list[Column] = [
    ("id", lambda row: str(row["id"])),
    ("day", lambda row: row["appointment_day"]),
    ("location", lambda row: row["pms_appointment_practice_name"]),
    ("appointment", lambda row: row["appointment_id"]),
    ("patient", lambda row: row["patient_id"]),
    ("status", lambda row: row["pms_appointment_status"]),
    ("type", lambda row: row["pms_appointment_type"]),
    ("decision", lambda row: row["decision"]),
    ("reason", lambda row: row["restriction_reason"] or ""),
]


@app.command("search")
def search_command(
    business: Annotated[int | None, typer.Option("--business", min=1, max=MAX_BIGINT)] = None,
    first: Annotated[str | None, typer.Option("--from", help="first appointment day")] = None,
    last: Annotated[str | None, typer.Option("--to", help="last appointment day")] = None,
    appointment_id: Annotated[str | None, typer.Option("--appointment-id")] = None,
    patient_id: Annotated[str | None, typer.Option("--patient-id")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="e.g. minor, opted_out")] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            max=MAX_BIGINT,
            help=f"at most this many (default: all with --json, {TABLE_ROWS} in a table)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="a JSON array of every match")] = False,
    reveal: Annotated[bool, typer.Option("--reveal", help="show patient fields (audited)")] = False,
) -> None:
    """Check-ins by business, appointment-day range, appointment id, patient id, reason."""
    filters = queries.Filters(
        business_number=business,
        first=_day(first),
        last=_day(last),
        appointment_id=appointment_id,
        patient_id=patient_id,
        reason=reason,
    )

    async def go() -> None:
        async with opened_context() as ctx, ctx.db.transaction() as session:

            async def shown(found: Sequence[CheckIn]) -> list[dict[str, Any]]:
                if reveal:
                    await queries.audit_reveal(
                        session, principal=CLI, clock=ctx.clock, checkin_ids=[c.id for c in found]
                    )
                views = await queries.views(session, found, secrets=ctx.secrets, reveal=reveal)
                return [v.as_dict() for v in views]

            query = await queries.matching(session, principal=CLI, filters=filters)
            await print_listing(
                session,
                query,
                CheckIn.id,
                shown=shown,
                columns=SEARCH_COLUMNS,
                limit=limit,
                as_json=as_json,
                noun="check-ins",
            )

    run(go())


@app.command("explain")
def explain_command(
    checkin_id: Annotated[int, typer.Argument(help="check-in id", min=1, max=MAX_BIGINT)],
    as_json: Annotated[bool, typer.Option("--json", help="a JSON object")] = False,
    reveal: Annotated[bool, typer.Option("--reveal", help="show patient fields (audited)")] = False,
) -> None:
    """One check-in: every rule in order, passed / restricted / not evaluated, and why."""

    async def go() -> dict[str, Any]:
        async with opened_context() as ctx, ctx.db.transaction() as session:
            checkin = await queries.get_checkin(session, principal=CLI, checkin_id=checkin_id)
            if reveal:
                await queries.audit_reveal(
                    session, principal=CLI, clock=ctx.clock, checkin_ids=[checkin.id]
                )
            (view,) = await queries.views(session, [checkin], secrets=ctx.secrets, reveal=reveal)
            steps = await queries.explanation(session, checkin)
            return {**view.as_dict(), "rules": [vars(s) for s in steps]}

    data = run(go())
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    console.print(
        f"check-in {data['id']}: appointment {data['appointment_id']} on "
        f"{data['appointment_day']} at {data['pms_appointment_practice_name']} — "
        f"[bold]{data['decision']}[/bold]"
        + (f" ({data['restriction_words']})" if data["restriction_reason"] else "")
    )
    table = Table(show_header=True, header_style="bold")
    for column in ("rule", "outcome", "why"):
        table.add_column(column)
    for step in data["rules"]:
        table.add_row(step["words"], step["outcome"], step["why"])
    console.print(table)
