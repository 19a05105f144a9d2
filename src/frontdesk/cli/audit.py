"""``frontdesk audit``: the configuration change log."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from frontdesk.access.principal import Principal
from frontdesk.audit.models import AuditEvent
from frontdesk.audit.service import matching_events
from frontdesk.cli.listing import TABLE_ROWS, print_listing
from frontdesk.cli.runtime import Column, opened_context, run

COLUMNS: list[Column] = [
    ("id", lambda row: str(row["id"])),
    ("at", lambda row: row["at"][:19]),
    ("actor", lambda row: row["actor"]),
    ("action", lambda row: row["action"]),
    ("target", lambda row: f"{row['target_type']}:{row['target_id']}"),
    ("details", lambda row: json.dumps(row["details"])),
]


def _as_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "details": event.details,
    }


def audit_command(
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help=f"at most this many (default: all with --json, {TABLE_ROWS} in a table)",
        ),
    ] = None,
    action: Annotated[str | None, typer.Option("--action")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="a JSON array of every match instead of a table")
    ] = False,
) -> None:
    """Show configuration changes, newest first (secrets are never recorded)."""

    async def shown(events: Sequence[AuditEvent]) -> list[dict[str, Any]]:
        return [_as_dict(e) for e in events]

    async def body() -> None:
        async with opened_context() as ctx, ctx.db.reader() as session:
            query = matching_events(principal=Principal.system(), action=action)
            await print_listing(
                session,
                query,
                AuditEvent.id,
                shown=shown,
                columns=COLUMNS,
                limit=limit,
                as_json=as_json,
                noun="audit events",
            )

    run(body())
