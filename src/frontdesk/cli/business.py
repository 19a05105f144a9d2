"""``frontdesk business``: add and list businesses."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from frontdesk.access.principal import Principal
from frontdesk.businesses.service import add_business, list_businesses
from frontdesk.cli.runtime import console, opened_context, run
from frontdesk.db.bounds import MAX_BIGINT

app = typer.Typer(help="Businesses: SMBs, enterprises and their locations.", no_args_is_help=True)


@app.command("add")
def add_command(
    number: Annotated[
        int, typer.Option("--number", min=1, max=MAX_BIGINT, help="15-digit business number")
    ],
    name: Annotated[str, typer.Option("--name")],
    enterprise: Annotated[
        int | None,
        typer.Option(
            "--enterprise", min=1, max=MAX_BIGINT, help="add as a location of this enterprise"
        ),
    ] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help="IANA time zone")] = None,
) -> None:
    """Add an SMB, or with --enterprise a location of that enterprise."""

    async def body() -> None:
        async with opened_context() as ctx, ctx.db.transaction() as session:
            business = await add_business(
                session,
                principal=Principal.system(),
                clock=ctx.clock,
                number=number,
                name=name,
                enterprise_number=enterprise,
                timezone=timezone,
            )
            console.print(
                f"added {business.kind} {business.number} '{business.name}' ({business.timezone})"
            )

    run(body())


@app.command("list")
def list_command() -> None:
    """All businesses."""

    async def body() -> None:
        async with opened_context() as ctx, ctx.db.reader() as session:
            rows = await list_businesses(session, principal=Principal.system())
            table = Table("number", "name", "kind", "timezone")
            for b in rows:
                table.add_row(str(b.number), b.name, b.kind, b.timezone)
            console.print(table)

    run(body())
