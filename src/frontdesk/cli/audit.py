"""``frontdesk audit``: the configuration change log."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from frontdesk.access.principal import Principal
from frontdesk.audit.service import list_events
from frontdesk.cli.runtime import console, opened_context, run


def audit_command(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    action: Annotated[str | None, typer.Option("--action")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="a JSON array instead of a table")
    ] = False,
) -> None:
    """Show configuration changes, newest first (secrets are never recorded)."""

    async def body() -> None:
        async with opened_context() as ctx, ctx.db.reader() as session:
            events = await list_events(
                session, principal=Principal.system(), limit=limit, action=action
            )
            if as_json:
                print(
                    json.dumps(
                        [
                            {
                                "id": e.id,
                                "at": e.at.isoformat(),
                                "actor": e.actor,
                                "action": e.action,
                                "target_type": e.target_type,
                                "target_id": e.target_id,
                                "details": e.details,
                            }
                            for e in events
                        ],
                        indent=2,
                    )
                )
                return
            table = Table("id", "at", "actor", "action", "target", "details")
            for e in events:
                table.add_row(
                    str(e.id),
                    e.at.isoformat(timespec="seconds"),
                    e.actor,
                    e.action,
                    f"{e.target_type}:{e.target_id}",
                    json.dumps(e.details),
                )
            console.print(table)

    run(body())
